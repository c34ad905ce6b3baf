// Command bench runs Tender and the floor of its database back to back
// and prints the ratios and the performance targets (see README,
// "Benchmark").
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/tenderpay/tender/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		fs := flag.NewFlagSet("floor", flag.ExitOnError)
		db := fs.String("db", "", "sqlite:PATH or postgres://...")
		addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
		fs.Parse(os.Args[2:])
		if err := bench.ServeFloor(ctx, *db, *addr); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		return
	}
	pg := os.Getenv("TENDER_TEST_POSTGRES")
	if _, set := os.LookupEnv("TENDER_TEST_POSTGRES"); !set {
		pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	short := flag.Bool("short", false, "a quick run (under 2 minutes): fewer client counts, shorter loads, long-poll and lists on SQLite only")
	postgres := flag.String("postgres", pg, "PostgreSQL base URL (each run takes schemas of its own); empty skips PostgreSQL")
	tenderBin := flag.String("tender", "", "tender binary (default: built from ./cmd/tender)")
	dir := flag.String("dir", "", "work directory (default: a temporary one, removed afterwards)")
	only := flag.String("only", "", `run part of it: "store" (create, lifecycle, long-poll, lists, start), "create" (the create loads alone), "lifecycle" (create and the Computop lifecycle at 32 clients, no floor) or "fleet" (terminal fleets)`)
	profile := flag.String("profile", "", "save Tender's CPU, heap and goroutine profiles into this directory")
	flag.Parse()
	if *only != "" && *only != "store" && *only != "create" && *only != "lifecycle" && *only != "fleet" {
		fmt.Fprintln(os.Stderr, `bench: -only takes "store", "create", "lifecycle" or "fleet"`)
		os.Exit(2)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err := bench.Run(ctx, bench.Options{Short: *short, Postgres: *postgres, Tender: *tenderBin, Self: self, Dir: *dir, Out: os.Stdout, Only: *only, ProfileDir: *profile}); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
