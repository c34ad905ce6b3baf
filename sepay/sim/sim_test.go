package sim

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
)

var (
	once                     sync.Once
	simKey, intKey, otherKey *rsa.PrivateKey
	simCert, intCert         []byte
)

func setup(t *testing.T, opts Options) (*Sim, *httptest.Server) {
	once.Do(func() {
		simKey, _ = sepay.GenerateKey()
		intKey, _ = sepay.GenerateKey()
		otherKey, _ = sepay.GenerateKey()
		simCert, _ = sepay.NewCertificate(simKey, "sim", time.Now())
		intCert, _ = sepay.NewCertificate(intKey, "int", time.Now())
	})
	opts.Key, opts.Certificate = simKey, simCert
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.AddLogin("shop", 0, intCert)
	s.AddTerminal("shop", "111", "10.0.0.1", 4000)
	s.AddTerminal("shop", "222", "10.0.0.2", 4000)
	s.SetTerminalEnabled("222", false)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	return s, srv
}

func client(srv *httptest.Server, key *rsa.PrivateKey) *sepay.Client {
	return &sepay.Client{URL: srv.URL + ServicePath, Login: "shop", Key: key,
		Sepay: map[int]*rsa.PublicKey{0: &simKey.PublicKey}, HTTP: srv.Client(), Timeout: 5 * time.Second}
}

// post sends a raw request signed over v as given.
func post(t *testing.T, srv *httptest.Server, op *sepay.Operation, v sepay.Values, key *rsa.PrivateKey) (int, *sepay.Message) {
	t.Helper()
	sig := ""
	if key != nil {
		sig, _ = sepay.Sign(key, op.Request.Canonical(v))
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+ServicePath, bytes.NewReader(op.MarshalRequest(v, sig)))
	req.Header.Set("SOAPAction", sepay.SOAPAction(op.Name))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m, err := op.ParseResponse(body)
	if err != nil {
		return resp.StatusCode, nil
	}
	if err := sepay.VerifyMessage(&simKey.PublicKey, op.Result, m); err != nil {
		t.Fatalf("simulator's answer does not verify: %v", err)
	}
	return resp.StatusCode, m
}

func startValues(ref, amount string) sepay.Values {
	return sepay.Values{"key_index": "0", "version": "2", "login": "shop", "sid": "111", "transactionref": ref, "amount": amount}
}

