package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newSim(t *testing.T) (*Sim, *httptest.Server, *clock) {
	c := &clock{time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	s := New(Options{Clock: c})
	s.AddSite(Site{Reference: "test_site12345", JWTUser: "jwt.user", JWTSecret: []byte("sekrit"), WSUser: "ws@x", WSPassword: "pw"})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.opts.BaseURL = srv.URL
	return s, srv, c
}

func sign(t *testing.T, alg, secret string, iat int64, payload string) string {
	tok, err := tp.Sign(alg, []byte(secret), []byte(`{"iss":"jwt.user","iat":`+itoa(iat)+`,"payload":`+payload+`}`))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// gateway posts to /jwt/ and returns the main element of the (unverified) answer.
func gateway(t *testing.T, srv *httptest.Server, jwt string) tp.Result {
	body, _ := json.Marshal(map[string]any{"jwt": jwt, "version": "1.00", "request": []any{map[string]any{"pan": "4111111111111111", "expirydate": "12/30", "securitycode": "123"}}})
	resp, err := http.Post(srv.URL+"/jwt/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ JWT string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	tok, err := tp.Parse(out.JWT)
	if err != nil {
		t.Fatal(err)
	}
	var env tp.ResponseEnvelope
	_ = json.Unmarshal(tok.Claims["payload"], &env)
	return env.Response[len(env.Response)-1]
}

func TestGatewayRejects(t *testing.T) {
	_, srv, c := newSim(t)
	now := c.t.Unix()
	good := `{"accounttypedescription":"ECOM","baseamount":1050,"currencyiso3a":"GBP","sitereference":"test_site12345","orderreference":"o1","requesttypedescriptions":["THREEDQUERY","AUTH"]}`
	if r := gateway(t, srv, sign(t, tp.HS384, "sekrit", now, good)); r.Get("errorcode") != "0" || r.Get("requesttypedescription") != "AUTH" {
		t.Fatalf("good request: %+v", r.Fields)
	}
	for _, tc := range []struct {
		name, jwt, code, field string
	}{
		{"other secret", sign(t, tp.HS256, "wrong", now, good), "30000", "jwt"},
		{"expired", sign(t, tp.HS256, "sekrit", now-7200, good), "30000", "jwt"},
		{"both amounts", sign(t, tp.HS256, "sekrit", now, strings.Replace(good, `"baseamount":1050`, `"baseamount":1050,"mainamount":"10.50"`, 1)), "30000", "mainamount"},
		{"order ref too long", sign(t, tp.HS256, "sekrit", now, strings.Replace(good, `"o1"`, `"`+strings.Repeat("x", 26)+`"`, 1)), "30000", "orderreference"},
		{"other site", sign(t, tp.HS256, "sekrit", now, strings.Replace(good, "test_site12345", "test_other", 1)), "30006", "sitereference"},
		{"alg none", "eyJhbGciOiJub25lIn0." + strings.Split(sign(t, tp.HS256, "sekrit", now, good), ".")[1] + ".", "10302", "jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gateway(t, srv, tc.jwt)
			if r.Get("errorcode") != tc.code || len(r.ErrorData) == 0 || r.ErrorData[0] != tc.field {
				t.Fatalf("got %+v %v", r.Fields, r.ErrorData)
			}
		})
	}
}

func ws(t *testing.T, srv *httptest.Server, user, pass string, reqs ...map[string]any) (int, []tp.Result) {
	body, _ := json.Marshal(map[string]any{"alias": user, "version": "1.00", "request": reqs})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/json/", bytes.NewReader(body))
	req.SetBasicAuth(user, pass)
	req.Header.Set("REQUESTREFERENCE", "Aabc12345")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env tp.ResponseEnvelope
	_ = json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode == 200 && env.RequestReference != "Aabc12345" {
		t.Fatalf("requestreference %q not echoed", env.RequestReference)
	}
	return resp.StatusCode, env.Response
}

func TestWebservicesRules(t *testing.T) {
	s, srv, c := newSim(t)
	if code, _ := ws(t, srv, "ws@x", "bad", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONQUERY"}}); code != 401 {
		t.Fatalf("bad password: HTTP %d", code)
	}
	// A suspended AUTH (settlestatus 2), as a manual-capture checkout makes.
	gateway(t, srv, sign(t, tp.HS256, "sekrit", c.t.Unix(), `{"accounttypedescription":"ECOM","baseamount":1000,"currencyiso3a":"GBP","sitereference":"test_site12345","orderreference":"o2","settlestatus":"2","requesttypedescriptions":["THREEDQUERY","AUTH"]}`))
	auth := s.Approved("o2")[0]
	filter := tp.Filter(map[string]string{"sitereference": "test_site12345", "transactionreference": auth.Reference})
	for _, tc := range []struct {
		name string
		req  map[string]any
		code string
	}{
		{"both type fields", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONQUERY"}, "requesttypedescription": "TRANSACTIONQUERY"}, "60040"},
		{"empty request", map[string]any{}, "60018"},
		{"no filter", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONQUERY"}}, "60019"},
		{"refund of suspended AUTH", map[string]any{"requesttypedescriptions": []string{"REFUND"}, "sitereference": "test_site12345", "parenttransactionreference": auth.Reference}, "20005"},
		{"refund without parent", map[string]any{"requesttypedescriptions": []string{"REFUND"}, "sitereference": "test_site12345", "parenttransactionreference": "1-2-3"}, "20004"},
		{"raise settle amount", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONUPDATE"}, "filter": filter, "updates": map[string]string{"settlebaseamount": "1001"}}, "60016"},
		{"no updates", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONUPDATE"}, "filter": filter, "updates": map[string]string{}}, "60024"},
		{"update+refund chain", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONUPDATE", "REFUND"}}, "30000"},
		{"release 600", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONUPDATE"}, "filter": filter, "updates": map[string]string{"settlestatus": "0", "settlebaseamount": "600"}}, "0"},
		{"refund too much", map[string]any{"requesttypedescriptions": []string{"REFUND"}, "sitereference": "test_site12345", "parenttransactionreference": auth.Reference, "baseamount": "601"}, "20007"},
		{"refund 600", map[string]any{"requesttypedescriptions": []string{"REFUND"}, "sitereference": "test_site12345", "parenttransactionreference": auth.Reference, "baseamount": "600"}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, res := ws(t, srv, "ws@x", "pw", tc.req)
			if len(res) != 1 || res[0].Get("errorcode") != tc.code {
				t.Fatalf("got %+v", res)
			}
		})
	}
	s.Settle()
	_, res := ws(t, srv, "ws@x", "pw", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONUPDATE"}, "filter": filter, "updates": map[string]string{"settlestatus": "3"}})
	if res[0].Get("errorcode") != "60017" {
		t.Fatalf("update of a settled AUTH: %+v", res[0].Fields)
	}
	_, res = ws(t, srv, "ws@x", "pw", map[string]any{"requesttypedescriptions": []string{"TRANSACTIONQUERY"}, "filter": tp.Filter(map[string]string{"orderreference": "o2"})})
	if len(res[0].Records) != 2 || res[0].Records[1].Get("settlestatus") != "100" {
		t.Fatalf("query: %+v", res[0].Records)
	}
}

func TestSandboxKeysPersist(t *testing.T) {
	dir := t.TempDir()
	a, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:9/sim/trustpayments", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Sandbox(tender.SandboxOptions{BaseURL: "http://127.0.0.1:9/sim/trustpayments", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if a.Account.Credentials[tp.CredentialJWTSecret] != b.Account.Credentials[tp.CredentialJWTSecret] || a.Account.ID != "trustpayments-sandbox" || !a.Account.Default {
		t.Fatal("sandbox keys not kept")
	}
	if err := tp.New(tp.Options{}).ValidateAccount(&a.Account); err != nil {
		t.Fatal(err)
	}
}
