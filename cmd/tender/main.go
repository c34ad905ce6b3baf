// Command tender is Tender's one binary: the payment API server, its
// simulators and the command-line tools integrators need.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr))
}

// exitCode prints err (unless it is an exitError that has been reported
// already) and returns the process's exit code: 0, 2 for a usage error,
// an exitError's own, else 1.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var e *exitError
	if errors.As(err, &e) {
		if e.err != nil {
			fmt.Fprintln(stderr, "tender:", e.err)
		}
		return e.code
	}
	fmt.Fprintln(stderr, "tender:", err)
	return 1
}

// run is the whole program, callable from tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stdout)
		return nil
	}
	name, rest := args[0], args[1:]
	// Commands with subcommands show the usage for a --help in place of
	// the subcommand; the others' flag sets answer it themselves.
	if len(rest) == 1 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help") &&
		name != "serve" && name != "sim" && name != "migrate" && name != "pay" {
		usage(stdout)
		return nil
	}
	for _, p := range providers {
		if p.name == name && p.command != nil {
			return p.command(ctx, rest, stdout, stderr)
		}
	}
	switch name {
	case "pay":
		return payCmd(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "payments":
		return paymentsCmd(ctx, rest, getenv, stdout, stderr)
	case "terminals":
		return terminalsCmd(ctx, rest, getenv, stdout, stderr)
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
	return usageErr("unknown command %q; run `tender help`", name)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: tender <command> [arguments]

  serve [--addr 127.0.0.1:8080] [--db sqlite:PATH | postgres://...] [--sandbox=false]
                         run the payment API (sandbox mode with simulators by default)
  sim [--addr 127.0.0.1:8081] [--accounts-out FILE] [--terminals N]
                         run the provider simulators alone
  apikey create [--db ...] [--name NAME] [--scope platform|merchant|terminal] [--merchant ID] [--terminals ID,...]
                         print a new API key (a platform key unless --scope says otherwise)
  apikey list [--db ...] [--merchant ID]
                         list API keys: prefix, name, scope, created, last used, revoked
  apikey revoke [--db ...] ID
                         revoke an API key at once, on every instance
  pay --terminal ID --amount 10.50 [--currency EUR] [--reference R] [--invoice JSON|@FILE]
                         take a terminal payment: live progress, Ctrl-C offers to cancel,
                         then the outcome and the receipt (exit 0 approved, 1 declined or
                         canceled, 3 unknown)
  payments list|get|capture|refund|cancel
                         the payments API from a shell (tender payments for usage)
  terminals list         the registered terminals
                         (pay, payments and terminals take --url TENDER_URL and --key TENDER_API_KEY)
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
