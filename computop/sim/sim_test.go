package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
)

const (
	mid  = "WeroTestShop"
	bf   = "S1mulat0r-Bf-Key"
	hmac = "S1mulat0r-Hmac-Key-32-chars-long"
)

func newSim(t *testing.T, opts Options) (*Sim, *httptest.Server, *computop.Merchant) {
	s, err := New(opts, MerchantConfig{ID: mid, EncryptionKey: []byte(bf), HMACKey: []byte(hmac), PartialCaptures: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	c, _ := computop.NewCipher(computop.Blowfish, []byte(bf))
	return s, srv, &computop.Merchant{ID: mid, Cipher: c, HMACKey: []byte(hmac)}
}

// F1 of notes §11.2 with http URLs swapped for the test's policy.
const f1 = "MerchantID=WeroTestShop&TransID=ORDER-10001&RefNr=ORDER-10001&Amount=1999&Currency=EUR&MAC=8687A1630BAE29443E287077840A0DBFE3883E9AF68A616D22357CCB8261BA71&OrderDesc=Order ORDER-10001&URLSuccess=https://shop.example/computop/success&URLFailure=https://shop.example/computop/failure&URLNotify=https://shop.example/computop/notify&Response=encrypt&UserData=cart-42&ReqId=7b1f0c2e9d8a4f63&PayType=ED&ChDesc=SHOP-ORDER-10001&bdFirstName=Max&bdLastName=Mustermann&bdStreet=Hauptstrasse 1&bdCity=Berlin&bdZIP=10115&bdCountryCode=DE"

func sealed(t *testing.T, m *computop.Merchant, plain string) url.Values {
	ps, err := computop.ParseParams(plain)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := m.Seal(ps)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func get(t *testing.T, u string) (int, string) {
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWeroRequests(t *testing.T) {
	_, srv, m := newSim(t, Options{})
	// The F1 fixture, as a GET and as a POST, in any path case.
	if code, body := get(t, srv.URL+"/WERO.aspx?"+sealed(t, m, f1).Encode()); code != 200 || !strings.Contains(body, `value="approve"`) {
		t.Fatalf("F1 GET: %d %s", code, body)
	}
	resp, err := http.PostForm(srv.URL+"/wero.aspx", sealed(t, m, f1))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("F1 POST: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()

	other, _ := computop.NewCipher(computop.Blowfish, []byte("another-key"))
	for _, tc := range []struct {
		name string
		vs   url.Values
		code string
	}{
		{"bad MAC", sealed(t, m, strings.Replace(f1, "MAC=8687", "MAC=8688", 1)), "2001"},
		{"MAC over another amount", sealed(t, m, strings.Replace(f1, "Amount=1999", "Amount=1998", 1)), "2001"},
		{"missing ChDesc", sealed(t, m, strings.Replace(f1, "&ChDesc=SHOP-ORDER-10001", "", 1)), "4010"},
		{"Amount with decimals", sealed(t, m, strings.Replace(f1, "Amount=1999", "Amount=19.99", 1)), "2011"},
		{"Currency too long", sealed(t, m, strings.Replace(f1, "Currency=EUR", "Currency=EURO", 1)), "2014"},
		{"http URL", sealed(t, m, strings.Replace(f1, "URLNotify=https", "URLNotify=http", 1)), "2012"},
		{"URL with query", sealed(t, m, strings.Replace(f1, "computop/notify", "computop/notify?x=1", 1)), "2012"},
		{"inner MerchantID differs in case", func() url.Values { v := sealed(t, m, f1); v.Set("MerchantID", "werotestshop"); return v }(), "2016"},
		{"wrong key", func() url.Values {
			ps, _ := computop.ParseParams(f1)
			v, _ := (&computop.Merchant{ID: mid, Cipher: other, HMACKey: []byte(hmac)}).Seal(ps)
			return v
		}(), "2001"},
		{"no Data", url.Values{"MerchantID": {mid}, "Len": {"5"}}, "4010"},
		{"Data not hex", url.Values{"MerchantID": {mid}, "Len": {"5"}, "Data": {"XYZ"}}, "2001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, srv.URL+"/WERO.aspx?"+tc.vs.Encode())
			if code != http.StatusBadRequest || !strings.Contains(body, `<span id="code">`+tc.code) {
				t.Fatalf("%d %s", code, body)
			}
		})
	}
}

func TestActionsBeforeDecryptionInClear(t *testing.T) {
	_, srv, _ := newSim(t, Options{})
	resp, err := http.PostForm(srv.URL+"/capture.aspx", url.Values{"MerchantID": {"Nobody"}, "Len": {"3"}, "Data": {"00"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "MID=Nobody&Status=FAILED&") || !strings.Contains(string(b), "Code=2016") {
		t.Fatalf("%s", b)
	}
}

// Capture, reversal and inquiry on the F3/F5 fixtures of notes §11.2, with
// ReqId de-duplication and the capture window.
func TestActions(t *testing.T) {
	clock := &testClock{}
	s, srv, m := newSim(t, Options{Clock: clock, AllowHTTP: true})
	// A decided, notified ED payment to act on.
	s.mu.Lock()
	p := &payment{m: s.merchants[mid], Entry: Entry{PayID: "8f2c1e9a4b7d4c0e9a1b2c3d4e5f6071", TransID: "ORDER-10001", MerchantID: mid,
		Amount: 1999, Currency: "EUR", ED: true, State: StateAuthorized, AmountAuth: 1999, NotifyAcked: true, AuthorizedAt: clock.Now()}}
	s.payments[p.PayID] = p
	s.byTrans[mid+"|ORDER-10001"] = []*payment{p}
	s.order = append(s.order, p)
	s.mu.Unlock()
	cl := &computop.Client{BaseURL: srv.URL, Merchant: m, HTTP: srv.Client()}
	ctx := t.Context()
	capt := &computop.Action{PayID: p.PayID, TransID: "CAP-10001-1", Amount: 1000, Currency: "EUR", RefNr: "ORDER-10001", ReqID: "cap-1"}
	r1, err := cl.Capture(ctx, capt)
	if err != nil || !r1.OK() {
		t.Fatalf("capture: %+v %v", r1, err)
	}
	r2, err := cl.Capture(ctx, capt) // same ReqId: replayed, nothing taken
	if err != nil || r2.XID != r1.XID {
		t.Fatalf("replay: %+v %v", r2, err)
	}
	if e := s.Ledger()[0]; e.AmountCap != 1000 || len(e.Captures) != 1 {
		t.Fatalf("ledger %+v", e)
	}
	over := *capt
	over.ReqID, over.Amount = "cap-2", 1000
	if r, err := cl.Capture(ctx, &over); err != nil || r.OK() || computop.Module(r.Code) != computop.ModuleInvalid {
		t.Fatalf("over-capture: %+v %v", r, err)
	}
	q, err := cl.Inquire(ctx, p.PayID, "ORDER-10001")
	if err != nil || q.Params.Get("AmountCap") != "1000" || q.Params.Get("AmountAuth") != "1999" {
		t.Fatalf("inquiry: %+v %v", q, err)
	}
	// reverse.aspx undoes the last step: the capture.
	rev := &computop.Action{PayID: p.PayID, TransID: "REV-10001-1", Amount: 1000, Currency: "EUR", ReqID: "rev-1"}
	if r, err := cl.Reverse(ctx, rev); err != nil || !r.OK() {
		t.Fatalf("reverse: %+v %v", r, err)
	}
	if e := s.Ledger()[0]; e.AmountCap != 0 || e.State != StateAuthorized || !e.Captures[0].Reversed {
		t.Fatalf("ledger %+v", e)
	}
	// After the window: refused.
	clock.add(computop.CaptureWindow + 1)
	late := *capt
	late.ReqID = "cap-3"
	if r, err := cl.Capture(ctx, &late); err != nil || computop.Module(r.Code) != computop.ModuleExpired {
		t.Fatalf("late capture: %+v %v", r, err)
	}
	// Unknown payment: module 016, which the connector reads as not found.
	if r, err := cl.Inquire(ctx, "", "NOPE"); err != nil || !computop.InquiryNotFound(r.Code) {
		t.Fatalf("inquiry unknown: %+v %v", r, err)
	}
}

func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	sb1, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:9/sim/computop", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sb1.Close()
	sb2, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:9/sim/computop", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sb2.Close()
	a := sb1.Account
	if a.ID != "computop-sandbox" || a.Connector != "computop" || !a.Default || a.Environment != tender.EnvSandbox ||
		a.Credentials["hmac_key"] != sb2.Account.Credentials["hmac_key"] || len(a.Credentials["encryption_key"]) != 16 {
		t.Fatalf("account %+v", a)
	}
	if err := computop.New(computop.Options{}).ValidateAccount(&a); err != nil {
		t.Fatal(err)
	}
}

type testClock struct{ d int64 }

func (c *testClock) Now() time.Time {
	return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(atomic.LoadInt64(&c.d)))
}
func (c *testClock) add(d time.Duration) { atomic.AddInt64(&c.d, int64(d)) }

// credit.aspx (notes §13): only on a captured amount, never above it in
// all, after the first notify was answered, with ReqId replay; the
// inquiry's AmountCred counts it; reverse.aspx does not undo a credit.
func TestCredit(t *testing.T) {
	clock := &testClock{}
	s, srv, m := newSim(t, Options{Clock: clock, AllowHTTP: true})
	s.mu.Lock()
	p := &payment{m: s.merchants[mid], Entry: Entry{PayID: "8f2c1e9a4b7d4c0e9a1b2c3d4e5f6072", TransID: "ORDER-10002", MerchantID: mid,
		Amount: 1999, Currency: "EUR", ED: true, State: StateAuthorized, AmountAuth: 1999, NotifyAcked: false, AuthorizedAt: clock.Now()}}
	s.payments[p.PayID] = p
	s.byTrans[mid+"|ORDER-10002"] = []*payment{p}
	s.order = append(s.order, p)
	s.mu.Unlock()
	cl := &computop.Client{BaseURL: srv.URL, Merchant: m, HTTP: srv.Client()}
	ctx := t.Context()
	credit := func(reqID string, amount int64) *computop.Result {
		t.Helper()
		r, err := cl.Credit(ctx, &computop.Action{PayID: p.PayID, TransID: "ORDER-10002", Amount: amount, Currency: "EUR", ReqID: reqID})
		if err != nil {
			t.Fatalf("credit %s: %v", reqID, err)
		}
		return r
	}
	if r := credit("c-0", 100); r.OK() {
		t.Fatal("a credit before the notify was answered was accepted")
	}
	s.mu.Lock()
	p.NotifyAcked = true
	s.mu.Unlock()
	if r := credit("c-1", 100); r.OK() {
		t.Fatal("a credit of an authorization with nothing captured was accepted")
	}
	if r, err := cl.Capture(ctx, &computop.Action{PayID: p.PayID, TransID: "ORDER-10002", Amount: 1500, Currency: "EUR", ReqID: "cap-1"}); err != nil || !r.OK() {
		t.Fatalf("capture: %+v %v", r, err)
	}
	r1 := credit("c-2", 600)
	if !r1.OK() || r1.XID == "" {
		t.Fatalf("credit: %+v", r1)
	}
	if r := credit("c-2", 600); r.XID != r1.XID { // replayed, nothing credited
		t.Fatalf("replay: %+v", r)
	}
	if r := credit("c-3", 901); r.OK() || computop.Module(r.Code) != computop.ModuleInvalid {
		t.Fatalf("credit above the capture: %+v", r)
	}
	if r := credit("c-4", 151); r.OK() { // sandbox rule 51
		t.Fatalf("rule 51 credit: %+v", r)
	}
	q, err := cl.Inquire(ctx, p.PayID, "ORDER-10002")
	if err != nil || q.Params.Get("AmountCred") != "600" || q.Params.Get("AmountCap") != "1500" {
		t.Fatalf("inquiry: %+v %v", q, err)
	}
	if r, err := cl.Reverse(ctx, &computop.Action{PayID: p.PayID, TransID: "ORDER-10002", Amount: 600, Currency: "EUR", ReqID: "rev-1"}); err != nil || r.OK() {
		t.Fatalf("reverse after a credit: %+v %v", r, err)
	}
	if e := s.Ledger()[0]; e.AmountCred != 600 || len(e.Credits) != 1 || e.AmountCap != 1500 {
		t.Fatalf("ledger %+v", e)
	}
}
