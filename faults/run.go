// Package faults is Tender's fault harness: it proves from outside the
// process that money stays right when things break. It holds the four
// provider simulators itself (so their ledgers survive), runs `tender
// serve` as child processes (one on SQLite, two on one PostgreSQL), puts a
// TCP fault proxy between Tender and each simulator, drives payments with
// captures, refunds and cancels while killing instances with SIGKILL, and
// then compares Tender's records, the providers' ledgers, the answers the
// clients got and the webhooks that came. cmd/faults is its command.
package faults

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configure a run.
type Options struct {
	Bin      string // the tender binary
	Dir      string // work directory: databases, logs
	Payments int    // payments per database
	Kills    int    // SIGKILLs per database (spread over the load)
	// KillEvery is the mean pause between kills.
	KillEvery time.Duration
	// LoadFor bounds the load; SettleFor the wait for reconciliation.
	LoadFor, SettleFor time.Duration
	// SQLite runs one instance on SQLite; Postgres (a URL) two instances
	// on one PostgreSQL database, in a schema of their own.
	SQLite   bool
	Postgres string
	Faults   Config
	// SepayTerminals is how many Sepay terminals take load (one more is
	// kept for the concurrency check); Online the clients per online
	// provider.
	SepayTerminals, Online int
	NoKey                  float64 // share of requests without an Idempotency-Key
	Seed                   uint64
	Log                    io.Writer // progress
}

// Run runs the harness against each database (at the same time) and
// returns their figures.
func Run(ctx context.Context, o Options) ([]*Figures, error) {
	type job struct {
		name, db string
		n        int
	}
	var jobs []job
	if o.SQLite {
		jobs = append(jobs, job{"sqlite (1 instance)", "sqlite", 1})
	}
	if o.Postgres != "" {
		jobs = append(jobs, job{"postgres (2 instances)", "postgres", 2})
	}
	figs := make([]*Figures, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			figs[i], errs[i] = runOne(ctx, o, j.name, j.db, j.n, o.Seed+uint64(i)*1000)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return figs, err
		}
	}
	return figs, nil
}

type progress struct {
	mu   *sync.Mutex
	w    io.Writer
	name string
}

func (p progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s [%s] %s\n", time.Now().Format("15:04:05"), p.name, fmt.Sprintf(format, args...))
}

var logMu sync.Mutex

