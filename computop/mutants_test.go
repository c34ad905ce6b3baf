package computop_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
)

// Tests that pin the edges mutation testing found unpinned (MUTANTS.md).

// pending stores a payment as the engine does before its Start answer is
// stored: Paygate does not know it.
func (h *harness) pending(amount int64) *tender.Payment {
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: amount, Currency: "EUR", Status: tender.StatusPending,
		Connector: "computop", Account: h.acct.ID, CaptureMode: tender.CaptureAutomatic, Input: billing,
		CreatedAt: h.clock.Now(), OperationID: "create-" + h.t.Name()}
	h.mu.Lock()
	h.payments[p.ID] = p
	h.mu.Unlock()
	return h.get(p.ID)
}

// A capture in doubt is decided at the exact edges: found when Paygate's
// total holds it exactly, capturing exactly the rest closes the payment,
// and a capture of exactly what is left is still pending (one cent more
// has failed).
func TestCheckCaptureAtItsEdges(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.start(2000, tender.CaptureManual)
	h.shopper(p, "approve")
	if out, _ := h.check(h.get(p.ID), "cap-all", 2000); out != tender.OpPending {
		t.Fatalf("a capture of all, none on record: %s", out)
	}
	restore := h.loseAnswers("/capture.aspx")
	_, err := h.conn.Capture(ctx, h.op(h.get(p.ID), "cap-1", 800))
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture with a lost answer: %v", err)
	}
	if out, u := h.check(h.get(p.ID), "cap-1", 800); out != tender.OpSucceeded || u.Status != tender.StatusPartiallyCaptured {
		t.Fatalf("a capture Paygate holds exactly: %s %+v", out, u)
	}
	h.book(p.ID, 800)
	if out, _ := h.check(h.get(p.ID), "cap-2", 1200); out != tender.OpPending {
		t.Fatalf("a capture of exactly what is left: %s", out)
	}
	if out, _ := h.check(h.get(p.ID), "cap-2", 1201); out != tender.OpFailed {
		t.Fatalf("a capture of one cent more than is left: %s", out)
	}
	restore = h.loseAnswers("/capture.aspx")
	_, err = h.conn.Capture(ctx, h.op(h.get(p.ID), "cap-2", 1200))
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("capture with a lost answer: %v", err)
	}
	if out, u := h.check(h.get(p.ID), "cap-2", 1200); out != tender.OpSucceeded || u.Status != tender.StatusCaptured {
		t.Fatalf("the capture of the rest: %s %+v", out, u)
	}
	if e := h.ledger(p.ID); e.AmountCap != 2000 {
		t.Fatalf("ledger %+v", e)
	}
}

// A capture in doubt on a payment Paygate has cancelled has failed.
func TestCheckCaptureOfCanceledPayment(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(2000, tender.CaptureManual)
	h.shopper(p, "approve")
	if _, err := h.conn.Cancel(context.Background(), h.op(h.get(p.ID), "cancel-1", 0)); err != nil {
		t.Fatal(err)
	}
	if out, _ := h.check(h.get(p.ID), "cap-1", 100); out != tender.OpFailed {
		t.Fatalf("a capture after the cancel: %s", out)
	}
}

// A refund in doubt, at the exact edges: found when Paygate's credited
// total holds it exactly; a refund of exactly what is left is pending,
// one cent more has failed.
func TestCheckRefundAtItsEdges(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.captured(2000)
	check := func(opID string, amount int64) tender.OpOutcome {
		t.Helper()
		out, _, err := h.conn.CheckOperation(ctx, tender.OpRefund, h.op(h.get(p.ID), opID, amount))
		if err != nil {
			t.Fatalf("check %s: %v", opID, err)
		}
		return out
	}
	if out := check("ref-all", 2000); out != tender.OpPending {
		t.Fatalf("a refund of all, none on record: %s", out)
	}
	if out := check("ref-all", 2001); out != tender.OpFailed {
		t.Fatalf("a refund of more than was captured: %s", out)
	}
	restore := h.loseAnswers("/credit.aspx")
	_, err := h.conn.Refund(ctx, h.op(h.get(p.ID), "ref-1", 700))
	restore()
	if tender.ErrorCodeOf(err) != tender.EUnavailable {
		t.Fatalf("refund with a lost answer: %v", err)
	}
	if out := check("ref-1", 700); out != tender.OpSucceeded {
		t.Fatalf("a refund Paygate holds exactly: %s", out)
	}
	h.bookRefund(p.ID, 700)
	if out := check("ref-2", 1300); out != tender.OpPending {
		t.Fatalf("a refund of exactly what is left: %s", out)
	}
	if out := check("ref-2", 1301); out != tender.OpFailed {
		t.Fatalf("a refund of one cent more than is left: %s", out)
	}
}

