package faults

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestProxyFaults checks that each fault really happens: what the client
// sees, and whether the request reached the server.
func TestProxyFaults(t *testing.T) {
	var hits atomic.Int64
	body := strings.Repeat("x", 4000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "http://")

	for _, tc := range []struct {
		name    string
		cfg     Config
		reached bool
		check   func(t *testing.T, res *http.Response, err error, took time.Duration)
	}{
		{"none", Config{}, true, func(t *testing.T, res *http.Response, err error, _ time.Duration) {
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(res.Body); string(b) != body {
				t.Fatalf("body %d bytes, want %d", len(b), len(body))
			}
		}},
		{"drop-request", Config{DropRequest: 1}, false, func(t *testing.T, _ *http.Response, err error, _ time.Duration) {
			if err == nil {
				t.Fatal("got an answer")
			}
		}},
		{"drop-response", Config{DropResponse: 1}, true, func(t *testing.T, _ *http.Response, err error, _ time.Duration) {
			if err == nil {
				t.Fatal("got an answer")
			}
		}},
		{"delay", Config{Delay: 1, MinDelay: 300 * time.Millisecond, MaxDelay: 400 * time.Millisecond}, true,
			func(t *testing.T, res *http.Response, err error, took time.Duration) {
				if err != nil {
					t.Fatal(err)
				}
				if took < 300*time.Millisecond {
					t.Fatalf("answered after %s, want ≥ 300ms", took)
				}
				if b, _ := io.ReadAll(res.Body); string(b) != body {
					t.Fatalf("body %d bytes, want %d", len(b), len(body))
				}
			}},
		{"reset", Config{Reset: 1}, true, func(t *testing.T, res *http.Response, err error, _ time.Duration) {
			if err == nil {
				_, err = io.ReadAll(res.Body)
			}
			if err == nil {
				t.Fatal("read the whole answer")
			}
			if !errors.Is(err, syscall.ECONNRESET) && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("error %v, want a reset", err)
			}
		}},
		{"garbage", Config{Garbage: 1}, true, func(t *testing.T, res *http.Response, err error, _ time.Duration) {
			if err != nil {
				return // random bytes: not HTTP at all
			}
			b, _ := io.ReadAll(res.Body)
			if string(b) == body {
				t.Fatal("got the server's answer")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewProxy(target, tc.cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for range 4 {
				before := hits.Load()
				start := time.Now()
				res, err := client.Get(p.URL())
				tc.check(t, res, err, time.Since(start))
				if res != nil {
					res.Body.Close()
				}
				// The server may see the request a moment after the
				// proxy gave up on the client.
				deadline := time.Now().Add(time.Second)
				for tc.reached && hits.Load() == before && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if got := hits.Load() > before; got != tc.reached {
					t.Fatalf("request reached the server: %v, want %v", got, tc.reached)
				}
			}
			name := tc.name
			if c := p.Counts(); c[faultByName(name)] != 4 {
				t.Fatalf("counts %v, want 4 of %s", c, name)
			}
		})
	}
}

// TestProxyKeepAlive checks that faults are decided per request on a
// kept-alive connection, and that a mix of faults is a mix.
func TestProxyKeepAlive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	p, err := NewProxy(strings.TrimPrefix(srv.URL, "http://"), Config{DropResponse: 0.2, Reset: 0.2, Garbage: 0.2}, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	var ok, failed int
	for range 100 {
		res, err := client.Get(p.URL())
		if err == nil {
			b, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			if rerr == nil && string(b) == "ok" {
				ok++
				continue
			}
		}
		failed++
	}
	if ok < 20 || failed < 40 {
		t.Fatalf("%d answered, %d failed; counts %v", ok, failed, p.Counts())
	}
	p.SetConfig(Config{})
	for range 10 {
		res, err := client.Get(p.URL())
		if err != nil {
			t.Fatalf("faults off: %v", err)
		}
		res.Body.Close()
	}
}

func faultByName(s string) Fault {
	for f := range numFaults {
		if f.String() == s {
			return f
		}
	}
	return -1
}
