package main

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestPageSecurityHeaders: Tender's hosted checkout and its result page send
// a Content-Security-Policy that lets scripts run only from Tender and the
// provider library's host (plus the page's own inline start-up, by hash),
// forbid framing, and turn off content sniffing. Every inline script the
// checkout has is one the policy names.
func TestPageSecurityHeaders(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	id, _ := trustCheckout(t, p, `{"amount":1050,"currency":"GBP","connector":"trustpayments"}`)
	res, err := http.Get(p.URL + "/pay/" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	script := directive(csp, "script-src")
	lib := regexp.MustCompile(`<script src="([^"]+)"`).FindStringSubmatch(string(body))
	if lib == nil {
		t.Fatalf("the checkout loads no library: %s", body)
	}
	u, _ := url.Parse(lib[1])
	want := []string{"'self'", u.Scheme + "://" + u.Host}
	for _, m := range regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(string(body), -1) {
		sum := sha256.Sum256([]byte(m[1]))
		want = append(want, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	if len(want) < 3 || strings.Join(script, " ") != strings.Join(want, " ") {
		t.Errorf("script-src %v, want exactly %v", script, want)
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(strings.Join(script, " "), "unsafe-inline") {
		t.Errorf("CSP allows inline or eval'd scripts: %s", csp)
	}
	checkFraming(t, "checkout", res.Header)

	// The result page, once the payment is over.
	p.mustCall("POST", "/v1/payments/"+id+"/cancel", `{}`, 200)
	res, err = http.Get(p.URL + "/pay/" + id)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := directive(res.Header.Get("Content-Security-Policy"), "script-src"); strings.Join(got, " ") != "'self'" {
		t.Errorf("result page script-src %v, want 'self' only", got)
	}
	checkFraming(t, "result page", res.Header)
}

func checkFraming(t *testing.T, page string, h http.Header) {
	t.Helper()
	if got := directive(h.Get("Content-Security-Policy"), "frame-ancestors"); strings.Join(got, " ") != "'none'" {
		t.Errorf("%s: frame-ancestors %v, want 'none'", page, got)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q", page, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
	}
}

// directive returns the sources of one CSP directive.
func directive(csp, name string) []string {
	for _, d := range strings.Split(csp, ";") {
		f := strings.Fields(d)
		if len(f) > 0 && f[0] == name {
			return f[1:]
		}
	}
	return nil
}

// TestMetricsOnOwnListener: with --metrics-addr, /metrics is served there
// and not on the public listener.
func TestMetricsOnOwnListener(t *testing.T) {
	t.Parallel()
	p := startTender(t, "--metrics-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`Metrics: (http://\S+/metrics)`).FindStringSubmatch(p.Out())
	if m == nil {
		t.Fatalf("tender serve printed no metrics address:\n%s", p.Out())
	}
	res, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "tender_http_requests_total") && !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("metrics listener: %d %.200s", res.StatusCode, body)
	}
	res, err = http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("/metrics on the public listener: HTTP %d, want 404", res.StatusCode)
	}
}
