// Command faults is Tender's fault harness (package faults): it builds
// `tender`, runs it as child processes on SQLite and on PostgreSQL behind
// TCP fault proxies in front of the provider simulators, drives payments
// while killing the server with SIGKILL, and prints a table of what went
// wrong. It exits 1 unless every figure is 0 (concurrency: 1).
//
//	go run ./cmd/faults -short   # a few hundred payments, a few kills, < 5 minutes
//	go run ./cmd/faults          # the full run: 1,000 payments and 24 kills per database
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tenderpay/tender/faults"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	fs.SetOutput(stderr)
	short := fs.Bool("short", false, "the short run of CI: a few hundred payments, a few kills, under 5 minutes")
	payments := fs.Int("payments", 0, "payments per database (default 1000; -short 150)")
	kills := fs.Int("kills", 0, "SIGKILLs per database (default 24; -short 4)")
	// As in scripts/test.sh: TENDER_TEST_POSTGRES set but empty runs without PostgreSQL.
	pgDefault := "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	if v, ok := os.LookupEnv("TENDER_TEST_POSTGRES"); ok {
		pgDefault = v
	}
	pg := fs.String("postgres", pgDefault, "PostgreSQL for the two-instance run (a fresh schema is made and dropped); \"\" skips it")
	noSQLite := fs.Bool("no-sqlite", false, "skip the SQLite run")
	dir := fs.String("dir", "", "work directory for databases and logs (default: a new temporary directory, kept on failure)")
	bin := fs.String("tender", "", "the tender binary (default: go build ./cmd/tender)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := faults.Options{
		Payments: 1000, Kills: 24, KillEvery: 12 * time.Second,
		LoadFor: 15 * time.Minute, SettleFor: 5 * time.Minute,
		SQLite: !*noSQLite, Postgres: *pg,
		// About one request in eight meets a fault.
		Faults: faults.Config{DropRequest: 0.02, DropResponse: 0.03, Delay: 0.03, Reset: 0.02, Garbage: 0.02,
			MinDelay: 5 * time.Second, MaxDelay: 30 * time.Second},
		SepayTerminals: 6, Online: 4, NoKey: 0.05, Seed: *seed, Log: stderr,
	}
	if *short {
		o.Payments, o.Kills, o.KillEvery, o.LoadFor, o.SettleFor = 150, 4, 15*time.Second, 100*time.Second, 80*time.Second
	}
	if *payments > 0 {
		o.Payments = *payments
	}
	if *kills > 0 {
		o.Kills = *kills
	}
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "tender-faults-"); err != nil {
			return err
		}
	}
	o.Dir = work
	o.Bin = *bin
	if o.Bin == "" {
		o.Bin = filepath.Join(work, "tender")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.Bin, "./cmd/tender")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/tender (run from the repository root): %w", err)
		}
	}
	fmt.Fprintf(stderr, "fault harness: seed %d, work directory %s\n", *seed, work)
	start := time.Now()
	figs, err := faults.Run(ctx, o)
	fmt.Fprintf(stdout, "\nfault harness: %d payments and %d kills per database, in %s (seed %d)\n\n",
		o.Payments, o.Kills, time.Since(start).Round(time.Second), *seed)
	var shown []*faults.Figures
	for _, f := range figs {
		if f != nil {
			shown = append(shown, f)
		}
	}
	faults.PrintTable(stdout, shown)
	for _, f := range shown {
		for _, n := range f.Notes {
			fmt.Fprintf(stdout, "  %s note: %s\n", f.Database, n)
		}
	}
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, work)
	}
	for _, f := range shown {
		if !f.OK() {
			return fmt.Errorf("money is not right under faults (logs in %s)", work)
		}
	}
	if *dir == "" {
		os.RemoveAll(work)
	}
	return nil
}
