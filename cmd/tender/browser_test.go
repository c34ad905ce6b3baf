package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// scenarioLimit bounds each browser scenario. It is generous: it only turns
// a hang into a failure with diagnostics, and says nothing about speed.
const scenarioLimit = 60 * time.Second

// TestTrustPaymentsInBrowser proves the issue's requirement "in sandbox mode a
// user can pay by card from `tender serve` in a browser": headless Chromium
// opens Tender's hosted checkout, the simulator's st.js takes the card and
// talks to the simulated gateway, and the shopper lands on Tender's result
// page and back at the shop. Nothing between the browser and Tender is
// mocked. Without Chromium the test skips, unless TENDER_REQUIRE_BROWSER=1
// (CI) makes that a failure.
func TestTrustPaymentsInBrowser(t *testing.T) {
	exe := findChromium(t)
	p := startTender(t)
	shop := startShop(t)
	b := startBrowser(t, exe)
	expiry := testExpiry()

	t.Run("frictionless", func(t *testing.T) {
		p := p.in(t)
		tb := b.open(t)
		id, checkout := p.createTrustPayment(1050, shop.URL+"/done")
		tb.do("open the checkout", chromedp.Navigate(checkout))
		tb.payByCard("4111 1111 1111 1111", expiry, "123")
		tb.do("wait to be sent back to the shop", chromedp.WaitVisible(chromedp.ID("shop-return")))

		loc := tb.location()
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, shop.URL+"/done?") {
			t.Fatalf("the browser ended at %s, want the shop's return_url %s/done", loc, shop.URL)
		}
		if q := u.Query(); q.Get("payment_id") != id || q.Get("status") != "captured" {
			t.Errorf("returned to the shop with %q, want payment_id=%s&status=captured", u.RawQuery, id)
		}
		if hits := shop.returns(); len(hits) != 1 || hits[0].Get("payment_id") != id || hits[0].Get("status") != "captured" {
			t.Errorf("the shop saw returns %v, want one with payment_id=%s and status=captured", hits, id)
		}

		got := p.waitFor(id, 30*time.Second, "captured", "failed", "canceled")
		if got["status"] != "captured" {
			t.Fatalf("the API says %v, want captured: %v", got["status"], got)
		}
		d, _ := got["details"].(map[string]any)
		if ref, _ := d["transactionreference"].(string); ref == "" {
			t.Errorf("captured payment lacks details.transactionreference: %v", d)
		}
		if d["maskedpan"] != "411111######1111" {
			t.Errorf("details.maskedpan = %v, want 411111######1111", d["maskedpan"])
		}
		events := p.mustCall("GET", "/v1/payments/"+id+"/events", "", 200)
		for what, v := range map[string]any{"payment": got, "its events": events} {
			raw, _ := json.Marshal(v)
			if strings.Contains(string(raw), "4111111111111111") || strings.Contains(string(raw), "4111 1111 1111 1111") {
				t.Errorf("the full card number is in the %s: %s", what, raw)
			}
		}
	})

	t.Run("3-D Secure challenge", func(t *testing.T) {
		p := p.in(t)
		tb := b.open(t)
		id, checkout := p.createTrustPayment(2500, "")
		tb.do("open the checkout", chromedp.Navigate(checkout))
		tb.payByCard("4000 0000 0000 1091", expiry, "123")
		tb.do("answer the 3-D Secure challenge",
			chromedp.WaitVisible(chromedp.ID("st-otp")),
			chromedp.SendKeys(chromedp.ID("st-otp"), "1234"),
			chromedp.Click(chromedp.Search(`//div[@id="st-challenge"]/button[normalize-space()="Confirm"]`)),
		)
		if st := tb.resultStatus(); st != "captured" {
			t.Errorf("the result page shows %q, want captured", st)
		}
		got := p.waitFor(id, 30*time.Second, "captured", "failed", "canceled")
		if got["status"] != "captured" {
			t.Errorf("the API says %v, want captured: %v", got["status"], got)
		}
	})

	t.Run("decline, then give up", func(t *testing.T) {
		p := p.in(t)
		tb := b.open(t)
		id, checkout := p.createTrustPayment(1051, "") // sandbox rule: amounts ending in 51 decline
		tb.do("open the checkout", chromedp.Navigate(checkout))
		tb.payByCard("4111 1111 1111 1111", expiry, "123")
		// A decline ends the attempt, not the payment: the checkout is
		// back, saying so in the shopper's words.
		tb.do("wait for the checkout again", chromedp.WaitVisible(chromedp.ID("attempt-failed")))
		if msg := tb.text("#attempt-failed"); !strings.Contains(msg, "declined") || strings.Contains(msg, "70000") {
			t.Errorf("the checkout says %q after a decline, want the shopper's words", msg)
		}
		if got := p.mustCall("GET", "/v1/payments/"+id, "", 200); got["status"] != "requires_action" {
			t.Errorf("after a decline the payment is %v, want requires_action", got["status"])
		}
		tb.do("give up", chromedp.Click(chromedp.ID("cancel")))
		if st := tb.resultStatus(); st != "canceled" {
			t.Errorf("the result page shows %q, want canceled", st)
		}
		got := p.waitFor(id, 30*time.Second, "captured", "failed", "canceled")
		if got["status"] != "canceled" {
			t.Errorf("the API says %v, want canceled: %v", got["status"], got)
		}
	})

	t.Run("declined card, then another card", func(t *testing.T) {
		p := p.in(t)
		tb := b.open(t)
		id, checkout := p.createTrustPayment(1200, "")
		tb.do("open the checkout", chromedp.Navigate(checkout))
		tb.payByCard("4000 0000 0000 0812", expiry, "123") // the simulator's declining card
		tb.do("wait for the checkout again", chromedp.WaitVisible(chromedp.ID("attempt-failed")))
		tb.payByCard("4111 1111 1111 1111", expiry, "123")
		if st := tb.resultStatus(); st != "captured" {
			t.Errorf("the result page shows %q, want captured", st)
		}
		got := p.waitFor(id, 30*time.Second, "captured", "failed", "canceled")
		if got["status"] != "captured" || got["failure"] != nil {
			t.Fatalf("the API says %v (failure %v), want captured without a failure", got["status"], got["failure"])
		}
		events := p.mustCall("GET", "/v1/payments/"+id+"/events", "", 200)
		var types []string
		var attempt map[string]any
		for _, e := range events["data"].([]any) {
			ev := e.(map[string]any)
			types = append(types, ev["type"].(string))
			if ev["type"] == "payment.attempt_failed" {
				attempt, _ = ev["data"].(map[string]any)
			}
		}
		if attempt == nil || attempt["code"] != "declined" || !slices.Contains(types, "payment.captured") {
			t.Errorf("events %v (attempt %v), want a declined attempt and the capture", types, attempt)
		}
		// The gateway holds one approved AUTH for the payment and the
		// declined one, which holds no money; the payment names the approved one.
		d, _ := got["details"].(map[string]any)
		if ref, _ := attempt["attempt_reference"].(string); ref == "" || ref == d["transactionreference"] {
			t.Errorf("attempt reference %q, payment's %v: the payment must name the approved AUTH", ref, d["transactionreference"])
		}
	})

	t.Run("card number fails Luhn", func(t *testing.T) {
		p := p.in(t)
		tb := b.open(t)
		id, checkout := p.createTrustPayment(1050, "")
		tb.do("open the checkout", chromedp.Navigate(checkout))
		tb.payByCard("4111 1111 1111 1112", expiry, "123")
		tb.do("wait for the library's message", chromedp.WaitVisible(chromedp.CSS("#st-notification-frame:not(:empty)")))
		if msg := tb.text("#st-notification-frame"); !strings.Contains(msg, "card number") {
			t.Errorf("the notification says %q, want a word about the card number", msg)
		}
		// The library disables the button just before it calls the gateway.
		if disabled := runIn(tb, "read the pay button", chromedp.JavascriptAttribute[bool](chromedp.ID("st-form__submit"), "disabled")); disabled {
			t.Error("the pay button is disabled: the library went on to pay")
		}
		if reqs := tb.posts(p.SimURL); len(reqs) > 0 {
			t.Errorf("the browser posted to the simulated gateway: %v", reqs)
		}
		if got := p.mustCall("GET", "/v1/payments/"+id, "", 200); got["status"] != "requires_action" {
			t.Errorf("the payment is %v, want requires_action", got["status"])
		}
	})
}

