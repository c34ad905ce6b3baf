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
	case "serve":
		return serveCmd(ctx, rest, getenv, stdout, stderr)
	case "sim":
		return simCmd(ctx, rest, getenv, stdout, stderr)
	case "apikey":
		return apikeyCmd(ctx, rest, getenv, stdout, stderr)
	case "user":
		return userCmd(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, getenv, stdout, stderr)
	case "version":
		return versionCmd(stdout)
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	return fmt.Errorf("unknown command %q; run `tender help`", name)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: tender <command> [arguments]

  serve [--addr 127.0.0.1:8080] [--db sqlite:PATH | postgres://...] [--sandbox=false]
                         run the payment API (sandbox mode with simulators by default)
  sim [--addr 127.0.0.1:8081]
                         run the provider simulators alone
  apikey create [--db ...] [--name NAME] [--scope platform|merchant|terminal] [--merchant ID] [--terminals ID,...]
                         print a new API key (a platform key unless --scope says otherwise)
  apikey list [--db ...] [--merchant ID]
                         list API keys: prefix, name, scope, created, last used, revoked
  apikey revoke [--db ...] ID
                         revoke an API key at once, on every instance
  user create [--db ...] --email EMAIL [--merchant ID]
                         add a dashboard user (a platform user without --merchant); the
                         password is prompted for, or read from stdin
  migrate [--db ...]     apply database migrations
  version                print the version
`)
	for _, p := range providers {
		if p.usage != "" {
			fmt.Fprintln(w, p.usage)
		}
	}
}
