package trustpayments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// reshape takes the claims of a response JWT built in a public shape
// (trustpayments/public_shapes_test.go) and makes them about payment p of the sandbox account: the nested JWT
// is the one Tender issued as the gateway re-issues it (no termurl, the
// request types used up, a parent reference), the elements carry p's
// amount, and the token is signed with the account's secret and fresh.
func reshape(t *testing.T, e *env, public string, p *tender.Payment, nested bool) string {
	t.Helper()
	secret := []byte(e.acct.Credentials[tp.CredentialJWTSecret])
	tok, err := tp.Parse(public)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(tok.ClaimsJSON, &c)
	c["iat"] = e.clock.Now().Unix()
	if _, ok := c["aud"]; ok {
		c["aud"] = e.acct.Settings[tp.SettingJWTUsername]
	}
	pl := c["payload"].(map[string]any)
	if nested {
		it, _ := tp.Parse(p.NextAction.Data["jwt"])
		var n map[string]any
		json.Unmarshal(it.ClaimsJSON, &n)
		np := n["payload"].(map[string]any)
		delete(np, "termurl")
		np["requesttypedescriptions"] = []string{}
		np["parenttransactionreference"] = "42-9-80961"
		b, _ := json.Marshal(n)
		pl["jwt"], _ = tp.Sign(tp.HS256, secret, b)
	} else {
		delete(pl, "jwt")
	}
	for _, el := range pl["response"].([]any) {
		el := el.(map[string]any)
		if _, ok := el["baseamount"]; ok {
			el["baseamount"] = "1000"
		}
		if !nested {
			el["orderreference"] = p.ID
		}
	}
	b, _ := json.Marshal(c)
	raw, err := tp.Sign(tp.HS256, secret, b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestPublicShapesThroughCallback posts responses shaped as the public
// artefacts are (notes §1.3, §4.2) to the return callback: no aud, no
// termurl in the nested JWT, no nested JWT at all (JS v2), and the ERROR
// and 70001 results. They are decided, or put in doubt, not refused.
func TestPublicShapesThroughCallback(t *testing.T) {
	for _, tc := range []struct {
		name, shape string
		nested      bool
		want        tender.Status
	}{
		{"v3 AUTH with aud, nested JWT without termurl", "appleAuth", true, tender.StatusCaptured},
		{"legacy v2: no aud, no nested JWT", "legacyV2", false, tender.StatusCaptured},
		{"50000 ERROR without aud", "socketError", true, tender.StatusUnknown},
		{"99999 ERROR without aud", "unknownError", true, tender.StatusUnknown},
		{"70001 uncertain result", "merchantDecline", true, tender.StatusUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.start(1000, false)
			raw := reshape(t, e, tp.PublicShapes[tc.shape], p, tc.nested)
			if _, err := e.ret(p, url.Values{"jwt": {raw}, "orderreference": {p.ID}}); err != nil {
				t.Fatalf("return refused: %v", err)
			}
			if p.Status != tc.want {
				t.Fatalf("status %s, want %s", p.Status, tc.want)
			}
		})
	}
}

// TestJSONReturnDuplicateKey: an app's JSON return with two jwt keys is
// refused, whichever of them a parser would pick.
func TestJSONReturnDuplicateKey(t *testing.T) {
	e := newEnv(t)
	p := e.start(1000, false)
	body := `{"jwt":"a.b.c","jwt":"d.e.f","orderreference":"` + p.ID + `"}`
	req := httptest.NewRequest(http.MethodPost, callbackURL+"/return", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	_, err := e.conn.Callback(context.Background(), &tender.Callback{Account: &e.acct, Path: "return", Request: req, Body: []byte(body),
		Find: func(context.Context, string) (*tender.Payment, error) { return p, nil }})
	if e := tender.AsError(err); e == nil || e.Code != tender.EInvalid || e.Param != "jwt" {
		t.Fatalf("Callback = %v, want invalid naming jwt", err)
	}
}