// in returns p with its helpers reporting to t (a subtest must not call
// FailNow on its parent).
func (p *tenderProc) in(t *testing.T) *tenderProc {
	c := *p
	c.t = t
	return &c
}

// createTrustPayment creates a sandbox Trust Payments payment and returns its
// id and the hosted checkout a shopper is sent to.
func (p *tenderProc) createTrustPayment(amount int64, returnURL string) (id, checkout string) {
	p.t.Helper()
	req := map[string]any{"amount": amount, "currency": "GBP", "connector": "trustpayments"}
	if returnURL != "" {
		req["return_url"] = returnURL
	}
	body, _ := json.Marshal(req)
	created := p.mustCall("POST", "/v1/payments", string(body), 201)
	id, _ = created["id"].(string)
	na, _ := created["next_action"].(map[string]any)
	checkout, _ = na["url"].(string)
	if created["status"] != "requires_action" || checkout != p.URL+"/pay/"+id {
		p.t.Fatalf("created %v, want requires_action with next_action.url %s/pay/%s", created, p.URL, id)
	}
	return id, checkout
}

// findChromium returns the browser to drive: $TENDER_CHROMIUM, else the
// first of chromium, chromium-browser and google-chrome on PATH.
func findChromium(t *testing.T) string {
	t.Helper()
	if name := os.Getenv("TENDER_CHROMIUM"); name != "" {
		exe, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("TENDER_CHROMIUM=%s: %v", name, err)
		}
		return exe
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if exe, err := exec.LookPath(name); err == nil {
			return exe
		}
	}
	const msg = "no Chromium to test paying in a browser: install chromium, or set TENDER_CHROMIUM to the browser's path"
	if os.Getenv("TENDER_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (TENDER_REQUIRE_BROWSER=1 forbids skipping)")
	}
	t.Skip(msg)
	return ""
}