func runOne(ctx context.Context, o Options, name, kind string, ninst int, seed uint64) (*Figures, error) {
	pr := progress{&logMu, o.Log, name}
	fig := &Figures{Database: name}
	dir := filepath.Join(o.Dir, kind)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	run := fmt.Sprintf("f%d%s", time.Now().Unix()%1000000, kind[:2])

	front, err := NewFront()
	if err != nil {
		return nil, err
	}
	defer front.Close()
	simLog, err := os.Create(filepath.Join(dir, "sims.log"))
	if err != nil {
		return nil, err
	}
	defer simLog.Close()
	simList, err := StartSims(filepath.Join(dir, "sims"), front.URL(), o.SepayTerminals+1,
		slog.New(slog.NewTextHandler(simLog, &slog.HandlerOptions{Level: slog.LevelWarn})), seed)
	if err != nil {
		return nil, err
	}
	sims := map[string]*Sim{}
	for _, s := range simList {
		sims[s.Name] = s
		defer s.Close()
	}
	sepaySim := sims["sepay"]
	concTerm := sepaySim.Terminals[len(sepaySim.Terminals)-1].ID

	// Webhooks come over https (outside sandbox mode Tender sends no
	// other); the children trust the receiver's certificate through
	// SSL_CERT_FILE.
	h := &hooks{types: map[string]map[string]bool{}}
	hookSrv := httptest.NewUnstartedServer(h)
	hookSrv.Config.ErrorLog = nil
	hookSrv.StartTLS()
	defer hookSrv.Close()
	certFile := filepath.Join(dir, "webhook-ca.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hookSrv.Certificate().Raw}), 0o600); err != nil {
		return nil, err
	}

	var db string
	switch kind {
	case "sqlite":
		db = "sqlite:" + filepath.Join(dir, "tender.db")
		os.Remove(filepath.Join(dir, "tender.db"))
	case "postgres":
		schema := "faults_" + run
		if db, err = createSchema(ctx, o.Postgres, schema); err != nil {
			return nil, err
		}
		defer dropSchema(o.Postgres, schema)
	}
	apiKey, err := createAPIKey(ctx, o.Bin, db)
	if err != nil {
		return nil, err
	}
	mk := make([]byte, 32)
	crand.Read(mk)
	instLog, err := os.Create(filepath.Join(dir, "tender.log"))
	if err != nil {
		return nil, err
	}
	defer instLog.Close()
	var instances []*Instance
	for i := range ninst {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		in := &Instance{Name: fmt.Sprintf("%s-%d", kind, i+1), Addr: addr, Bin: o.Bin, Log: instLog,
			Args: []string{"--sandbox=false", "--db", db, "--public-url", front.URL(),
				"--data-dir", filepath.Join(dir, fmt.Sprintf("data%d", i+1)), "--webhook-private-networks", "--provider-private-networks", "--log-level", "warn",
				"--check-interval", "1s", "--requires-action-interval", "10s", "--unknown-backoff", "1s,2s,4s,8s"},
			Env: []string{"TENDER_MASTER_KEY=" + hex.EncodeToString(mk), "SSL_CERT_FILE=" + certFile}}
		if err := in.Start(ctx); err != nil {
			return nil, err
		}
		defer in.Stop()
		instances = append(instances, in)
	}
	front.SetInstances(instances)
	newClient := func(s uint64) *client {
		return &client{http: &http.Client{Timeout: 60 * time.Second}, apiKey: apiKey, instances: instances,
			patience: 90 * time.Second, rnd: rand.New(rand.NewPCG(seed, s))}
	}
	admin := newClient(0)
	if err := register(ctx, admin, simList, hookSrv.URL+"/hooks", h); err != nil {
		return nil, err
	}
	pr.printf("%d instance(s) up on %s; simulators behind fault proxies; webhooks at %s", ninst, redact(db), hookSrv.URL)

	fig.Concurrency = concurrency(ctx, newClient, sepaySim, concTerm, run, fig)
	pr.printf("concurrency check: 50 identical requests made %d provider call(s)", fig.Concurrency)

	// The load, with faults and kills.
	for _, s := range simList {
		s.Proxy.SetConfig(o.Faults)
	}
	d := &driver{run: run, sims: sims, front: front.URL(), newClient: newClient, total: int64(o.Payments),
		share:    map[string]float64{"sepay": 0.3, "epay": 0.14, "trustpayments": 0.28, "computop": 0.28},
		deadline: time.Now().Add(o.LoadFor), noKey: o.NoKey, records: map[string]*record{},
		unanswered: map[string]int{}, odd: map[string]int{}, acked: map[string]int{}}
	loadCtx, stopKills := context.WithCancel(ctx)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		killer(loadCtx, instances, o.Kills, o.KillEvery, seed, pr)
	}()
	tick := time.NewTicker(15 * time.Second)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-tick.C:
				d.mu.Lock()
				n := len(d.records)
				d.mu.Unlock()
				pr.printf("load: %d payments started, %d answered 2xx", min(d.started.Load(), d.total), n)
			case <-done:
				return
			}
		}
	}()
	// Requests still out at the end of the load are abandoned: the
	// figures then say what became of them.
	driveCtx, stopDrive := context.WithTimeout(ctx, o.LoadFor+30*time.Second)
	d.runClients(driveCtx, o.Online, map[string]bool{concTerm: true})
	stopDrive()
	close(done)
	tick.Stop()
	stopKills()
	<-killed
	for _, s := range simList {
		s.Proxy.SetConfig(Config{})
	}
	for _, in := range instances {
		if err := in.Start(ctx); err != nil {
			return nil, err
		}
		fig.Kills += in.Kills
	}
	pr.printf("load done: %d payments answered 2xx, %d kills; faults off, waiting (at most %s) for reconciliation", len(d.records), fig.Kills, o.SettleFor)

	ps, err := waitReconciled(ctx, admin, o.SettleFor)
	if err != nil {
		return nil, err
	}
	waitWebhooks(ps, h, 60*time.Second)
	ledgers := map[string]map[string]Ledger{}
	for name, s := range sims {
		ledgers[name] = s.Ledger()
	}
	check(ctx, admin, fig, ps, ledgers, d.records, h)

	for _, s := range simList {
		var parts []string
		counts := s.Proxy.Counts()
		for f := range numFaults {
			if n := counts[f]; f != None && n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", f, n))
			}
		}
		fig.Notes = append(fig.Notes, fmt.Sprintf("proxy %s: %d requests, faults: %s", s.Name, sum(s.Proxy.Counts()), strings.Join(parts, ", ")))
	}
	var started []string
	d.startedBy.Range(func(k, v any) bool {
		started = append(started, fmt.Sprintf("%s %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(started)
	fig.Notes = append(fig.Notes, fmt.Sprintf("payments the clients started: %d (%s)", min(d.started.Load(), d.total), strings.Join(started, ", ")))
	var acked []string
	for k, n := range d.acked {
		acked = append(acked, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(acked)
	fig.Notes = append(fig.Notes, "answered 2xx: "+strings.Join(acked, ", "))
	for _, k := range sortedKeys(d.unanswered) {
		fig.Notes = append(fig.Notes, fmt.Sprintf("requests never answered (%s): %d", k, d.unanswered[k]))
	}
	for _, k := range sortedKeys(d.odd) {
		fig.Notes = append(fig.Notes, fmt.Sprintf("answers: %s ×%d", k, d.odd[k]))
	}
	if h.bad > 0 {
		fig.Notes = append(fig.Notes, fmt.Sprintf("webhooks with a bad signature: %d", h.bad))
	}
	return fig, nil
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sum(m map[Fault]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func redact(db string) string {
	if u, err := url.Parse(db); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return db
}

// killer SIGKILLs a random instance about every `every` (±50%), n times,
// and restarts it after a short pause.
func killer(ctx context.Context, ins []*Instance, n int, every time.Duration, seed uint64, pr progress) {
	r := rand.New(rand.NewPCG(seed, 99))
	for i := 0; i < n; i++ {
		pause := every/2 + time.Duration(r.Int64N(int64(every)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		victims := []*Instance{ins[r.IntN(len(ins))]}
		if len(ins) > 1 && r.IntN(5) == 0 {
			victims = ins // now and then all at once
		}
		for _, in := range victims {
			in.Kill()
			pr.printf("SIGKILL %s (kill %d)", in.Name, in.Kills)
		}
		time.Sleep(time.Duration(200+r.IntN(1500)) * time.Millisecond)
		for _, in := range victims {
			if err := in.Start(context.WithoutCancel(ctx)); err != nil {
				pr.printf("restart %s: %v", in.Name, err)
			}
		}
	}
}

// register creates an account per provider (pointing at its proxy), the
// terminals and the webhook endpoint.
func register(ctx context.Context, c *client, sims []*Sim, hookURL string, h *hooks) error {
	for _, s := range sims {
		a := s.Sandbox.Account
		body := map[string]any{"id": a.ID, "connector": a.Connector, "environment": a.Environment, "default": true,
			"settings": a.Settings, "credentials": a.Credentials}
		if r := c.do(ctx, http.MethodPost, "/v1/accounts", body, "setup-account-"+a.ID); !r.ok() {
			return fmt.Errorf("create account %s: %s", a.ID, r)
		}
		for _, t := range s.Terminals {
			body := map[string]any{"id": t.ID, "connector": t.Connector, "account": t.Account, "provider_id": t.ProviderID,
				"label": t.Label, "settings": t.Settings, "credentials": t.Credentials}
			if r := c.do(ctx, http.MethodPost, "/v1/terminals", body, "setup-terminal-"+t.ID); !r.ok() {
				return fmt.Errorf("create terminal %s: %s", t.ID, r)
			}
		}
	}
	r := c.do(ctx, http.MethodPost, "/v1/webhook_endpoints", map[string]any{"url": hookURL}, "setup-webhook")
	if !r.ok() {
		return fmt.Errorf("create webhook endpoint: %s", r)
	}
	var ep struct {
		Secret string `json:"secret"`
	}
	json.Unmarshal(r.body, &ep)
	h.mu.Lock()
	h.secret = ep.Secret
	h.mu.Unlock()
	return nil
}

// concurrency sends 50 identical payment requests with one Idempotency-Key
// at once, spread over the instances, and counts the StartTransaction
// calls that reached the Sepay simulator (its merchantref is unique).
func concurrency(ctx context.Context, newClient func(uint64) *client, s *Sim, terminal, run string, fig *Figures) int {
	ref := run + "-concurrency"
	s.Count(ref)
	body := map[string]any{"amount": 4242, "currency": "EUR", "terminal": terminal, "reference": ref}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]int{}
	var start sync.WaitGroup
	start.Add(1)
	for i := range 50 {
		c := newClient(uint64(10000 + i))
		c.patience = time.Minute
		wg.Go(func() {
			start.Wait()
			a := c.do(ctx, http.MethodPost, "/v1/payments", body, run+"-concurrency")
			mu.Lock()
			defer mu.Unlock()
			if p, err := a.payment(); err == nil && a.ok() {
				ids[p.ID]++
			} else {
				ids["(no payment: "+a.String()+")"]++
			}
		})
	}
	start.Done()
	wg.Wait()
	time.Sleep(2 * time.Second) // a call started late still counts
	n := s.Counted()
	if len(ids) != 1 || n != 1 {
		for id, k := range ids {
			fig.example("concurrency", "%d of 50 answers: %.200s", k, id)
		}
	}
	return n
}

// createAPIKey runs `tender migrate` and `tender apikey create` against db.
func createAPIKey(ctx context.Context, bin, db string) (string, error) {
	// The database must exist first: apikey refuses to make an empty one.
	if out, err := exec.CommandContext(ctx, bin, "migrate", "--db", db).CombinedOutput(); err != nil {
		return "", fmt.Errorf("tender migrate: %v: %s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "apikey", "create", "--db", db, "--name", "fault-harness")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("tender apikey create: %v: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// createSchema makes a fresh schema and returns base with search_path set
// to it (pgx passes unknown URL parameters on as runtime parameters).
func createSchema(ctx context.Context, base, schema string) (string, error) {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", fmt.Errorf("postgres: create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func dropSchema(base, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}
