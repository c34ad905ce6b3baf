package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestTerminalStateThroughAPI: a Sepay terminal is busy with its payment
// while the simulated terminal works on it; a long-poll of the terminal
// answers when the payment ends, idle, with the time Tender last heard
// from Sepay; the CLI lists the state.
func TestTerminalStateThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	term := p.mustCall("GET", "/v1/terminals/sepay-term-1", "", 200)
	if term["state"] != "idle" || term["payment"] != nil || term["last_seen_at"] != nil {
		t.Fatalf("a terminal before any payment: %v", term)
	}
	id := p.mustCall("POST", "/v1/payments", `{"amount":1000,"currency":"EUR","terminal":"sepay-term-1"}`, 201)["id"].(string)
	term = p.mustCall("GET", "/v1/terminals/sepay-term-1", "", 200)
	if term["state"] != "busy" || term["payment"] != id || term["last_seen_at"] == nil {
		t.Fatalf("a terminal with a processing payment: %v", term)
	}
	if other := p.mustCall("GET", "/v1/terminals/sepay-term-2", "", 200); other["state"] != "idle" {
		t.Errorf("the other terminal: %v", other)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"terminals", "list", "--url", p.URL, "--key", p.Key}, func(string) string { return "" }, &out, &out)
	if line := lineWith(out.String(), "sepay-term-1"); err != nil || !strings.Contains(line, "busy") || !strings.Contains(line, id) {
		t.Errorf("terminals list: %v\n%s", err, out.String())
	}
	deadline := time.Now().Add(90 * time.Second)
	for term["state"] == "busy" && time.Now().Before(deadline) {
		term = p.mustCall("GET", "/v1/terminals/sepay-term-1?wait=30s", "", 200)
	}
	if term["state"] != "idle" || term["payment"] != nil {
		t.Fatalf("after the payment: %v", term)
	}
	if pay := p.mustCall("GET", "/v1/payments/"+id, "", 200); pay["status"] != "captured" {
		t.Errorf("the payment ended %v", pay["status"])
	}
	seen, err2 := time.Parse(time.RFC3339Nano, term["last_seen_at"].(string))
	if err2 != nil || time.Since(seen) > time.Minute {
		t.Errorf("last_seen_at %v (%v)", term["last_seen_at"], err2)
	}
}

func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
