// Package bench measures Tender against the floor of its database: an HTTP
// server that parses the same JSON and makes one durable insert on the same
// driver (see ServeFloor). Both run as processes of their own on loopback,
// back to back on the same machine, so the ratios hold on a noisy machine
// where absolute numbers do not.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure a run.
type Options struct {
	Short    bool
	Postgres string // base URL; empty skips PostgreSQL
	Tender   string // the tender binary (built from ./cmd/tender when empty)
	Self     string // this binary, run as "SELF floor --db DB --addr ADDR"
	Dir      string // work directory (a temporary one when empty)
	Out      io.Writer
	// Only runs part of the benchmark: "store" (create, lifecycle,
	// long-poll, lists, start), "create" (the create loads alone, to
	// iterate on them), "lifecycle" (create at 32 clients and the
	// Computop lifecycle, without the floor) or "fleet" (terminal
	// fleets); "" runs all.
	Only string
	// ProfileDir, when set, receives Tender's CPU profiles: during the
	// largest fleets, and during create and the lifecycle at 32 clients
	// (with the benchmark's own during the lifecycle).
	ProfileDir string
}

type row struct {
	target, measured string
	met              bool
	known            bool
}

// Run runs the benchmark and prints its results and the targets' table.
func Run(ctx context.Context, o Options) error {
	out := o.Out
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "tender-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if o.Tender == "" {
		o.Tender = filepath.Join(dir, "tender")
		b := exec.CommandContext(ctx, "go", "build", "-o", o.Tender, "./cmd/tender")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("build tender: %w", err)
		}
	}
	d := 10 * time.Second
	clients := []int{1, 8, 32, 128}
	if o.Short {
		d, clients = 2*time.Second, []int{1, 32}
	}
	var rows []row
	stores := []string{"sqlite"}
	if o.Postgres != "" {
		stores = append(stores, "postgres")
	}
	if o.Only == "fleet" {
		stores = nil
	}
	lifecycleOnly := o.Only == "lifecycle"
	if lifecycleOnly {
		// Long enough for a profile of a few seconds.
		clients, d = []int{32}, 6*time.Second
	}
	for _, store := range stores {
		tenderDB, floorDB := "sqlite:"+filepath.Join(dir, "tender.db"), "sqlite:"+filepath.Join(dir, "floor.db")
		if store == "postgres" {
			run := fmt.Sprintf("bench_%d", time.Now().UnixNano()%1e9)
			var err error
			if tenderDB, err = schema(ctx, o.Postgres, run+"_tender"); err != nil {
				return err
			}
			defer dropSchema(o.Postgres, run+"_tender")
			if floorDB, err = schema(ctx, o.Postgres, run+"_floor"); err != nil {
				return err
			}
			defer dropSchema(o.Postgres, run+"_floor")
		}
		fmt.Fprintf(out, "== %s\n", store)
		addr, simAddr, metricsAddr := freeAddr(), freeAddr(), freeAddr()
		serve := []string{"serve", "--addr", addr, "--sim-addr", simAddr, "--public-url", "http://" + addr,
			"--data-dir", filepath.Join(dir, "data-"+store), "--db", tenderDB, "--log-level", "error", "--max-polls-per-key", "20000",
			"--metrics-addr", metricsAddr}
		// profiled runs load, saving Tender's CPU profile over its middle
		// half as NAME.cpu.pprof when -profile is set.
		profiled := func(name string, load func()) {
			if o.ProfileDir == "" {
				load()
				return
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				time.Sleep(d / 4)
				saveProfile(ctx, "http://"+metricsAddr, fmt.Sprintf("profile?seconds=%d", max(1, int(d.Seconds()/2))),
					filepath.Join(o.ProfileDir, name+".cpu.pprof"))
			}()
			load()
			<-done
		}
		// The first start makes the database, the simulators' keys and the
		// sandbox user; a cold start (every start after it) finds them in
		// the data directory.
		t, err := startProc(ctx, o.Tender, serve, "http://"+addr, "Sandbox API key: ")
		if err != nil {
			return err
		}
		first := t.Ready
		t.Stop()
		t, err = startProc(ctx, o.Tender, serve, "http://"+addr, "Sandbox API key: ")
		if err != nil {
			return err
		}
		defer t.Stop()
		time.Sleep(2 * time.Second)
		rss := t.RSS()
		fmt.Fprintf(out, "first start %v (keys, database and sandbox made), cold start %v, idle RSS %.1f MB\n",
			first.Round(time.Millisecond), t.Ready.Round(time.Millisecond), float64(rss)/1e6)
		rows = append(rows,
			row{store + ": cold start ≤ 300 ms (first start: no target)", fmt.Sprintf("%v (first start %v)", t.Ready.Round(time.Millisecond), first.Round(time.Millisecond)),
				t.Ready <= 300*time.Millisecond, true},
			row{store + ": idle RSS ≤ 40 MB", fmt.Sprintf("%.1f MB", float64(rss)/1e6), rss <= 40e6, true})

		var f *proc
		if !lifecycleOnly {
			faddr := freeAddr()
			if f, err = startProc(ctx, o.Self, []string{"floor", "--db", floorDB, "--addr", faddr}, "http://"+faddr, ""); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "%8s %12s %10s %10s %12s %10s %10s %7s\n", "clients", "floor/s", "p50", "p99", "tender/s", "p50", "p99", "ratio")
		var create32 float64
		var createCPU cpuPerOp
		for _, n := range clients {
			fc, tc := newClient(n), newClient(n)
			var fr, tr loadResult
			if f != nil {
				fr = closedLoop(ctx, n, d, func(ctx context.Context) error { _, err := post(ctx, fc, f.URL, "", createBody); return err })
			}
			load := func() {
				tr = closedLoop(ctx, n, d, func(ctx context.Context) error { _, err := post(ctx, tc, t.URL, t.Key, createBody); return err })
			}
			if n == 32 {
				createCPU = measureCPU(t, func() float64 { profiled(store+"-create-32", load); return tr.Rate })
			} else {
				load()
			}
			ratio := tr.Rate / fr.Rate
			fmt.Fprintf(out, "%8d %12.0f %10v %10v %12.0f %10v %10v %7.2f\n", n, fr.Rate, fr.P50.Round(10*time.Microsecond), fr.P99.Round(10*time.Microsecond),
				tr.Rate, tr.P50.Round(10*time.Microsecond), tr.P99.Round(10*time.Microsecond), ratio)
			if n == 32 {
				create32 = tr.Rate
			}
			if n == 32 && f != nil {
				rows = append(rows, row{store + ": create ≥ 0.6 of floor at 32 clients", fmt.Sprintf("%.2f (%.0f/s vs %.0f/s)", ratio, tr.Rate, fr.Rate), ratio >= 0.6, true})
			}
		}
		if f != nil {
			f.Stop()
		}
		if o.Only == "create" {
			t.Stop()
			continue
		}

		lc, browser := newClient(32), loopbackBrowser()
		var lr loadResult
		lifecycleCPU := measureCPU(t, func() float64 {
			if o.ProfileDir != "" {
				// The benchmark's own side too: its clients and the
				// shopper's browser share the machine with Tender.
				if f, err := os.Create(filepath.Join(o.ProfileDir, store+"-lifecycle-32.bench.cpu.pprof")); err == nil {
					defer f.Close()
					if pprof.StartCPUProfile(f) == nil {
						defer pprof.StopCPUProfile() // before the close
					}
				}
			}
			profiled(store+"-lifecycle-32", func() {
				lr = closedLoop(ctx, 32, d, func(ctx context.Context) error { return lifecycle(ctx, lc, browser, t) })
			})
			return lr.Rate
		})
		ratio := lr.Rate / create32
		fmt.Fprintf(out, "computop lifecycle at 32 clients: %.0f/s (p50 %v, p99 %v, %d errors), %.2f of create\n", lr.Rate, lr.P50.Round(time.Millisecond), lr.P99.Round(time.Millisecond), lr.Errors, ratio)
		fmt.Fprintf(out, "    CPU per create: Tender %v, benchmark %v; per lifecycle: Tender %v, benchmark %v\n",
			createCPU.server.Round(time.Microsecond), createCPU.client.Round(time.Microsecond),
			lifecycleCPU.server.Round(time.Microsecond), lifecycleCPU.client.Round(time.Microsecond))
		rows = append(rows, row{store + ": Computop lifecycle ≥ 0.5 of create", fmt.Sprintf("%.2f (%.0f/s)", ratio, lr.Rate), ratio >= 0.5, true})

		if !lifecycleOnly && (store == "sqlite" || !o.Short) {
			waiters := []int{1000, 10000}
			if o.Short {
				waiters = []int{10000}
			}
			for _, n := range waiters {
				idle := 5 * time.Second
				// A Tender of its own: the one above still reconciles the
				// payments the loads left open (their checks fall due
				// minutes later), which is not "nothing changes".
				laddr, lsim := freeAddr(), freeAddr()
				lt, err := startProc(ctx, o.Tender, []string{"serve", "--addr", laddr, "--sim-addr", lsim, "--public-url", "http://" + laddr,
					"--data-dir", filepath.Join(dir, fmt.Sprintf("data-%s-poll%d", store, n)), "--db", pollDB(store, tenderDB, dir, n),
					"--log-level", "error", "--max-polls-per-key", "20000"}, "http://"+laddr, "Sandbox API key: ")
				if err != nil {
					return err
				}
				lp, err := longPoll(ctx, lt, n, idle)
				lt.Stop()
				if err != nil {
					return fmt.Errorf("long-poll: %w", err)
				}
				fmt.Fprintf(out, "long-poll %d waiters: RSS %.0f MB, idle %.3f cores, change→return p50 %v p99 %v (%d returned)\n",
					n, float64(lp.RSS)/1e6, lp.IdleCPU, lp.P50.Round(time.Millisecond), lp.P99.Round(time.Millisecond), lp.Returned)
				if n == 10000 {
					rows = append(rows,
						row{store + ": 10,000 waiters ≤ 256 MB", fmt.Sprintf("%.0f MB", float64(lp.RSS)/1e6), lp.RSS <= 256e6, true},
						row{store + ": 10,000 waiters ≤ 0.05 core idle", fmt.Sprintf("%.3f", lp.IdleCPU), lp.IdleCPU <= 0.05, true},
						row{store + ": change→return p99 ≤ 100 ms", lp.P99.Round(time.Millisecond).String(), lp.Returned > 0 && lp.P99 <= 100*time.Millisecond, true})
				}
			}
			const n = 200000
			t0 := time.Now()
			if err := seedPayments(ctx, tenderDB, n); err != nil {
				return err
			}
			fmt.Fprintf(out, "seeded %d payments in %v\n", n, time.Since(t0).Round(time.Second))
			ll, err := listLatency(ctx, t, tenderDB, n)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "list at %d payments (p50): by status %v, deep page %v, by status deep %v\n", n, ll["status"], ll["deep"], ll["status+deep"])
			worst := max(ll["status"], ll["deep"], ll["status+deep"])
			rows = append(rows, row{store + ": list by status and deep pages ≤ 5 ms at 200,000", worst.Round(10 * time.Microsecond).String(), worst <= 5*time.Millisecond, true})
		}
		t.Stop()
	}
	if o.Only != "store" && o.Only != "create" && !lifecycleOnly {
		fleetRows, err := runFleets(ctx, o, dir)
		if err != nil {
			return err
		}
		rows = append(rows, fleetRows...)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tmeasured\tmet")
	for _, r := range rows {
		met := "no"
		if r.met {
			met = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.target, r.measured, met)
	}
	return tw.Flush()
}