// A refund of what is left, and of one cent, is sent; one cent more or
// nothing is refused by Tender before anything is sent.
func TestRefundAmountBounds(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.captured(2000)
	for _, amount := range []int64{0, 2001} {
		before := h.s2s.Load()
		if _, err := h.refund(p.ID, "ref-bad", amount); tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Fatalf("refund of %d: %v", amount, err)
		}
		if h.s2s.Load() != before {
			t.Fatalf("refund of %d was sent", amount)
		}
	}
	if _, err := h.refund(p.ID, "ref-1", 1); err != nil {
		t.Fatalf("refund of one cent: %v", err)
	}
	if _, err := h.refund(p.ID, "ref-2", 1999); err != nil {
		t.Fatalf("refund of the rest: %v", err)
	}
	if e := h.ledger(p.ID); e.AmountCred != 2000 {
		t.Fatalf("ledger %+v", e)
	}
}

// Status of a payment Paygate never saw: its redirect is given again
// until the abandon deadline, and at the deadline exactly it is expired.
func TestNeverStartedAbandonedAtTheDeadline(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.pending(1700)
	h.clock.Add(computop.AbandonAfter - time.Nanosecond)
	u, err := h.conn.Status(ctx, h.op(h.get(p.ID), "status", 0))
	if err != nil || u.Status != tender.StatusRequiresAction || u.NextAction == nil || !strings.Contains(u.Note, "issued by Status") {
		t.Fatalf("just before the deadline: %+v %v", u, err)
	}
	h.clock.Add(time.Nanosecond)
	u, err = h.conn.Status(ctx, h.op(h.get(p.ID), "status", 0))
	if err != nil || u.Status != tender.StatusCanceled || u.Failure == nil || u.Failure.Code != tender.FailExpired {
		t.Fatalf("at the deadline: %+v %v", u, err)
	}
}

// The payment's amount bounds: the account's minimum and 10 digits are
// accepted, one cent outside is not; and a payment is checked at all.
func TestPaymentAmountBounds(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	acct := *h.acct
	acct.Settings = map[string]string{}
	for k, v := range h.acct.Settings {
		acct.Settings[k] = v
	}
	acct.Settings["min_amount"] = "150"
	pay := func(amount int64, currency string) *tender.Payment {
		return &tender.Payment{ID: tender.NewID("pay"), Amount: amount, Currency: currency, Status: tender.StatusPending,
			Connector: "computop", Account: acct.ID, CaptureMode: tender.CaptureAutomatic, Input: billing,
			CreatedAt: h.clock.Now(), OperationID: "create"}
	}
	for _, c := range []struct {
		amount   int64
		currency string
		ok       bool
	}{{150, "EUR", true}, {149, "EUR", false}, {9999999999, "EUR", true}, {10000000000, "EUR", false}, {500, "USD", false}} {
		err := h.conn.ValidatePayment(pay(c.amount, c.currency), &acct, nil)
		if (err == nil) != c.ok {
			t.Errorf("%d %s: %v", c.amount, c.currency, err)
		}
	}
}

// A live account's callback URL must be https on port 443.
func TestLiveCallbackURL(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	acct := *h.acct
	acct.Environment = tender.EnvLive
	acct.Settings = map[string]string{}
	for k, v := range h.acct.Settings {
		acct.Settings[k] = v
	}
	acct.Settings["base_url"] = "https://paygate.invalid"
	p := h.pending(1800)
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://tender.example/callbacks/computop/cp1", true},
		{"https://tender.example:443/callbacks/computop/cp1", true},
		{"https://tender.example:8443/callbacks/computop/cp1", false},
		{"http://tender.example/callbacks/computop/cp1", false},
	} {
		op := h.op(p, "create", 0)
		op.Account = &acct
		op.CallbackURL = c.url
		_, err := h.conn.Start(context.Background(), op)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.url, err)
		}
	}
}