// shop is the merchant's site: it records the shoppers Tender sends back
// to its return_url.
type shop struct {
	*httptest.Server
	mu   sync.Mutex
	hits []url.Values
}

func startShop(t *testing.T) *shop {
	s := &shop{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/done" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.hits = append(s.hits, r.URL.Query())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Shop</title><main id="shop-return">Thank you for your order.</main>`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shop) returns() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.hits...)
}

// browser is one headless Chromium shared by the scenarios.
type browser struct {
	ctx    context.Context
	output *syncBuffer // the browser's own stdout and stderr
}

func startBrowser(t *testing.T, exe string) *browser {
	t.Helper()
	b := &browser{output: &syncBuffer{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoSandbox, // the test may run as root (CI, containers), where Chromium's sandbox refuses to start
		chromedp.NoFirstRun,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.CombinedOutput(b.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		if t.Failed() {
			t.Logf("Chromium's output:\n%s", b.output.String())
		}
	})
	// The first action starts the browser and binds it to ctx, so it runs
	// without a deadline of its own; the select bounds it instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v\n%s", exe, err, b.output.String())
		}
	case <-time.After(scenarioLimit):
		t.Fatalf("%s did not start within %s\n%s", exe, scenarioLimit, b.output.String())
	}
	b.ctx = ctx
	return b
}

// tab is one scenario's tab, in a browser context of its own (no shared
// cookies or cache). It records the page's uncaught exceptions and console
// errors, and the requests it makes.
type tab struct {
	t    *testing.T
	base context.Context // the tab itself
	ctx  context.Context // base with the scenario's time limit

	mu       sync.Mutex
	page     string // the URL of the main frame's document
	problems []string
	requests []string
}

