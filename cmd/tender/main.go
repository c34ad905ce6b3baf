// Command tender is Tender's one binary: the payment API server, its
// simulators and the command-line tools integrators need.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tender:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stdout)
		return nil
	}
	name, rest := args[0], args[1:]
	for _, p := range providers {
		if p.name == name && p.command != nil {
			return p.command(ctx, rest, stdout, stderr)
		}
	}
	switch name {
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	return fmt.Errorf("unknown command %q; run `tender help`", name)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tender <command> [arguments]")
	for _, p := range providers {
		if p.usage != "" {
			fmt.Fprintln(w, p.usage)
		}
	}
}