// A request too long for a GET URL is posted by Tender's page, which
// CheckoutPage serves; a short one is not.
func TestLongRequestUsesTheCheckoutPage(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.pending(1900)
	op := h.op(p, "create", 0)
	u, err := h.conn.Start(ctx, op)
	if err != nil || !strings.Contains(u.NextAction.URL, "/WERO.aspx?") {
		t.Fatalf("short request: %+v %v", u, err)
	}
	op.PageURL = ""
	if u, err := h.conn.Start(ctx, op); err != nil || !strings.Contains(u.NextAction.URL, "/WERO.aspx?") {
		t.Fatalf("short request, no page: %+v %v", u, err)
	}
	ctype, page, err := h.conn.CheckoutPage(ctx, h.op(p, "create", 0))
	if err != nil || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(string(page), `name="Data"`) {
		t.Fatalf("checkout page: %q %s %v", ctype, page, err)
	}
}

// The GET URL is kept up to maxGetURL (2000) characters exactly, and one
// character more sends the shopper to Tender's page; without a page the GET
// URL is kept whatever its length. (The base_url's path pads the URL one
// character at a time: Start sends nothing.)
func TestGetURLLengthEdge(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.pending(1900)
	p.Description = strings.Repeat("x", 768)
	start := func(pad int, page string) string {
		t.Helper()
		acct := *h.acct
		acct.Settings = map[string]string{}
		for k, v := range h.acct.Settings {
			acct.Settings[k] = v
		}
		acct.Settings["base_url"] = h.simSrv.URL + "/" + strings.Repeat("p", pad)
		op := h.op(p, "create", 0)
		op.Account, op.PageURL = &acct, page
		u, err := h.conn.Start(ctx, op)
		if err != nil {
			t.Fatal(err)
		}
		return u.NextAction.URL
	}
	long := start(1, "")
	if len(long) <= 2000 || !strings.Contains(long, "/WERO.aspx?") {
		t.Fatalf("a long request without a page: %d %q", len(long), long)
	}
	if got := start(1, "https://tender.example/pay/x"); got != "https://tender.example/pay/x" {
		t.Fatalf("a long request: %q", got)
	}
	p.Description = strings.Repeat("x", 300)
	n := len(start(1, ""))
	if n > 2000 {
		t.Fatalf("the shorter request is %d long", n)
	}
	pad := 1 + 2000 - n
	if got := start(pad, "https://tender.example/pay/x"); len(got) != 2000 || !strings.Contains(got, "/WERO.aspx?") {
		t.Fatalf("a request of exactly 2000: %d %q", len(got), got)
	}
	if got := start(pad+1, "https://tender.example/pay/x"); got != "https://tender.example/pay/x" {
		t.Fatalf("a request of 2001: %q", got)
	}
}

type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// The HTTP client given in Options is the one Paygate is called through.
func TestOptionsHTTPClientIsUsed(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	p := h.start(2100, tender.CaptureAutomatic)
	rt := &countingTransport{}
	conn := computop.New(computop.Options{HTTPClient: &http.Client{Transport: rt}, Clock: h.clock, Timeout: 2 * time.Second})
	if _, err := conn.Status(context.Background(), h.op(h.get(p.ID), "", 0)); err != nil {
		t.Fatal(err)
	}
	if rt.n.Load() == 0 {
		t.Fatal("the inquiry did not go through the given client")
	}
}

// FormValue prefers the key as spelled, matches another case otherwise, and
// never takes a key without a value.
func TestFormValue(t *testing.T) {
	for i := 0; i < 32; i++ { // map order varies: a wrong preference shows
		if v, ok := computop.FormValue(url.Values{"Data": {"a"}, "DATA": {"b"}, "data": {"c"}}, "Data"); !ok || v != "a" {
			t.Fatalf("exact key: %q %v", v, ok)
		}
	}
	if v, ok := computop.FormValue(url.Values{"data": {"c"}}, "Data"); !ok || v != "c" {
		t.Fatalf("other case: %q %v", v, ok)
	}
	if v, ok := computop.FormValue(url.Values{"Data": {}, "data": {}}, "Data"); ok {
		t.Fatalf("keys without values: %q", v)
	}
	if v, ok := computop.FormValue(url.Values{"Data": {}, "DATA": {"b"}}, "Data"); !ok || v != "b" {
		t.Fatalf("exact key without a value: %q %v", v, ok)
	}
}

// An error Paygate raises before decryption comes in clear: it is read
// (never a success), its MerchantID kept; a body with neither Data nor
// Code is malformed.
func TestActionResultInClear(t *testing.T) {
	c, err := computop.NewCipher(computop.Blowfish, []byte(testBF))
	if err != nil {
		t.Fatal(err)
	}
	m := &computop.Merchant{ID: testMID, Cipher: c, HMACKey: []byte(testHMAC)}
	r, err := m.OpenActionResult("MerchantID="+testMID+"&Status=FAILED&Description=bad&Code=21000001", &computop.SpecInquire)
	if err != nil || r.OK() || r.Code != "21000001" || r.MID != testMID {
		t.Fatalf("an error in clear: %+v %v", r, err)
	}
	if _, err := m.OpenActionResult("MerchantID="+testMID+"&Status=FAILED", &computop.SpecInquire); !errors.Is(err, computop.ErrMalformed) {
		t.Fatalf("neither Data nor Code: %v", err)
	}
}

