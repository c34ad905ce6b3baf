package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSimAccountsOut: tender sim --accounts-out writes accounts and
// terminals that a Tender takes as they are, and a payment on them goes
// through that tender sim.
func TestSimAccountsOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "accounts.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errs syncBuffer
	go func() {
		done <- run(ctx, []string{"sim", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "sim"), "--accounts-out", file, "--delay", "300ms"},
			func(string) string { return "" }, &out, &errs)
	}()
	defer func() {
		cancel()
		<-done
	}()
	var got simAccounts
	for i := 0; ; i++ {
		if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &got) == nil {
			break
		}
		if i > 300 {
			t.Fatalf("no %s:\n%s\n%s", file, out.String(), errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, fi.Mode().Perm())
	}
	if len(got.Accounts) != 4 || len(got.Terminals) < 2 {
		t.Fatalf("accounts-out: %d accounts, %d terminals", len(got.Accounts), len(got.Terminals))
	}

	// A sandbox-mode Tender (which may reach loopback) takes them under
	// ids of their own, next to its built-in sandbox.
	p := startTender(t)
	for _, a := range got.Accounts {
		a.ID, a.Default = "ext-"+a.ID, false
		b, _ := json.Marshal(a)
		p.mustCall("POST", "/v1/accounts", string(b), 201)
	}
	var sepayTerm string
	for _, tm := range got.Terminals {
		tm.ID, tm.Account = "ext-"+tm.ID, "ext-"+tm.Account
		b, _ := json.Marshal(tm)
		p.mustCall("POST", "/v1/terminals", string(b), 201)
		if tm.Connector == "sepay" && sepayTerm == "" {
			sepayTerm = tm.ID
		}
	}
	began := time.Now()
	created := p.mustCall("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"`+sepayTerm+`"}`, 201)
	p.waitFor(created["id"].(string), 60*time.Second, "captured")
	// --delay 300ms: the terminal decided well before the default 5 s.
	if d := time.Since(began); d >= 4500*time.Millisecond {
		t.Errorf("payment took %s on a simulator started with --delay 300ms", d)
	}
}

// TestSimDelayBounds: a delay outside 10ms..10m is refused, naming the flag.
func TestSimDelayBounds(t *testing.T) {
	for _, args := range [][]string{{"sim", "--delay", "1ms"}, {"serve", "--sandbox-delay", "0s"}, {"sim", "--delay", "1h"}} {
		var out, errs syncBuffer
		err := run(context.Background(), args, func(string) string { return "" }, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), args[1]) {
			t.Errorf("%v: %v, want an error naming %s", args, err, args[1])
		}
	}
}