// open opens a tab for t's scenario. When t ends, JavaScript errors fail it,
// and a failure logs the page's HTML and saves a screenshot.
func (b *browser) open(t *testing.T) *tab {
	t.Helper()
	tb := &tab{t: t}
	base, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	t.Cleanup(cancel)
	if err := chromedp.Do(base); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancelLimit := context.WithTimeout(base, scenarioLimit)
	t.Cleanup(cancelLimit)
	tb.base, tb.ctx = base, ctx
	t.Cleanup(tb.diagnose) // runs after the check below
	t.Cleanup(tb.checkProblems)
	return tb
}

// listen runs on the tab's event loop, in the order the events come.
func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			tb.page = ev.Frame.URL
		}
	case *runtime.EventExceptionThrown:
		tb.problems = append(tb.problems, fmt.Sprintf("uncaught exception on %s: %s", tb.page, exceptionText(ev.ExceptionDetails)))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, remoteText(a))
			}
			tb.problems = append(tb.problems, fmt.Sprintf("console.%s on %s: %s", ev.Type, tb.page, strings.Join(args, " ")))
		}
	case *log.EventEntryAdded:
		// The browser's own errors: failed loads, CORS refusals and the like.
		// Chromium also asks every site for /favicon.ico by itself; that no
		// page links to one is no error of the page.
		if ev.Entry.Level == log.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
			tb.problems = append(tb.problems, fmt.Sprintf("browser error (%s) on %s: %s %s", ev.Entry.Source, tb.page, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		tb.requests = append(tb.requests, ev.Request.Method+" "+ev.Request.URL)
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "?"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		s += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", s, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	return o.Description
}

func (tb *tab) checkProblems() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Error(p)
	}
}

// posts returns the POST requests the tab made to URLs starting with prefix.
func (tb *tab) posts(prefix string) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, r := range tb.requests {
		if strings.HasPrefix(r, "POST "+prefix) {
			out = append(out, r)
		}
	}
	return out
}

// diagnose logs where a failed scenario's tab is, its HTML, and saves a
// screenshot. `go test -artifacts` keeps the screenshot after the run.
func (tb *tab) diagnose() {
	t := tb.t
	if !t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(tb.base, 10*time.Second)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		t.Logf("the tab is at %s", loc)
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		t.Logf("the page's HTML:\n%s", html)
	} else {
		t.Logf("could not read the page's HTML: %v", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("could not take a screenshot: %v", err)
		return
	}
	path := filepath.Join(t.ArtifactDir(), "screenshot.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("could not save the screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// do runs steps in the tab, failing the scenario with what it was doing.
func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// runIn runs one action and returns its value.
func runIn[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (tb *tab) location() string {
	tb.t.Helper()
	return runIn(tb, "read the location", chromedp.Location())
}

func (tb *tab) text(css string) string {
	tb.t.Helper()
	return runIn(tb, "read "+css, chromedp.Text(chromedp.CSS(css)))
}

// payByCard types a card into the hosted checkout, as a shopper does, and
// presses Pay.
func (tb *tab) payByCard(pan, expiry, cvv string) {
	tb.t.Helper()
	tb.do("pay by card",
		chromedp.WaitVisible(chromedp.ID("st-card-number-input")),
		chromedp.SendKeys(chromedp.ID("st-card-number-input"), pan),
		chromedp.SendKeys(chromedp.ID("st-expiration-date-input"), expiry),
		chromedp.SendKeys(chromedp.ID("st-security-code-input"), cvv),
		chromedp.Click(chromedp.ID("st-form__submit")),
	)
}

// settledResult matches Tender's result page once it shows an outcome; while
// the outcome is awaited the page refreshes itself.
const settledResult = `main#payment:not([data-status="pending"]):not([data-status="processing"]):not([data-status="unknown"])`

// resultStatus waits for Tender's result page to show an outcome and returns
// it.
func (tb *tab) resultStatus() string {
	tb.t.Helper()
	tb.do("wait for the result page", chromedp.WaitVisible(chromedp.CSS(settledResult)))
	return runIn(tb, "read the result", chromedp.AttributeValue(chromedp.CSS("#payment"), "data-status")).Value
}
