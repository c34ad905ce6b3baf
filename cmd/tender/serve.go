package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/dashboard"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

// legacyDB is where Tender kept its SQLite database before it moved into
// the data directory; an existing one is still used.
const legacyDB = "tender.db"

// defaultDB is the database used without --db or TENDER_DB: the SQLite file
// tender.db in the data directory (created 0700), or ./tender.db if that
// exists from an earlier version.
func defaultDB(dataDir string) (string, error) {
	if _, err := os.Stat(legacyDB); err == nil {
		return "sqlite:" + legacyDB, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return "sqlite:" + filepath.Join(dataDir, "tender.db"), nil
}

// dbOrDefault returns db, or defaultDB when it is empty.
func dbOrDefault(db, dataDir string) (string, error) {
	if db != "" {
		return db, nil
	}
	return defaultDB(dataDir)
}

// defaultDataDir is the data directory without --data-dir.
const defaultDataDir = ".tender"

// openPostgres is set by postgres.go.
var openPostgres func(ctx context.Context, dsn string) (tender.Store, error)

// openStore opens the store a --db value names: "postgres://..." or
// "postgresql://..." for PostgreSQL, "sqlite:PATH" or a plain path for SQLite.
func openStore(ctx context.Context, db string) (tender.Store, error) {
	switch {
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		if openPostgres == nil {
			return nil, fmt.Errorf("this build has no PostgreSQL support")
		}
		return openPostgres(ctx, db)
	case strings.HasPrefix(db, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(db, "sqlite:"))
	case strings.Contains(db, "://"):
		return nil, fmt.Errorf("--db %q: use postgres://... or sqlite:PATH", redactDSN(db))
	}
	return sqlite.Open(ctx, db)
}

// redactDSN hides a password in a database URL for messages.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			user, _, _ := strings.Cut(rest[:at], ":")
			return dsn[:i+3] + user + ":***@" + rest[at+1:]
		}
	}
	return dsn
}

// envBool reads a boolean environment variable: 1, true or yes; 0, false
// or no (any case); unset or empty is def. Anything else is refused rather
// than guessed (TENDER_SANDBOX=off must not mean sandbox mode on).
func envBool(getenv func(string) string, key string, def bool) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(key))); v {
	case "":
		return def, nil
	case "1", "true", "yes":
		return true, nil
	case "0", "false", "no":
		return false, nil
	}
	return false, usageErr("%s=%q: use 1, true or yes, or 0, false or no", key, getenv(key))
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// providerClient is the HTTP client connectors call providers with. Provider
// endpoints are account settings that any holder of an API key can set, so
// unless private networks are allowed (sandbox mode, where the simulators
// listen on loopback, or --provider-private-networks) it dials public
// addresses only, checked on the address dialled after DNS, as webhooks are.
//
// Connections are kept for reuse, many per provider host: a fleet of
// terminals means hundreds of calls at once to one host, and the default
// transport keeps two idle connections per host, so every other call
// would dial (and, over TLS, handshake) anew.
func providerClient(private bool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if !private {
		t = engine.PublicOnlyTransport("provider", "outside sandbox mode providers are reached on public addresses only")
	}
	t.MaxIdleConns = providerIdleConns
	t.MaxIdleConnsPerHost = providerIdleConns
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Timeout: 60 * time.Second, Transport: t}
}

// providerIdleConns is how many idle connections to providers are kept,
// per host and in all: about the engine's reconciliation workers plus
// the creates in flight.
const providerIdleConns = 256

type serveConfig struct {
	addr, simAddr, db, publicURL, dataDir, masterKeyFile, logLevel string
	metricsAddr                                                    string
	sandbox, webhookPrivate, providerPrivate                       bool
	checkEvery, startTimeout                                       time.Duration
	subscriptionsEvery                                             time.Duration
	// The reconciliation schedule's other knobs (engine.Schedule), for
	// operators and for the fault harness, which must finish in bounded time.
	requiresActionEvery, providerTimeout time.Duration
	unknownBackoff                       durations
	maxPollsPerKey                       int
	sandboxTerminals                     int
	sandboxDelay                         time.Duration
}

func serveCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", envOr(getenv, "TENDER_ADDR", "127.0.0.1:8080"), "address to listen on (TENDER_ADDR)")
	fs.StringVar(&c.db, "db", getenv("TENDER_DB"), "database: sqlite:PATH or postgres://... (TENDER_DB; default DATA-DIR/tender.db, or ./tender.db if it exists)")
	fs.StringVar(&c.publicURL, "public-url", getenv("TENDER_PUBLIC_URL"), "base URL at which providers and shoppers reach this server (TENDER_PUBLIC_URL; default http://ADDR)")
	fs.StringVar(&c.dataDir, "data-dir", envOr(getenv, "TENDER_DATA_DIR", defaultDataDir), "directory for the default database, the sandbox master key and simulator keys (TENDER_DATA_DIR)")
	fs.StringVar(&c.masterKeyFile, "master-key-file", getenv("TENDER_MASTER_KEY_FILE"), "file holding the master key (TENDER_MASTER_KEY_FILE); TENDER_MASTER_KEY takes the key itself")
	sandboxDefault, err := envBool(getenv, "TENDER_SANDBOX", true)
	if err != nil {
		return err
	}
	privateDefault, err := envBool(getenv, "TENDER_WEBHOOK_PRIVATE_NETWORKS", false)
	if err != nil {
		return err
	}
	fs.BoolVar(&c.sandbox, "sandbox", sandboxDefault, "run the provider simulators and sandbox accounts (TENDER_SANDBOX=false for production)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", getenv("TENDER_METRICS_ADDR"),
		"serve /metrics on this address only, not on --addr (TENDER_METRICS_ADDR; keep it off the public interface)")
	fs.StringVar(&c.simAddr, "sim-addr", envOr(getenv, "TENDER_SIM_ADDR", "127.0.0.1:8081"), "address of the simulators' listener in sandbox mode (TENDER_SIM_ADDR)")
	fs.StringVar(&c.logLevel, "log-level", envOr(getenv, "TENDER_LOG_LEVEL", "info"), "debug, info, warn or error (TENDER_LOG_LEVEL)")
	fs.BoolVar(&c.webhookPrivate, "webhook-private-networks", privateDefault,
		"let webhooks reach loopback and private addresses (TENDER_WEBHOOK_PRIVATE_NETWORKS; always allowed in sandbox mode)")
	fs.BoolVar(&c.providerPrivate, "provider-private-networks", envOr(getenv, "TENDER_PROVIDER_PRIVATE_NETWORKS", "false") == "true",
		"let provider calls reach loopback and private addresses, e.g. simulators or a staging provider on your network (TENDER_PROVIDER_PRIVATE_NETWORKS; always allowed in sandbox mode)")
	fs.DurationVar(&c.checkEvery, "check-interval", engine.DefaultSchedule.Processing, "how often a payment a terminal works on is checked with its provider")
	fs.DurationVar(&c.requiresActionEvery, "requires-action-interval", engine.DefaultSchedule.RequiresAction, "how often a payment waiting for its shopper is checked with its provider")
	c.unknownBackoff = engine.DefaultSchedule.Unknown
	fs.Var(&c.unknownBackoff, "unknown-backoff", "pauses between checks of a payment in doubt, comma-separated; the last repeats")
	fs.DurationVar(&c.providerTimeout, "provider-timeout", engine.DefaultSchedule.ProviderTimeout, "bound on each call to a provider")
	fs.IntVar(&c.sandboxTerminals, "sandbox-terminals", 2, "how many terminals each terminal provider's simulator (Sepay, ePay) registers in sandbox mode, e.g. 1000 for a load test")
	fs.DurationVar(&c.sandboxDelay, "sandbox-delay", 5*time.Second, "how long a simulated terminal (Sepay, ePay) takes from a payment to its outcome in sandbox mode; shorter for fast tests of a POS, e.g. 300ms")
	fs.IntVar(&c.maxPollsPerKey, "max-polls-per-key", api.DefaultMaxPollsPerKey, "long-polls one API key may hold open at once on this server")
	fs.DurationVar(&c.subscriptionsEvery, "subscription-interval", engine.DefaultSchedule.Subscriptions,
		"how often the providers of active subscriptions are asked for the charges they made on their schedule")
	fs.DurationVar(&c.startTimeout, "start-timeout", engine.DefaultSchedule.StartTimeout,
		"how long POST /v1/payments waits for the provider to accept a payment before it answers with the payment unknown (the POS long-polls for the rest)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.checkEvery <= 0 || c.requiresActionEvery <= 0 || c.providerTimeout <= 0 || c.startTimeout <= 0 {
		return usageErr("--check-interval, --requires-action-interval, --provider-timeout and --start-timeout must be positive")
	}
	if c.sandboxTerminals < 1 || c.sandboxTerminals > 100000 {
		return usageErr("--sandbox-terminals must be between 1 and 100000")
	}
	if c.sandboxDelay < 10*time.Millisecond || c.sandboxDelay > 10*time.Minute {
		return usageErr("--sandbox-delay must be between 10ms and 10m, got %s", c.sandboxDelay)
	}
	if fs.NArg() > 0 {
		return usageErr("serve takes no arguments, got %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: %w", c.logLevel, err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	defer ln.Close()
	if c.publicURL == "" {
		c.publicURL = "http://" + ln.Addr().String()
	}
	c.publicURL = strings.TrimRight(c.publicURL, "/")

	key, err := masterKey(getenv, c)
	if err != nil {
		return err
	}
	sealer, err := seal.New(key)
	if err != nil {
		return err
	}
	if c.db, err = dbOrDefault(c.db, c.dataDir); err != nil {
		return err
	}
	store, err := openStore(ctx, c.db)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer store.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	env := connectorEnv{HTTPClient: providerClient(c.sandbox || c.providerPrivate), Logger: log, Clock: tender.SystemClock{}}
	var connectors []tender.Connector
	for _, p := range providers {
		if p.connector != nil {
			connectors = append(connectors, p.connector(env))
		}
	}
	// Outside sandbox mode webhooks reach only public addresses, unless the
	// operator runs receivers on a private network on purpose.
	var webhookClient *http.Client
	if !c.sandbox && !c.webhookPrivate {
		webhookClient = engine.PublicOnlyClient()
	}
	eng, err := engine.New(engine.Options{
		Store: store, Connectors: connectors, Sealer: sealer, Logger: log,
		PublicURL: c.publicURL, Metrics: engine.NewMetrics(reg),
		Schedule: engine.Schedule{Processing: c.checkEvery, Poll: min(c.checkEvery, engine.DefaultSchedule.Poll),
			RequiresAction: c.requiresActionEvery, Unknown: c.unknownBackoff, ProviderTimeout: c.providerTimeout,
			StartTimeout: c.startTimeout, Subscriptions: c.subscriptionsEvery},
		// Sandbox mode accepts http:// webhook URLs, for a receiver on
		// the developer's own machine.
		Webhooks: engine.WebhookOptions{Object: api.PaymentObjects(connectors), AllowHTTP: c.sandbox, Client: webhookClient, PublicOnly: webhookClient != nil},
	})
	if err != nil {
		return err
	}

	var sims *http.Server
	var apiKey, signIn string
	if c.sandbox {
		// The dashboard user's password hash (first start) runs beside
		// the simulators' key generation: both are CPU, and the machine
		// has more than one core.
		userDone := make(chan error, 1)
		if users, ok := store.(tender.UserStore); ok {
			go func() {
				var err error
				signIn, err = sandboxUser(ctx, users, filepath.Join(c.dataDir, "sandbox-dashboard"))
				userDone <- err
			}()
		} else {
			userDone <- nil
		}
		sims, apiKey, err = startSandbox(ctx, eng, c, log)
		if uerr := <-userDone; err == nil {
			err = uerr
		}
		if err != nil {
			if sims != nil {
				sims.Close()
			}
			return err
		}
		defer sims.Close()
		// A first start hashed the dashboard password (64 MiB of
		// Argon2id): give that memory back now rather than over minutes.
		debug.FreeOSMemory()
	}

	if c.metricsAddr != "" {
		mln, err := net.Listen("tcp", c.metricsAddr)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", c.metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", api.MetricsHandler(reg))
		// Profiles, on the operator's listener only (off the public one).
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go msrv.Serve(mln)
		defer msrv.Close()
		fmt.Fprintf(stdout, "Metrics: http://%s/metrics\n", mln.Addr())
	}
	apiServer := api.NewServer(eng, api.Options{Logger: log, Gatherer: reg, Registerer: reg, MetricsElsewhere: c.metricsAddr != "", MaxPollsPerKey: c.maxPollsPerKey})
	handler := http.Handler(apiServer)
	if users, ok := store.(tender.UserStore); ok {
		mux := http.NewServeMux()
		mux.Handle("/dashboard/", dashboard.New(eng, dashboard.Options{Users: users, Logger: log,
			Secure: strings.HasPrefix(c.publicURL, "https://")}))
		mux.Handle("/", handler)
		handler = mux
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		var wg sync.WaitGroup
		wg.Go(func() { eng.Run(runCtx) })
		wg.Go(func() {
			if err := eng.RunWebhooks(runCtx); err != nil {
				log.Error("webhooks stopped", "err", err)
			}
		})
		wg.Wait()
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("tender serving", "url", c.publicURL, "db", redactDSN(c.db), "sandbox", c.sandbox)
	if c.sandbox {
		fmt.Fprintf(stdout, "Tender is running in sandbox mode at %s\n", c.publicURL)
		fmt.Fprintf(stdout, "Simulators: http://%s/sim/<provider>/\n", sims.Addr)
		fmt.Fprintf(stdout, "Sandbox API key: %s\n", apiKey)
		if signIn != "" {
			fmt.Fprintf(stdout, "Dashboard: %s/dashboard/ (sign in as %s)\n", c.publicURL, signIn)
		}
		// Both examples are run by TestServePrintedExamplesWork.
		fmt.Fprintf(stdout, "Try a terminal payment (the sandbox terminal approves after a few seconds):\n"+
			"  curl -s %s/v1/payments -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n"+
			"    -d '{\"amount\": 1050, \"currency\": \"EUR\", \"terminal\": \"sepay-term-1\"}'\n"+
			"or, with progress and the receipt:\n"+
			"  tender pay --url %s --key %s --terminal sepay-term-1 --amount 10.50\n", c.publicURL, apiKey, c.publicURL, apiKey)
	} else {
		fmt.Fprintf(stdout, "Tender is running at %s\n", c.publicURL)
	}

	select {
	case err := <-serveErr:
		stopRun()
		<-runDone
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	// Parked long-polls are no longer net/http's (Shutdown does not wait
	// for them): answer them now, before the store closes.
	apiServer.EndLongPolls()
	stopRun()
	<-runDone
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// masterKey finds the key that seals credentials: TENDER_MASTER_KEY, the
// key file, or in sandbox mode a key generated into the data directory.
func masterKey(getenv func(string) string, c serveConfig) ([]byte, error) {
	if v := getenv("TENDER_MASTER_KEY"); v != "" {
		return seal.ParseKey(v)
	}
	if c.masterKeyFile != "" {
		return seal.LoadOrCreateKeyFile(c.masterKeyFile, false)
	}
	if !c.sandbox {
		return nil, errors.New("no master key: set TENDER_MASTER_KEY (64 hex digits) or --master-key-file; only sandbox mode generates one")
	}
	return seal.LoadOrCreateKeyFile(filepath.Join(c.dataDir, "master.key"), true)
}

// startSandbox runs every provider's simulator on its own listener and
// registers its sandbox account and terminals (once; they persist), and an
// API key for the sandbox user.
func startSandbox(ctx context.Context, eng *engine.Engine, c serveConfig, log *slog.Logger) (*http.Server, string, error) {
	// The sandbox's accounts and terminals belong to the default merchant;
	// its key is a platform key, which acts for the default merchant unless
	// a request names another with Tender-Merchant.
	ctx = tender.WithMerchant(ctx, tender.DefaultMerchant)
	ln, err := net.Listen("tcp", c.simAddr)
	if err != nil {
		return nil, "", fmt.Errorf("listen for simulators on %s: %w", c.simAddr, err)
	}
	simBase := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	for _, p := range providers {
		if p.sandbox == nil {
			continue
		}
		prefix := "/sim/" + p.name
		sb, err := p.sandbox(tender.SandboxOptions{
			BaseURL: simBase + prefix, PublicURL: c.publicURL, Logger: log.With("sim", p.name),
			Clock: tender.SystemClock{}, DataDir: filepath.Join(c.dataDir, "sim", p.name), Terminals: c.sandboxTerminals, TerminalDelay: c.sandboxDelay,
		})
		if err != nil {
			ln.Close()
			return nil, "", fmt.Errorf("start %s simulator: %w", p.name, err)
		}
		mux.Handle(prefix+"/", http.StripPrefix(prefix, sb.Handler))
		if err := registerSandbox(ctx, eng, sb, log); err != nil {
			ln.Close()
			return nil, "", fmt.Errorf("register %s sandbox: %w", p.name, err)
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, Addr: ln.Addr().String()}
	go srv.Serve(ln)

	key, err := sandboxAPIKey(ctx, eng, filepath.Join(c.dataDir, "sandbox-api-key"))
	if err != nil {
		srv.Close()
		return nil, "", err
	}
	return srv, key, nil
}

// registerSandbox creates the sandbox account and terminals, or brings the
// stored ones up to date with the simulator (its address or generated keys
// may have changed since the database was made).
func registerSandbox(ctx context.Context, eng *engine.Engine, sb *tender.Sandbox, log *slog.Logger) error {
	a := sb.Account
	if existing, err := eng.GetAccount(ctx, a.ID); err == nil {
		keys, err := eng.CredentialKeys(ctx, "account", a.ID)
		if err != nil {
			return err
		}
		if _, err := eng.UpdateAccount(ctx, a.ID, engine.AccountChange{
			Settings: replacement(slices.Collect(maps.Keys(existing.Settings)), a.Settings), Credentials: replacement(keys, a.Credentials),
		}); err != nil {
			return err
		}
	} else if tender.ErrorCodeOf(err) != tender.ENotFound {
		return err
	} else if _, err := eng.CreateAccount(ctx, &a); err != nil {
		return err
	}
	for _, t := range sb.Terminals {
		existing, err := eng.GetTerminal(ctx, t.ID)
		if tender.ErrorCodeOf(err) == tender.ENotFound {
			if _, err := eng.CreateTerminal(ctx, &t); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if existing.Account != t.Account && t.Account != "" || existing.ProviderID != t.ProviderID {
			log.Warn("a stored sandbox terminal belongs to another account or provider id; delete the database to start afresh", "terminal", t.ID)
			continue
		}
		keys, err := eng.CredentialKeys(ctx, "terminal", t.ID)
		if err != nil {
			return err
		}
		if _, err := eng.UpdateTerminal(ctx, t.ID, engine.TerminalChange{Label: &t.Label,
			Settings: replacement(slices.Collect(maps.Keys(existing.Settings)), t.Settings), Credentials: replacement(keys, t.Credentials)}); err != nil {
			return err
		}
	}
	return nil
}

// replacement is the change that turns a map with the keys old into want:
// every key of want set, every other old key removed.
func replacement(old []string, want map[string]string) map[string]string {
	ch := map[string]string{}
	for _, k := range old {
		ch[k] = ""
	}
	for k, v := range want {
		ch[k] = v
	}
	return ch
}

// sandboxAPIKey returns the sandbox user's API key, kept in path (0600) so
// that it stays the same across restarts.
func sandboxAPIKey(ctx context.Context, eng *engine.Engine, path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		key := strings.TrimSpace(string(b))
		if _, err := eng.Authenticate(ctx, key); err == nil {
			return key, nil
		}
	}
	key, _, err := eng.CreateAPIKey(ctx, "sandbox")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return key, os.WriteFile(path, []byte(key+"\n"), 0o600)
}

// sandboxEmail is the sandbox's dashboard user, a platform user.
const sandboxEmail = "sandbox@tender.localhost"

// sandboxUser returns "EMAIL / PASSWORD" for the sandbox's dashboard user,
// made on the first start with a generated password kept in path (0600),
// like the sandbox API key.
//
// path+".hash" keeps the Argon2id hash stored with it: a restart that
// finds the user's hash unchanged knows the password is still the one in
// path without hashing it again (64 MiB and most of a second on a small
// machine, which was most of a restart's time).
func sandboxUser(ctx context.Context, users tender.UserStore, path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		pw := strings.TrimSpace(string(b))
		memo, _ := os.ReadFile(path + ".hash")
		if u, err := users.UserByEmail(ctx, sandboxEmail); err == nil && pw != "" {
			if h := strings.TrimSpace(string(memo)); h != "" && h == u.PasswordHash {
				return sandboxEmail + " / " + pw, nil
			}
			if dashboard.CheckPassword(u.PasswordHash, pw) {
				return sandboxEmail + " / " + pw, os.WriteFile(path+".hash", []byte(u.PasswordHash+"\n"), 0o600)
			}
		}
	}
	pw := rand.Text()
	hash := dashboard.HashPassword(pw)
	u, err := users.UserByEmail(ctx, sandboxEmail)
	switch {
	case err == nil:
		err = users.SetUserPassword(ctx, u.ID, hash)
	case tender.ErrorCodeOf(err) == tender.ENotFound:
		u, err = dashboard.NewUser(sandboxEmail, "", pw)
		if err == nil {
			hash = u.PasswordHash
			err = users.CreateUser(ctx, u)
		}
	}
	if err != nil {
		return "", fmt.Errorf("sandbox dashboard user: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return sandboxEmail + " / " + pw, os.WriteFile(path+".hash", []byte(hash+"\n"), 0o600)
}
