package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// signInRe reads the sandbox's ready sign-in from tender serve's output.
var signInRe = regexp.MustCompile(`Dashboard: (http://\S+) \(sign in as (\S+) / (\S+)\)`)

// TestDashboardInBrowser drives the dashboard of a real `tender serve` in
// headless Chromium: sign in with the sandbox's printed user, see a new
// payment appear in the live list without a reload, find a payment,
// refund part of it after confirming and see the refund in its timeline.
// It saves screenshots of each main page at 1280 and 390 px wide as test
// artifacts (`go test -artifacts`).
func TestDashboardInBrowser(t *testing.T) {
	exe := findChromium(t)
	p := startTender(t)
	m := signInRe.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("tender serve printed no dashboard sign-in:\n%s", p.out.String())
	}
	dash, email, password := m[1], m[2], m[3]
	if dash != p.URL+"/dashboard/" {
		t.Errorf("dashboard at %s, want %s/dashboard/", dash, p.URL)
	}
	b := startBrowser(t, exe)
	tb := b.open(t)

	paid := p.mustCall("POST", "/v1/payments", strings.Replace(epayBody(2000, 7001), `"terminal"`, `"reference":"order-1001","terminal"`, 1), 201)
	id := paid["id"].(string)
	p.waitFor(id, 60*time.Second, "captured")

	tb.do("sign in",
		chromedp.Navigate(dash),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("rows")),
		chromedp.WaitVisible(chromedp.ID("row-"+id)),
	)

	// A payment made after the list was loaded shows up by itself.
	runIn(tb, "mark the page, to tell a reload", chromedp.Evaluate[bool](`window.notReloaded = true`))
	fresh := p.mustCall("POST", "/v1/payments", `{"amount":1500,"currency":"EUR","terminal":"sepay-term-1","reference":"order-1002"}`, 201)
	freshID := fresh["id"].(string)
	tb.do("see the new payment in the live list", chromedp.WaitVisible(chromedp.ID("row-"+freshID)))
	if still := runIn(tb, "check the page was not reloaded", chromedp.Evaluate[bool](`window.notReloaded === true`)); !still {
		t.Error("the page reloaded to show the new payment")
	}
	p.waitFor(freshID, 60*time.Second, "captured")

	tb.do("find the payment by its reference",
		chromedp.SendKeys(chromedp.ID("f-q"), "order-1001"),
		chromedp.Submit(chromedp.ID("f-q")),
		chromedp.WaitNotPresent(chromedp.ID("row-"+freshID)),
		chromedp.Click(chromedp.Search(`//a[text()="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.ID("refund-amount")),
	)
	tb.do("refund 5.00 of it",
		chromedp.SendKeys(chromedp.ID("refund-amount"), "5.00"),
		chromedp.Click(chromedp.ID("refund")),
		chromedp.WaitVisible(chromedp.ID("confirm")),
	)
	if txt := tb.text("#confirm-text"); !strings.Contains(txt, "5.00 EUR") {
		t.Errorf("the confirmation says %q, want the amount 5.00 EUR", txt)
	}
	tb.do("confirm", chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.ID("timeline")))
	if tl := tb.text("#timeline"); !strings.Contains(tl, "payment.refund_succeeded") {
		t.Errorf("the timeline lacks the refund:\n%s", tl)
	}
	if got := tb.text("#refunded"); got != "5.00 EUR" {
		t.Errorf("refunded shows %q, want 5.00 EUR", got)
	}
	if got := p.mustCall("GET", "/v1/payments/"+id, "", 200); got["status"] != "partially_refunded" || got["refunded_amount"] != float64(500) {
		t.Errorf("the API says %v refunded %v, want partially_refunded 500", got["status"], got["refunded_amount"])
	}

	dir := t.ArtifactDir()
	for _, pg := range []struct{ name, path string }{
		{"payments", "/dashboard/payments"}, {"payment", "/dashboard/payments/" + id}, {"attention", "/dashboard/attention"},
		{"terminals", "/dashboard/terminals"}, {"webhooks", "/dashboard/webhooks"}, {"reports", "/dashboard/reports"},
	} {
		for _, w := range []int64{1280, 390} {
			tb.do("open "+pg.name,
				chromedp.EmulateViewport(w, 900),
				chromedp.Navigate(p.URL+pg.path),
				chromedp.WaitVisible(chromedp.ID("main")),
			)
			png := runIn(tb, "screenshot "+pg.name, chromedp.FullScreenshot(100))
			path := filepath.Join(dir, fmt.Sprintf("dashboard-%s-%d.png", pg.name, w))
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("screenshots in %s", dir)

	tb.do("sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("signin")))
}
