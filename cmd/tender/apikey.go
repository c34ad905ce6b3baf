package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
)

const apikeyUsage = `usage:
  tender apikey create [--db ...] [--name NAME] [--scope platform|merchant|terminal] [--merchant ID] [--terminals ID,ID]
  tender apikey list [--db ...] [--merchant ID]
  tender apikey revoke [--db ...] ID`

// apikeyCmd manages API keys straight on the database, for the operator
// (the API does the same with POST /v1/api_keys and a platform key).
func apikeyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("%s", apikeyUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("apikey "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", getenv("TENDER_DB"), "database: sqlite:PATH or postgres://... (TENDER_DB; default TENDER_DATA_DIR/tender.db, or ./tender.db if it exists)")
	var name, scope, merchant, terminals *string
	switch sub {
	case "create":
		name = fs.String("name", "", "a name to recognise the key by")
		scope = fs.String("scope", tender.ScopePlatform, "platform (every merchant), merchant (one merchant) or terminal (payments on some terminals)")
		merchant = fs.String("merchant", "", "the merchant of a merchant or terminal key")
		terminals = fs.String("terminals", "", "a terminal key's terminals, separated by commas")
	case "list":
		merchant = fs.String("merchant", "", "list only this merchant's keys")
	case "revoke":
	default:
		return usageErr("unknown apikey command %q\n%s", sub, apikeyUsage)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if sub == "revoke" && fs.NArg() != 1 || sub != "revoke" && fs.NArg() != 0 {
		return usageErr("%s", apikeyUsage)
	}
	var err error
	if *db, err = dbOrDefault(*db, envOr(getenv, "TENDER_DATA_DIR", defaultDataDir)); err != nil {
		return err
	}
	// Opening a SQLite file that is not there would create an empty
	// database and a key nobody's server knows.
	if path, ok := sqlitePath(*db); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("database %s does not exist: give the --db (or TENDER_DB, TENDER_DATA_DIR) that tender serve uses, or create it with tender migrate --db %s", path, *db)
		}
	}
	s, err := openStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer s.Close()
	// API keys need no master key; a throwaway sealer satisfies the engine.
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	eng, err := engine.New(engine.Options{Store: s, Sealer: sealer})
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		req := engine.APIKeyRequest{Name: *name, Scope: *scope, Merchant: *merchant}
		for _, t := range strings.Split(*terminals, ",") {
			if t = strings.TrimSpace(t); t != "" {
				req.Terminals = append(req.Terminals, t)
			}
		}
		secret, k, err := eng.NewAPIKey(ctx, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created %s key %s (%s); it is shown once, store it safely\n", k.Scope, k.ID, k.Prefix+"…")
		fmt.Fprintln(stdout, secret)
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tSCOPE\tMERCHANT\tTERMINALS\tCREATED\tLAST USED\tREVOKED")
		f := tender.ListFilter{Limit: 100, Merchant: *merchant}
		for {
			list, more, err := eng.ListAPIKeys(ctx, f)
			if err != nil {
				return err
			}
			for _, k := range list {
				m := k.Merchant
				if k.Scope == tender.ScopePlatform {
					m = "(all)"
				}
				fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, dash(k.Name), k.Scope, m,
					dash(strings.Join(k.Terminals, ",")), when(k.CreatedAt), when(k.LastUsedAt), when(k.RevokedAt))
				f.StartingAfter = k.ID
			}
			if !more {
				break
			}
		}
		return tw.Flush()
	case "revoke":
		k, err := eng.RevokeAPIKey(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked API key %s (%s…) at %s\n", k.ID, k.Prefix, when(k.RevokedAt))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
