package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func versionCmd(stdout io.Writer) error {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	fmt.Fprintln(stdout, "tender", v)
	return nil
}

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", getenv("TENDER_DB"), "database: sqlite:PATH or postgres://... (TENDER_DB; default TENDER_DATA_DIR/tender.db, or ./tender.db if it exists)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if *db, err = dbOrDefault(*db, envOr(getenv, "TENDER_DATA_DIR", defaultDataDir)); err != nil {
		return err
	}
	// Opening a store applies its embedded migrations.
	s, err := openStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", redactDSN(*db), err)
	}
	defer s.Close()
	fmt.Fprintf(stdout, "database %s is up to date\n", redactDSN(*db))
	return nil
}

// sqlitePath returns the file a --db value names, if it is SQLite.
func sqlitePath(db string) (string, bool) {
	switch {
	case strings.HasPrefix(db, "sqlite:"):
		return strings.TrimPrefix(db, "sqlite:"), true
	case strings.Contains(db, "://"):
		return "", false
	}
	return db, true
}

// simAccounts is what --accounts-out writes: request bodies of
// POST /v1/accounts and POST /v1/terminals for a Tender that is to talk to
// these simulators.
type simAccounts struct {
	Accounts  []simAccount  `json:"accounts"`
	Terminals []simTerminal `json:"terminals"`
}

type simAccount struct {
	ID          string            `json:"id"`
	Connector   string            `json:"connector"`
	Environment string            `json:"environment"`
	Default     bool              `json:"default"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"`
}

type simTerminal struct {
	ID          string            `json:"id"`
	Connector   string            `json:"connector"`
	Account     string            `json:"account"`
	ProviderID  string            `json:"provider_id"`
	Label       string            `json:"label,omitempty"`
	Settings    map[string]string `json:"settings,omitempty"`
	Credentials map[string]string `json:"credentials,omitempty"`
}

func (s *simAccounts) add(sb *tender.Sandbox) {
	a := sb.Account
	s.Accounts = append(s.Accounts, simAccount{ID: a.ID, Connector: a.Connector, Environment: a.Environment,
		Default: a.Default, Settings: a.Settings, Credentials: a.Credentials})
	for _, t := range sb.Terminals {
		acct := t.Account
		if acct == "" {
			acct = a.ID
		}
		conn := t.Connector
		if conn == "" {
			conn = a.Connector
		}
		s.Terminals = append(s.Terminals, simTerminal{ID: t.ID, Connector: conn, Account: acct, ProviderID: t.ProviderID,
			Label: t.Label, Settings: t.Settings, Credentials: t.Credentials})
	}
}

// simCmd runs every provider's simulator alone, for integrators who test
// their own code against a provider.
func simCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	publicURL := fs.String("public-url", "", "Tender's base URL, if one runs against these simulators")
	dataDir := fs.String("data-dir", envOr(getenv, "TENDER_DATA_DIR", ".tender"), "directory for the simulators' keys")
	accountsOut := fs.String("accounts-out", "", "write the accounts and terminals that reach these simulators to this file (JSON, mode 0600: it holds credentials), as POST /v1/accounts and /v1/terminals bodies")
	delay := fs.Duration("delay", 5*time.Second, "how long a simulated terminal takes from a payment to its outcome; shorter for fast tests of a POS, e.g. 300ms")
	terminals := fs.Int("terminals", 2, "how many terminals the Sepay and ePay simulators register (SIDs 10000001 on, TIDs 99000001 on), e.g. 1000 for a load test")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *terminals < 1 || *terminals > 100000 {
		return usageErr("--terminals must be between 1 and 100000")
	}
	if *delay < 10*time.Millisecond || *delay > 10*time.Minute {
		return usageErr("--delay must be between 10ms and 10m, got %s", *delay)
	}
	var out simAccounts
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	for _, p := range providers {
		if p.sandbox == nil {
			continue
		}
		prefix := "/sim/" + p.name
		sb, err := p.sandbox(tender.SandboxOptions{BaseURL: base + prefix, PublicURL: *publicURL, Logger: log.With("sim", p.name),
			Clock: tender.SystemClock{}, DataDir: filepath.Join(*dataDir, "sim", p.name), Terminals: *terminals, TerminalDelay: *delay})
		if err != nil {
			ln.Close()
			return fmt.Errorf("start %s simulator: %w", p.name, err)
		}
		if sb.Close != nil {
			defer sb.Close()
		}
		mux.Handle(prefix+"/", http.StripPrefix(prefix, sb.Handler))
		fmt.Fprintf(stdout, "%s simulator: %s/\n", p.name, base+prefix)
		out.add(sb)
	}
	if *accountsOut != "" {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			ln.Close()
			return err
		}
		if err := os.WriteFile(*accountsOut, append(b, '\n'), 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("--accounts-out: %w", err)
		}
		fmt.Fprintf(stdout, "accounts and terminals: %s\n", *accountsOut)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
