package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
)

// paintConnector is a fifth provider that exists only in this test: it
// takes a `paint` object on the create request and shows its details as
// an object. Nothing in the api package names it.
type paintConnector struct {
	testConnector
	got json.RawMessage
}

func (c *paintConnector) Name() string { return "paintpay" }

func (c *paintConnector) ValidatePayment(p *tender.Payment, a *tender.Account, t *tender.Terminal) error {
	var in struct {
		Colour string `json:"colour"`
	}
	if err := json.Unmarshal(p.Input, &in); err != nil || in.Colour == "" {
		return tender.Invalid("paint.colour", "paint.colour is required")
	}
	c.got = p.Input
	return nil
}

func (c *paintConnector) Start(ctx context.Context, op *tender.Op) (tender.Update, error) {
	u, err := c.testConnector.Start(ctx, op)
	u.Details = map[string]string{"shade": "dark", "gloss": "high"}
	return u, err
}

func (c *paintConnector) Describe() tender.Description {
	return tender.Description{
		Input: "paint", InputRequired: true, InputDoc: "paintpay: the colour.",
		InputSchema:   json.RawMessage(`{"type":"object","properties":{"colour":{"type":"string"}},"required":["colour"],"additionalProperties":false}`),
		DetailsSchema: json.RawMessage(`{"type":"object","properties":{"finish":{"$ref":"#/components/schemas/PaintpayFinish"}},"required":["finish"],"additionalProperties":false}`),
		Schemas:       map[string]json.RawMessage{"PaintpayFinish": json.RawMessage(`{"type":"object","properties":{"shade":{"type":"string"},"gloss":{"type":"string"}},"additionalProperties":false}`)},
		EncodeDetails: func(d map[string]string) map[string]any {
			return map[string]any{"finish": map[string]any{"shade": d["shade"], "gloss": d["gloss"]}}
		},
	}
}

// TestFifthProvider: a connector registered with the engine, and nothing
// else, gets its input decoded and stored, its errors naming its field,
// its details encoded its way, and its schemas in the served description,
// which the answers validate against.
func TestFifthProvider(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tender.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	conn := &paintConnector{testConnector: testConnector{status: map[string]tender.Status{}}}
	srv := httptest.NewUnstartedServer(nil)
	eng, err := engine.New(engine.Options{Store: store, Connectors: []tender.Connector{conn}, Sealer: sealer,
		PublicURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = api.NewServer(eng, api.Options{})
	srv.Start()
	defer srv.Close()
	key, _, err := eng.CreateAPIKey(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}

	res, err := http.Get(srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := io.ReadAll(res.Body)
	res.Body.Close()
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		t.Fatalf("served description is not valid: %v", verrs[0])
	}
	var d struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage
			}
		}
	}
	json.Unmarshal(spec, &d)
	s := d.Components.Schemas
	if s["CreatePayment"].Properties["paint"] == nil || s["Payment"].Properties["paint"] == nil ||
		s["PaintpayInput"].Properties["colour"] == nil || s["PaintpayDetails"].Properties["finish"] == nil || s["PaintpayFinish"].Properties["gloss"] == nil {
		t.Fatalf("the served description lacks the connector's schemas: %s", spec)
	}
	if s["CreatePayment"].Properties["invoice"] != nil {
		t.Fatalf("the served description has epay's invoice on a server without epay")
	}

	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		if ok, errs := v.ValidateHttpResponse(req, res); !ok {
			t.Errorf("%s %s → %d does not match the served description: %s: %s\n%s", method, path, res.StatusCode, errs[0].Message, errs[0].Reason, b)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return res.StatusCode, m
	}
	if st, _ := do("POST", "/v1/accounts", `{"id":"pp1","connector":"paintpay","credentials":{"secret":"s3cret"}}`); st != 201 {
		t.Fatalf("account: %d", st)
	}

	st, p := do("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"paintpay","paint":{"colour":"red"}}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, p)
	}
	if string(conn.got) != `{"colour":"red"}` {
		t.Errorf("the connector got input %s", conn.got)
	}
	if in, _ := p["paint"].(map[string]any); in["colour"] != "red" {
		t.Errorf("the payment does not echo its input: %v", p)
	}
	if f, _ := p["details"].(map[string]any)["finish"].(map[string]any); f["shade"] != "dark" || f["gloss"] != "high" {
		t.Errorf("details not encoded by the connector: %v", p["details"])
	}
	_, got := do("GET", "/v1/payments/"+p["id"].(string), "")
	if f, _ := got["details"].(map[string]any)["finish"].(map[string]any); f["shade"] != "dark" {
		t.Errorf("GET: details %v", got["details"])
	}

	for _, c := range []struct{ body, param string }{
		{`{"amount":1050,"currency":"EUR","connector":"paintpay","paint":{}}`, "paint.colour"},
		{`{"amount":1050,"currency":"EUR","connector":"paintpay","paint":"red"}`, "paint"},
		{`{"amount":1050,"currency":"EUR","connector":"paintpay","Paint":{"colour":"red"}}`, "Paint"},
		{`{"amount":1050,"currency":"EUR","connector":"paintpay","paint":{"colour":"red"},"paint":{"colour":"blue"}}`, "paint"},
		{`{"amount":1050,"currency":"EUR","connector":"paintpay","invoice":{}}`, "invoice"},
	} {
		st, e := do("POST", "/v1/payments", c.body)
		if st != 400 || e["error"].(map[string]any)["param"] != c.param {
			t.Errorf("%s: %d %v, want 400 naming %s", c.body, st, e, c.param)
		}
	}
}