// schema makes a schema of the benchmark's own and returns base with
// search_path set to it.
func schema(ctx context.Context, base, name string) (string, error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("postgres: create schema: %w", err)
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + name, nil
}

func dropSchema(base, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, base); err == nil {
		conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE")
		conn.Close(ctx)
	}
}

// pollDB is the long-poll Tender's database: a new SQLite file, or the
// run's PostgreSQL schema (its long-polls wake through the change feed).
func pollDB(store, tenderDB, dir string, n int) string {
	if store == "postgres" {
		return tenderDB
	}
	return "sqlite:" + filepath.Join(dir, fmt.Sprintf("poll%d.db", n))
}

// cpuPerOp is the CPU time one operation of a load cost Tender and this
// benchmark process (its clients, and the shopper's browser).
type cpuPerOp struct{ server, client time.Duration }

// measureCPU runs load, which returns its rate, and divides the CPU both
// processes spent by the operations it made (rate × elapsed: the warm-up
// counts on both sides).
func measureCPU(t *proc, load func() float64) cpuPerOp {
	s0, c0, t0 := t.CPU(), selfCPU(), time.Now()
	rate := load()
	ops := rate * time.Since(t0).Seconds()
	if ops <= 0 {
		return cpuPerOp{}
	}
	return cpuPerOp{time.Duration(float64(t.CPU()-s0) / ops), time.Duration(float64(selfCPU()-c0) / ops)}
}
