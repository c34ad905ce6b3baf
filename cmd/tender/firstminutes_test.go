package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	curlURL    = regexp.MustCompile(`curl -s "?([^"\s]+)"?`)
	curlHeader = regexp.MustCompile(`-H ['"]([^'"]+)['"]`)
	curlData   = regexp.MustCompile(`(?s)-d '([^']*)'`)
)

// runCurls makes the POST requests of the curl commands in text against
// p (localhost:8080 and $KEY replaced by p's), expecting 201 for each.
func runCurls(t *testing.T, p *tenderProc, text string) int {
	t.Helper()
	n := 0
	for _, cmd := range strings.Split(text, "curl -s ")[1:] {
		cmd = "curl -s " + cmd
		data := curlData.FindStringSubmatch(cmd)
		if data == nil {
			continue // a GET with a placeholder id
		}
		u := curlURL.FindStringSubmatch(cmd)[1]
		u = strings.Replace(u, "localhost:8080", strings.TrimPrefix(p.URL, "http://"), 1)
		if !strings.HasPrefix(u, "http") {
			u = "http://" + u
		}
		req, _ := http.NewRequest("POST", u, strings.NewReader(data[1]))
		for _, h := range curlHeader.FindAllStringSubmatch(cmd, -1) {
			k, v, _ := strings.Cut(h[1], ": ")
			req.Header.Set(k, strings.ReplaceAll(v, "$KEY", p.Key))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Errorf("%s\n→ %d %s", cmd, res.StatusCode, b)
		}
		n++
	}
	return n
}

// TestServePrintedExamplesWork: what tender serve prints to try works as
// printed.
func TestServePrintedExamplesWork(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	out := p.Out()
	if n := runCurls(t, p, out); n != 1 {
		t.Fatalf("%d curl examples in:\n%s", n, out)
	}
	i := strings.Index(out, "tender pay ")
	if i < 0 {
		t.Fatalf("no tender pay example:\n%s", out)
	}
	args := strings.Fields(strings.SplitN(out[i:], "\n", 2)[0])[1:]
	args = append(args, "--terminal", "sepay-term-2") // the first one may still be busy
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("%q: %v\n%s%s", args, err, stdout.String(), stderr.String())
	}
}

// TestReadmeExamplesWork runs every request of README's "Take a payment
// in a minute" against a real tender serve: one per provider.
func TestReadmeExamplesWork(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "## Take a payment in a minute")
	block := s[start:]
	block = block[strings.Index(block, "```sh")+5:]
	block = block[:strings.Index(block, "```")]
	for _, want := range []string{"sepay-term-1", "epay-term-1", `"invoice"`, `"connector": "trustpayments"`, `"connector": "computop"`} {
		if !strings.Contains(block, want) {
			t.Errorf("README's first example lacks %s", want)
		}
	}
	p := startTender(t)
	if n := runCurls(t, p, block); n != 4 {
		t.Fatalf("%d POST examples in README, want one per provider", n)
	}
}

// TestHelpAndUsageExitCodes: --help exits 0, usage errors exit 2.
func TestHelpAndUsageExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0}, {[]string{"help"}, 0}, {nil, 0},
		{[]string{"serve", "--help"}, 0}, {[]string{"sim", "-h"}, 0}, {[]string{"migrate", "--help"}, 0},
		{[]string{"apikey", "--help"}, 0}, {[]string{"payments", "--help"}, 0}, {[]string{"sepay", "--help"}, 0},
		{[]string{"computop", "mac", "--help"}, 0}, {[]string{"sepay", "keygen", "-h"}, 0},
		{[]string{"frobnicate"}, 2}, {[]string{"serve", "--nonsense"}, 2}, {[]string{"serve", "extra"}, 2},
		{[]string{"apikey"}, 2}, {[]string{"apikey", "create", "--bogus"}, 2},
		{[]string{"sepay"}, 2}, {[]string{"sepay", "keygen"}, 2}, {[]string{"computop", "mac"}, 2},
		{[]string{"trustpayments", "jwt", "sign"}, 2}, {[]string{"epay", "apikey"}, 2},
	} {
		var out, errs bytes.Buffer
		err := run(context.Background(), tt.args, func(string) string { return "" }, &out, &errs)
		if got := exitCode(err, io.Discard); got != tt.code {
			t.Errorf("tender %q: exit %d (%v), want %d", tt.args, got, err, tt.code)
		}
	}
}

// TestBooleanEnvironment: 1/true/yes and 0/false/no, nothing else.
func TestBooleanEnvironment(t *testing.T) {
	for v, want := range map[string]bool{"": true, "1": true, "true": true, "YES": true, "0": false, "false": false, "No": false} {
		got, err := envBool(func(string) string { return v }, "TENDER_SANDBOX", true)
		if err != nil || got != want {
			t.Errorf("TENDER_SANDBOX=%q: %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"off", "2", "on", "y"} {
		if _, err := envBool(func(string) string { return v }, "TENDER_SANDBOX", true); exitCode(err, io.Discard) != 2 {
			t.Errorf("TENDER_SANDBOX=%q accepted: %v", v, err)
		}
	}
	// And serve refuses to start on one.
	err := run(context.Background(), []string{"serve"}, func(k string) string {
		if k == "TENDER_SANDBOX" {
			return "off"
		}
		return ""
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TENDER_SANDBOX") {
		t.Fatalf("serve with TENDER_SANDBOX=off: %v", err)
	}
}

// TestAPIKeyCreateNeedsADatabase: no empty database is made by
// tender apikey create.
func TestAPIKeyCreateNeedsADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"apikey", "create", "--db", "sqlite:" + path}, func(string) string { return "" }, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("apikey create on a missing database: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the database was created: %v", err)
	}
	// An existing one works.
	if err := run(context.Background(), []string{"migrate", "--db", "sqlite:" + path}, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"apikey", "create", "--db", "sqlite:" + path}, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatal(err)
	}
}
