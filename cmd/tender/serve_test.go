package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tenderProc is a real `tender serve` in sandbox mode, started through run.
type tenderProc struct {
	t      *testing.T
	URL    string
	SimURL string
	Key    string
	Data   string // --data-dir: where the sandbox keeps its generated provider keys
	Stop   func() // shuts the server down and waits for it (also done at cleanup)
	out    *syncBuffer
}

// Out is what tender serve has printed on stdout so far.
func (p *tenderProc) Out() string { return p.out.String() }

// startTender runs `tender serve` with the given extra flags on free ports
// with a fresh database, and waits until it prints its URL and key.
func startTender(t *testing.T, extra ...string) *tenderProc {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0",
		"--db", "sqlite:" + filepath.Join(dir, "tender.db"), "--data-dir", filepath.Join(dir, "data"),
		"--check-interval", "200ms", "--log-level", "warn"}, extra...)
	data := filepath.Join(dir, "data")
	for i, a := range extra {
		if a == "--data-dir" && i+1 < len(extra) {
			data = extra[i+1]
		}
	}
	go func() { done <- run(ctx, args, func(string) string { return "" }, &out, &errs) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("tender serve: %v", err)
				}
			case <-time.After(40 * time.Second):
				t.Error("tender serve did not shut down")
			}
		})
	}
	t.Cleanup(stop)
	urlRe := regexp.MustCompile(`sandbox mode at (http://\S+)`)
	simRe := regexp.MustCompile(`Simulators: (http://[^/]+)/sim/`)
	keyRe := regexp.MustCompile(`Sandbox API key: (\S+)`)
	for i := 0; i < 600; i++ {
		s := out.String()
		if u, k, sim := urlRe.FindStringSubmatch(s), keyRe.FindStringSubmatch(s), simRe.FindStringSubmatch(s); u != nil && k != nil && sim != nil {
			return &tenderProc{t: t, URL: u[1], Key: k[1], SimURL: sim[1], Data: data, Stop: stop, out: &out}
		}
		select {
		case err := <-done:
			t.Fatalf("tender serve exited: %v\n%s", err, errs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("tender serve printed no URL and key:\n%s\n%s", out.String(), errs.String())
	return nil
}

// call makes an API request and decodes the JSON answer.
func (p *tenderProc) call(method, path, body string, headers ...string) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.Key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	checkResponseSpec(p.t, req, res, b)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		p.t.Fatalf("%s %s: not JSON (%d): %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

func (p *tenderProc) mustCall(method, path, body string, want int, headers ...string) map[string]any {
	p.t.Helper()
	status, m := p.call(method, path, body, headers...)
	if status != want {
		p.t.Fatalf("%s %s: %d, want %d: %v", method, path, status, want, m)
	}
	return m
}

// waitSettled long-polls a payment until its status is one of want or the
// deadline passes.
func (p *tenderProc) waitFor(id string, limit time.Duration, want ...string) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	var last map[string]any
	for time.Now().Before(deadline) {
		last = p.mustCall("GET", "/v1/payments/"+id+"?wait=5s", "", 200)
		for _, w := range want {
			if last["status"] == w {
				return last
			}
		}
	}
	p.t.Fatalf("payment %s is %v after %s, want one of %v: %v", id, last["status"], limit, want, last)
	return nil
}

func TestServeSandbox(t *testing.T) {
	p := startTender(t)
	if _, m := p.call("GET", "/v1/payments", ""); m["object"] != "list" {
		t.Fatalf("list payments: %v", m)
	}
	accounts := p.mustCall("GET", "/v1/accounts?limit=100", "", 200)["data"].([]any)
	have := map[string]bool{}
	for _, a := range accounts {
		a := a.(map[string]any)
		if a["environment"] != "sandbox" || a["default"] != true {
			t.Errorf("sandbox account %v", a)
		}
		have[a["connector"].(string)] = true
	}
	for _, pr := range providers {
		if pr.sandbox != nil && !have[pr.name] {
			t.Errorf("no sandbox account for %s", pr.name)
		}
	}
	res, err := http.Get(p.URL + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", res, err)
	}
	res.Body.Close()
	res, _ = http.Get(p.URL + "/metrics")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "tender_http_request_seconds") {
		t.Fatal("metrics lack tender_http_request_seconds")
	}
}

// TestServeRestartRefreshesSandbox restarts `tender serve` on the same
// database and data directory with the simulators on another port: the
// stored sandbox accounts follow the simulators, so payments still work.
func TestServeRestartRefreshesSandbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	same := []string{"--db", "sqlite:" + filepath.Join(dir, "tender.db"), "--data-dir", filepath.Join(dir, "data")}
	first := startTender(t, same...)
	created := first.mustCall("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"sepay-term-1"}`, 201)
	first.waitFor(created["id"].(string), 60*time.Second, "captured")
	first.Stop()

	second := startTender(t, same...)
	if second.SimURL == first.SimURL {
		t.Skip("the simulators got the same port again; nothing to refresh")
	}
	if second.Key != first.Key {
		t.Error("the sandbox API key changed across a restart")
	}
	a := second.mustCall("GET", "/v1/accounts/trustpayments-sandbox", "", 200)
	if u := a["settings"].(map[string]any)["webservices_url"]; !strings.HasPrefix(u.(string), second.SimURL) {
		t.Fatalf("sandbox account still points at %v, simulators are at %s", u, second.SimURL)
	}
	for _, body := range []string{`{"amount":1000,"currency":"EUR","terminal":"sepay-term-1"}`, epayBody(1000, 900)} {
		created := second.mustCall("POST", "/v1/payments", body, 201)
		second.waitFor(created["id"].(string), 60*time.Second, "captured")
	}
}

func TestRunRejectsUnknownCommand(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, &out, &errs); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, &errs); err != nil || !strings.HasPrefix(out.String(), "tender ") {
		t.Fatalf("version: %q, %v", out.String(), err)
	}
}

func TestAPIKeyCreate(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--db", db}, func(string) string { return "" }, io.Discard, &errs); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"apikey", "create", "--db", db, "--name", "pos"}, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out.String())
	if !strings.HasPrefix(key, "tender_sk_") || strings.Contains(key, "\n") {
		t.Fatalf("apikey create printed %q; want the key alone", out.String())
	}
	if strings.Contains(errs.String(), key) {
		t.Fatal("the key was also printed to stderr")
	}
}
