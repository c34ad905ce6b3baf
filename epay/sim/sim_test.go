package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T) (*Sim, *httptest.Server, *clock, *epay.WebECRClient) {
	c := &clock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	s, err := New(Options{Clock: c, Users: map[string]string{"u": "p"}, ImpactAPIKeys: []string{"ik"},
		Terminals: []TerminalConfig{{TID: "11111111", ID: 1}, {TID: "22222222", ID: 2}}, PressDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return s, srv, c, &epay.WebECRClient{BaseURL: srv.URL + "/webecr", User: "u", Password: "p", HTTP: srv.Client()}
}

func post(t *testing.T, url string, hdr map[string]string, body any) (int, map[string]any) {
	b, _ := json.Marshal(body)
	r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestLoginAndOTP(t *testing.T) {
	s, srv, c, wc := setup(t)
	status, m := post(t, srv.URL+"/webecr/token/", nil, map[string]string{"username": "u", "password": "x"})
	if status != 401 || m["detail"] != "No active account found with the given credentials" {
		t.Fatalf("%d %v", status, m)
	}
	code, _ := s.ShowOTP("11111111")
	ctx := context.Background()
	if _, err := wc.Redeem(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Redeem(ctx, code); err == nil {
		t.Fatal("code redeemed twice")
	}
	code, _ = s.ShowOTP("11111111")
	c.Advance(6 * time.Minute)
	if _, err := wc.Redeem(ctx, code); err == nil {
		t.Fatal("expired code redeemed")
	}
}

// signed returns a txninit whose ProviderData Impact's key signed at ts.
func signed(t *testing.T, s *Sim, ts time.Time, tid string, amount int64) epay.TxnInitRequest {
	c := epay.ClearText{UID: "D4F6A5F5C6123658F78369E5191ED5C9D73CB7AC", Timestamp: epay.FormatTimestamp(ts),
		Net: 1000, VAT: 240, Total: 1240, Payable: amount, TID: tid}
	sig, err := epay.Sign(s.opts.ImpactKey, c.String())
	if err != nil {
		t.Fatal(err)
	}
	return epay.TxnInitRequest{Amount: amount, CurrencyCode: 978, CustomerReference: "ref-" + epay.FormatTimestamp(ts),
		ProviderData: &epay.ProviderData{Uid: c.UID, SignatureTimestamp: c.Timestamp, NetAmount: 1000, VatAmount: 240,
			TotalAmount: 1240, ProviderId: "3", Signature: sig}}
}

func TestTxnInitChecks(t *testing.T) {
	s, _, c, wc := setup(t)
	s.AddAPIKey("key1", "11111111")
	ctx := context.Background()
	refused := func(name string, status int, req epay.TxnInitRequest, key, term string) {
		t.Helper()
		_, err := wc.TxnInit(ctx, key, term, req)
		var ae *epay.APIError
		if !errors.As(err, &ae) || ae.Status != status {
			t.Errorf("%s: got %v, want HTTP %d", name, err, status)
		}
	}
	now := c.Now()
	ok := signed(t, s, now, "11111111", 1240)
	noPD := ok
	noPD.ProviderData = nil
	refused("no ProviderData", 400, noPD, "key1", "1")
	refused("stale signature", 400, signed(t, s, now.Add(-25*time.Hour), "11111111", 1240), "key1", "1")
	refused("future signature", 400, signed(t, s, now.Add(time.Hour), "11111111", 1240), "key1", "1")
	refused("signed for another terminal", 400, signed(t, s, now, "22222222", 1240), "key1", "1")
	other := ok
	other.Amount = 1000 // payable differs from what was signed
	refused("other amount", 400, other, "key1", "1")
	refused("key of another terminal", 404, ok, "key1", "2")
	refused("unknown key", 403, ok, "nope", "1")
	in, err := wc.TxnInit(ctx, "key1", "1", ok)
	if err != nil || in.Status != epay.StatusPending {
		t.Fatalf("good txninit: %+v %v", in, err)
	}
	s.Press("11111111")
	c.Advance(time.Second)
	got, _ := s.Intent(ok.CustomerReference)
	if got.ResultCode() != epay.ResultApproved {
		t.Fatalf("intent %+v", got)
	}
	// An approved signature cannot pay twice.
	again := ok
	again.CustomerReference = "another"
	refused("used signature", 400, again, "key1", "1")
	s.RevokeAPIKey("key1")
	refused("revoked key", 403, signed(t, s, c.Now(), "11111111", 1240), "key1", "1")
}

func TestPendingIntentExpires(t *testing.T) {
	s, _, c, wc := setup(t)
	s.AddAPIKey("k", "11111111")
	req := signed(t, s, c.Now(), "11111111", 1240)
	if _, err := wc.TxnInit(context.Background(), "k", "1", req); err != nil {
		t.Fatal(err)
	}
	c.Advance(11 * time.Minute)
	in, _ := s.Intent(req.CustomerReference)
	if in.Status != epay.StatusCompleted || in.ResultCode() != epay.ResultFailed || len(s.Ledger()) != 0 {
		t.Fatalf("%+v", in)
	}
}

func TestImpactSignpos(t *testing.T) {
	s, srv, c, _ := setup(t)
	ic := &epay.ImpactClient{BaseURL: srv.URL + "/impact", APIKey: "ik", HTTP: srv.Client()}
	req := epay.SignPOSRequest{IssuerTin: "EL999999999", IssueDate: "2020-10-22", InvoiceTypeCode: "1.1", Series: "Α",
		Identifier: "2", PaymentAmount: "1.24", TotalNetAmount: "1.00", TotalVatAmount: "0.24", TotalAmount: "1.24", TerminalID: "11111111"}
	r, ct, err := ic.SignPOS(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := "B6135D5377B0AA2A92264AB56B334169D0B25089;;" + epay.FormatTimestamp(c.Now()) + ";100;24;124;124;11111111"
	if r.Input != want || epay.Verify(s.ImpactPublicKey(), ct.String(), r.Signature) != nil {
		t.Fatalf("got %s", r.Input)
	}
	bad := req
	bad.TotalAmount = "1.25"
	if _, _, err := ic.SignPOS(context.Background(), bad); err == nil {
		t.Fatal("inconsistent totals signed")
	}
	ic.APIKey = "wrong"
	var ae *epay.APIError
	if _, _, err := ic.SignPOS(context.Background(), req); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("bad key: %v", err)
	}
}

func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	sb, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1/sim/epay", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	c := epay.New(epay.Options{})
	if err := c.ValidateAccount(&sb.Account); err != nil {
		t.Fatal(err)
	}
	if len(sb.Terminals) != 2 || c.ValidateTerminal(&sb.Terminals[0], &sb.Account) != nil || sb.Account.ID != "epay-sandbox" || !sb.Account.Default {
		t.Fatalf("%+v", sb.Terminals)
	}
	sb2, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1/sim/epay", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if sb2.Account.Settings["provider_public_key"] != sb.Account.Settings["provider_public_key"] ||
		sb2.Terminals[0].Credentials["api_key"] != sb.Terminals[0].Credentials["api_key"] {
		t.Fatal("restart changed the sandbox keys")
	}
}