// Validation order of notes §9.3, one rule at a time.
func TestStartValidation(t *testing.T) {
	_, srv := setup(t, Options{})
	tests := []struct {
		name   string
		mod    func(v sepay.Values)
		key    *rsa.PrivateKey
		status string
		msg    string
	}{
		{"missing fields", func(v sepay.Values) { delete(v, "login"); delete(v, "transactionref") }, intKey, "01", "login, transactionref"},
		{"missing signature", func(v sepay.Values) {}, nil, "01", "signature"},
		{"bad version", func(v sepay.Values) { v["version"] = "1" }, intKey, "04", ""},
		{"unknown login", func(v sepay.Values) { v["login"] = "nobody" }, intKey, "07", ""},
		{"unknown key index", func(v sepay.Values) { v["key_index"] = "3" }, intKey, "04", ""},
		{"wrong key", func(v sepay.Values) {}, otherKey, "02", ""},
		{"unlinked sid", func(v sepay.Values) { v["sid"] = "999" }, intKey, "07", ""},
		{"disabled sid", func(v sepay.Values) { v["sid"] = "222" }, intKey, "07", ""},
		{"zero amount", func(v sepay.Values) { v["amount"] = "0.00" }, intKey, "04", ""},
		{"three decimals", func(v sepay.Values) { v["amount"] = "1.005" }, intKey, "04", ""},
		{"negative", func(v sepay.Values) { v["amount"] = "-1.00" }, intKey, "04", ""},
		{"ok", func(v sepay.Values) {}, intKey, "00", ""},
		{"duplicate", func(v sepay.Values) {}, intKey, "06", ""},
		{"busy", func(v sepay.Values) { v["transactionref"] = "R2" }, intKey, "11", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := startValues("R1", "12.34")
			tt.mod(v)
			code, m := post(t, srv, sepay.StartTransaction, v, tt.key)
			if code != 200 || m == nil {
				t.Fatalf("HTTP %d", code)
			}
			if m.Values["status"] != tt.status || (tt.msg != "" && m.Values["message"] != tt.msg) {
				t.Errorf("status %q message %q, want %q %q", m.Values["status"], m.Values["message"], tt.status, tt.msg)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	_, srv := setup(t, Options{})
	for name, tt := range map[string]struct{ action, body string }{
		"malformed xml":  {sepay.SOAPAction(sepay.OpStart), "<soap:Envelope"},
		"unknown action": {`"https://wecr.sepay.nl/v2/WECR/Refund"`, string(sepay.StartTransaction.MarshalRequest(startValues("R", "1.00"), "x"))},
		"no action":      {"", string(sepay.StartTransaction.MarshalRequest(startValues("R", "1.00"), "x"))},
		"wrong element":  {sepay.SOAPAction(sepay.OpCancel), string(sepay.StartTransaction.MarshalRequest(startValues("R", "1.00"), "x"))},
		"bad amount":     {sepay.SOAPAction(sepay.OpStart), string(sepay.StartTransaction.MarshalRequest(startValues("R", "1,00"), "x"))},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+ServicePath, strings.NewReader(tt.body))
			if tt.action != "" {
				req.Header.Set("SOAPAction", tt.action)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_, err = sepay.StartTransaction.ParseResponse(body)
			f, ok := err.(*sepay.Fault)
			if resp.StatusCode != 500 || !ok || f.Code != "soap:Client" {
				t.Errorf("HTTP %d, %v", resp.StatusCode, err)
			}
		})
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLifecycleCancelAndLongPoll(t *testing.T) {
	clk := &clock{t: time.Unix(1700000000, 0)}
	s, srv := setup(t, Options{Clock: clk, PickupAfter: 10 * time.Second, ProcessFor: 5 * time.Second, QueueExpiry: time.Hour})
	c := client(srv, intKey)
	ctx := context.Background()
	st := func(ref string) *sepay.Result {
		r, err := c.GetTransactionStatus(ctx, "111", ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r, _ := c.GetTransactionStatus(ctx, "111", "nope", 0); r.Status() != "04" {
		t.Errorf("unknown ref: %s", r.Status())
	}
	r, err := c.StartTransaction(ctx, "111", "A", "m1", 1000, "")
	if err != nil || r.Status() != "00" || r.Get("terminalip") != "10.0.0.1" || r.Get("terminalport") != "4000" {
		t.Fatalf("start: %v %v", r, err)
	}
	if st("A").Status() != "15" {
		t.Fatal("not queued")
	}
	// Cancel while queued, then again.
	if r, _ := c.CancelTransaction(ctx, "111", "A", false); r.Status() != "00" {
		t.Fatalf("cancel queued: %s", r.Status())
	}
	if r, _ := c.CancelTransaction(ctx, "111", "A", false); r.Status() != "14" {
		t.Fatalf("cancel again: %s", r.Status())
	}
	if st("A").Status() != "14" {
		t.Fatal("not canceled")
	}
	// Automatic pick-up by the clock, cancel refused while in progress.
	c.StartTransaction(ctx, "111", "B", "", 2000, "")
	clk.add(10 * time.Second)
	if r := st("B"); r.Status() != "17" || r.Get("brand") == "" || r.Get("transactiontime") == "" {
		t.Fatalf("in progress: %v", r.Values)
	}
	if r, _ := c.CancelTransaction(ctx, "111", "B", true); r.Status() != "17" {
		t.Fatalf("cancel in progress: %s", r.Status())
	}
	// Long-poll: held until the outcome arrives.
	done := make(chan *sepay.Result)
	go func() {
		r, _ := c.GetTransactionStatus(ctx, "111", "B", 20*time.Second)
		done <- r
	}()
	time.Sleep(50 * time.Millisecond) // let the poll start waiting; correctness does not depend on it
	clk.add(5 * time.Second)
	if r := <-done; r.Status() != "00" || r.Get("ticket") == "" {
		t.Fatalf("long-poll: %v", r.Values)
	}
	if r, _ := c.CancelTransaction(ctx, "111", "B", false); r.Status() != "13" {
		t.Fatalf("cancel finished: %s", r.Status())
	}
	l := s.Ledger()
	if len(l) != 2 || l[0].State != Canceled || l[0].Charged || l[1].State != Succeeded || !l[1].Charged || l[1].Amount != 2000 {
		t.Fatalf("ledger %+v", l)
	}
	// Queue expiry.
	c.StartTransaction(ctx, "111", "C", "", 100, "")
	s.mu.Lock()
	s.opts.PickupAfter = 0
	s.mu.Unlock()
	clk.add(time.Hour)
	if r := st("C"); r.Status() != "14" {
		t.Fatalf("expiry: %s", r.Status())
	}
}

func TestPickupControlRoute(t *testing.T) {
	s, srv := setup(t, Options{})
	client(srv, intKey).StartTransaction(context.Background(), "111", "P", "", 100, "")
	resp, err := srv.Client().Post(srv.URL+"/_sim/terminals/111/pickup", "", nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("%v %v", resp, err)
	}
	if l := s.Ledger(); l[0].State != Succeeded { // ProcessFor 0: decided at once
		t.Fatalf("%+v", l)
	}
	if err := s.Pickup("111"); err == nil {
		t.Error("second pickup accepted")
	}
}

func TestCallbackSignedAndRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	got := make(chan []byte, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer hook.Close()
	s, srv := setup(t, Options{CallbackBackoff: time.Millisecond})
	client(srv, intKey).StartTransaction(context.Background(), "111", "CB", "", 100, hook.URL+"/notify")
	s.Pickup("111")
	body := <-got
	m, err := sepay.GetTransactionStatus.ParseResult(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := sepay.VerifyMessage(&simKey.PublicKey, sepay.GetTransactionStatus.Result, m); err != nil || m.Values["status"] != "00" {
		t.Fatalf("callback %v %v", m.Values, err)
	}
}

func TestWSDL(t *testing.T) {
	_, srv := setup(t, Options{})
	resp, err := srv.Client().Get(srv.URL + ServicePath + "?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Types []struct {
			Elements []struct {
				Name   string `xml:"name,attr"`
				Fields []struct {
					Name string `xml:"name,attr"`
					Type string `xml:"type,attr"`
				} `xml:"complexType>sequence>element"`
			} `xml:"element"`
		} `xml:"types>schema"`
		Bindings []struct {
			Ops []struct {
				Name   string `xml:"name,attr"`
				Action struct {
					Action string `xml:"soapAction,attr"`
				} `xml:"http://schemas.xmlsoap.org/wsdl/soap/ operation"`
			} `xml:"operation"`
		} `xml:"binding"`
		Address struct {
			Location string `xml:"location,attr"`
		} `xml:"service>port>address"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Address.Location != srv.URL+ServicePath {
		t.Errorf("address %q", d.Address.Location)
	}
	elems := map[string]string{}
	for _, e := range d.Types[0].Elements {
		var names []string
		for _, f := range e.Fields {
			names = append(names, f.Name+":"+f.Type)
		}
		elems[e.Name] = strings.Join(names, ",")
	}
	if want := "key_index:s:int,version:s:string,login:s:string,sid:s:string,transactionref:s:string,merchantref:s:string,amount:s:decimal,callbackurl:s:string,signature:s:base64Binary"; elems["StartTransaction"] != want {
		t.Errorf("StartTransaction %s", elems["StartTransaction"])
	}
	if len(d.Bindings) != 1 || len(d.Bindings[0].Ops) != 3 || d.Bindings[0].Ops[1].Action.Action != "https://wecr.sepay.nl/v2/WECR/GetTransactionStatus" {
		t.Errorf("binding %+v", d.Bindings)
	}
}

func TestSandboxPersistsKeys(t *testing.T) {
	dir := t.TempDir()
	sb1, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1/sim/sepay", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sb1.Close()
	sb2, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:1/sim/sepay", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sb2.Close()
	if sb1.Account.Credentials["private_key"] != sb2.Account.Credentials["private_key"] ||
		sb1.Account.Settings["sepay_certificate"] != sb2.Account.Settings["sepay_certificate"] {
		t.Error("keys not kept across restarts")
	}
	a := sb2.Account
	if a.ID != "sepay-sandbox" || a.Connector != "sepay" || !a.Default || a.Settings["base_url"] != "http://127.0.0.1:1/sim/sepay/v2" || len(sb2.Terminals) != 2 {
		t.Errorf("account %+v terminals %d", a.Settings, len(sb2.Terminals))
	}
	if err := sepay.New(sepay.Options{}).ValidateAccount(&a); err != nil {
		t.Errorf("sandbox account invalid: %v", err)
	}
}

// The sandbox as `tender serve` mounts it: under a stripped prefix, over HTTP.
func TestSandboxOverHTTP(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sb, err := Sandbox(tender.SandboxOptions{BaseURL: srv.URL + "/sim/sepay"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	mux.Handle("/sim/sepay/", http.StripPrefix("/sim/sepay", sb.Handler))
	c := sepay.New(sepay.Options{})
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 250, Currency: "EUR", CreatedAt: time.Now()}
	u, err := c.Start(context.Background(), &tender.Op{Payment: p, Account: &sb.Account, Terminal: &sb.Terminals[0]})
	if err != nil || u.Status != tender.StatusProcessing {
		t.Fatalf("start on sandbox: %+v %v", u, err)
	}
	resp, err := srv.Client().Get(srv.URL + "/sim/sepay/v2/wecr.asmx?WSDL")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("wsdl: %v", err)
	}
	resp.Body.Close()
}