// A refusal needs only its Code; a success missing a field is malformed.
func TestActionResultRefusalNeedsOnlyItsCode(t *testing.T) {
	c, err := computop.NewCipher(computop.Blowfish, []byte(testBF))
	if err != nil {
		t.Fatal(err)
	}
	m := &computop.Merchant{ID: testMID, Cipher: c, HMACKey: []byte(testHMAC)}
	body := func(status, code string) string {
		var ps computop.Params
		ps.Add("mid", testMID)
		ps.Add("Status", status)
		ps.Add("Code", code)
		vs, err := m.Seal(ps)
		if err != nil {
			t.Fatal(err)
		}
		return vs.Encode()
	}
	if r, err := m.OpenActionResult(body("FAILED", "21000001"), &computop.SpecInquire); err != nil || r.OK() || r.Code != "21000001" {
		t.Fatalf("a refusal with only its Code: %+v %v", r, err)
	}
	if r, err := m.OpenActionResult(body("OK", computop.CodeOK), &computop.SpecInquire); !errors.Is(err, computop.ErrMalformed) {
		t.Fatalf("a success without its fields: %+v %v", r, err)
	}
}

// Custom pairs without a key are dropped, the others kept.
func TestCustomPairs(t *testing.T) {
	got := computop.CustomPairs("a=1|=2|b=|c")
	if len(got) != 2 || got[0] != (computop.Param{"a", "1"}) || got[1] != (computop.Param{"b", ""}) {
		t.Fatalf("%+v", got)
	}
}

// An inquiry answered for another PayID decides nothing: a Paygate (here a
// stand-in) that mixes payments up must not settle a capture in doubt.
func TestCheckInquiryForAnotherPayment(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	c, err := computop.NewCipher(computop.Blowfish, []byte(testBF))
	if err != nil {
		t.Fatal(err)
	}
	m := &computop.Merchant{ID: testMID, Cipher: c, HMACKey: []byte(testHMAC)}
	p := h.start(2000, tender.CaptureManual)
	h.shopper(p, "approve")
	p = h.get(p.ID)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ps computop.Params
		for _, kv := range [][2]string{{"mid", testMID}, {"PayID", "0123456789abcdef0123456789abcdef"}, {"TransID", p.ID},
			{"Status", computop.StatusOK}, {"Description", "success"}, {"Code", computop.CodeOK}, {"LastStatus", computop.LastCaptured},
			{"AmountAuth", "2000"}, {"AmountCap", "2000"}, {"AmountCred", "0"}, {"Currency", "EUR"}} {
			ps.Add(kv[0], kv[1])
		}
		vs, err := m.Seal(ps)
		if err != nil {
			t.Error(err)
		}
		w.Write([]byte(vs.Encode()))
	}))
	defer other.Close()
	acct := *h.acct
	acct.Settings = map[string]string{}
	for k, v := range h.acct.Settings {
		acct.Settings[k] = v
	}
	acct.Settings["base_url"] = other.URL
	op := h.op(p, "cap-1", 800)
	op.Account = &acct
	out, _, err := h.conn.CheckOperation(context.Background(), tender.OpCapture, op)
	if tender.ErrorCodeOf(err) != tender.EProvider {
		t.Fatalf("an inquiry answered for another payment: %s %v", out, err)
	}
}

// A failed result says who refused: Wero (an error code) or Paygate (a
// fatal one, the request itself was wrong).
func TestFailureMessageSaysWhoRefused(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{"21000001", "Wero declined the payment."},
		{"41000001", "Paygate refused the payment request."},
	} {
		h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
		p := h.start(5000, tender.CaptureAutomatic)
		if code := h.send("notify", forge(t, result(strings.Repeat("3", 32), p.ID, "FAILED", c.code, bindingOf(p.ID, 5000))), true); code != 200 {
			t.Fatalf("%s: HTTP %d", c.code, code)
		}
		got := h.get(p.ID)
		if got.Status != tender.StatusFailed || got.Failure == nil || got.Failure.Message != c.want || got.Failure.ProviderCode != c.code {
			t.Fatalf("%s: %s %+v", c.code, got.Status, got.Failure)
		}
	}
}
