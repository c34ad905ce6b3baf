package trustpayments

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// claimsOf decodes a token's claims for a test to reshape.
func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(tok.ClaimsJSON, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sign(t *testing.T, alg, secret string, claims any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Sign(alg, []byte(secret), b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPublicResponsesWithoutAud: the legacy v2 doc example's shape and the
// 2019 ERROR shapes carry no aud (notes §4.2; built in
// public_shapes_test.go); they verify and are decided (or put in doubt for
// 50000/99999) instead of being refused.
func TestPublicResponsesWithoutAud(t *testing.T) {
	t.Run("legacy v2 example", func(t *testing.T) {
		cfg := Config{JWTUsername: "jwt.user", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(legacySecret)}
		now := time.Unix(legacyV2Iat, 0)
		if _, ok := claimsOf(t, legacyV2)["aud"]; ok {
			t.Fatal("the legacy v2 shape must carry no aud")
		}
		r, err := cfg.VerifyResponse(legacyV2, now)
		if err != nil {
			t.Fatalf("VerifyResponse: %v", err)
		}
		if r.RequestJWT != nil {
			t.Fatal("the legacy v2 shape must carry no nested JWT")
		}
		if u := UpdateOf(r); u.Status != tender.StatusCaptured || u.ProviderReference != legacyV2Reference {
			t.Fatalf("update %+v", u)
		}
		// Without a nested JWT the AUTH element must name the order: this
		// one names none, so it cannot decide a Tender payment.
		issued := sign(t, HS256, legacySecret, map[string]any{"iss": "jwt.user", "iat": legacyV2Iat,
			"payload": map[string]any{"baseamount": 1000, "currencyiso3a": "GBP", "sitereference": "test_site", "orderreference": "pay_x"}})
		if err := r.CheckIssued(issued); !errors.Is(err, ErrMismatch) {
			t.Fatalf("CheckIssued = %v, want a mismatch", err)
		}
		// The same shape naming the order is bound to it.
		c := claimsOf(t, legacyV2)
		el := c["payload"].(map[string]any)["response"].([]any)[0].(map[string]any)
		el["orderreference"] = "pay_x"
		r, err = cfg.VerifyResponse(sign(t, HS256, legacySecret, c), now)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CheckIssued(issued); err != nil || r.OrderReference() != "pay_x" {
			t.Fatalf("CheckIssued = %v, order %q", err, r.OrderReference())
		}
	})
	for _, tc := range []struct{ name, tok, code string }{{"50000 socket error", shapeSocketError, "50000"}, {"99999 unknown error", shapeUnknownError, "99999"}} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(errorShapeIat, 0)
			// The outer token verifies and has no aud; its nested JWT is
			// signed with a secret that is not the account's (notes §1.3).
			outer, err := Verify(tc.tok, VerifyOptions{Alg: HS256, Secret: []byte(seedSecret), Now: now})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if _, ok := outer.Claims["aud"]; ok {
				t.Fatal("the 2019 ERROR shape must carry no aud")
			}
			cfg := Config{JWTUsername: errorShapeUser, Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
			if _, err := cfg.VerifyResponse(tc.tok, now); err == nil || !strings.Contains(err.Error(), "nested") {
				t.Fatalf("VerifyResponse = %v, want only the nested JWT refused", err)
			}
			// The same response with its nested JWT signed by the account.
			c := claimsOf(t, tc.tok)
			pl := c["payload"].(map[string]any)
			nested := claimsOf(t, pl["jwt"].(string))
			pl["jwt"] = sign(t, HS256, seedSecret, nested)
			r, err := cfg.VerifyResponse(sign(t, HS256, seedSecret, c), now)
			if err != nil {
				t.Fatalf("VerifyResponse: %v", err)
			}
			if u := UpdateOf(r); u.Status != tender.StatusUnknown || !strings.Contains(u.Note, tc.code) {
				t.Fatalf("update %+v, want unknown", u)
			}
		})
	}
	t.Run("present aud must be ours", func(t *testing.T) {
		// The nested JWT's iss is the account's JWT user, so only the
		// outer aud is foreign.
		cfg := Config{JWTUsername: "tender_v3", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
		if _, err := cfg.VerifyResponse(buildAppleAuth("someone_else"), time.Unix(appleAuthIat, 0)); !errors.Is(err, ErrMismatch) {
			t.Fatalf("VerifyResponse = %v, want a mismatch", err)
		}
	})
}

// issuedFor builds the request JWT Tender would have issued for the order a
// public nested JWT is about: the same money fields, plus termurl and the
// full list of request types, which the gateway does not echo.
func issuedFor(t *testing.T, nested string, extra map[string]any) string {
	t.Helper()
	c := claimsOf(t, nested)
	pl := c["payload"].(map[string]any)
	delete(pl, "parenttransactionreference")
	pl["requesttypedescriptions"] = []string{"THREEDQUERY", "AUTH"}
	pl["termurl"] = DefaultTermURL
	for k, v := range extra {
		pl[k] = v
	}
	return sign(t, HS256, seedSecret, c)
}

// TestPublicNestedJWTWithoutTermurl: the v3 AUTH shape's nested JWT (notes
// §4.3, built in public_shapes_test.go) carries the money fields but not
// termurl; the response is for the order Tender issued.
func TestPublicNestedJWTWithoutTermurl(t *testing.T) {
	cfg := Config{JWTUsername: "tender_v3", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	r, err := cfg.VerifyResponse(shapeAppleAuth, time.Unix(appleAuthIat, 0))
	if err != nil {
		t.Fatalf("VerifyResponse: %v", err)
	}
	np, err := PayloadOf(r.RequestJWT)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"termurl", "orderreference"} {
		if _, ok := np[f]; ok {
			t.Fatalf("the shape's nested JWT must carry no %s", f)
		}
	}
	if err := r.CheckIssued(issuedFor(t, r.Envelope.JWT, nil)); err != nil {
		t.Fatalf("CheckIssued: %v", err)
	}
	if u := UpdateOf(r); u.Status != tender.StatusCaptured {
		t.Fatalf("update %+v", u)
	}
	// Money fields still bind: another amount, site or currency, or an
	// orderreference the gateway dropped, is another payment.
	for _, extra := range []map[string]any{{"baseamount": "1001"}, {"sitereference": "test_other"}, {"currencyiso3a": "EUR"}, {"orderreference": "pay_1"}} {
		if err := r.CheckIssued(issuedFor(t, r.Envelope.JWT, extra)); !errors.Is(err, ErrMismatch) {
			t.Errorf("CheckIssued with %v = %v, want a mismatch", extra, err)
		}
	}
}

// TestPublic70001InDoubt: 70001 is "Uncertain result" in the SDKs' list,
// "Merchant decline" in a fixture (notes §7, §15.7; shape built in
// public_shapes_test.go).
func TestPublic70001InDoubt(t *testing.T) {
	cfg := Config{JWTUsername: "tender_jwt", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	r, err := cfg.VerifyResponse(shapeMerchantDecl, time.Unix(merchantDeclineIat, 0))
	if err != nil {
		t.Fatalf("VerifyResponse: %v", err)
	}
	if u := UpdateOf(r); u.Status != tender.StatusUnknown || u.Failure != nil {
		t.Fatalf("update %+v, want unknown", u)
	}
	if Classify("70001") != OutcomeUnknown || Classify("70000") != OutcomeDeclined {
		t.Fatal("Classify")
	}
}

// TestPaddedSegments: padded base64url segments are accepted (notes §5.1);
// standard base64 is not.
func TestPaddedSegments(t *testing.T) {
	cfg := Config{JWTUsername: "jwt.user", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	// TV-2 with its signature segment padded (43 characters, one '=').
	if _, err := cfg.VerifyResponse(tv2+"=", tv1Time); err != nil {
		t.Fatalf("padded TV-2: %v", err)
	}
	// The legacy v2 shape with padded header and payload, signed over the
	// padded segments as received.
	segs := strings.Split(legacyV2, ".")
	pad := func(s string) string { return s + strings.Repeat("=", (4-len(s)%4)%4) }
	signing := pad(segs[0]) + "." + pad(segs[1])
	if pad(segs[1]) == segs[1] {
		t.Fatal("the legacy v2 shape needs no padding; change its secrand length")
	}
	tok := signing + "." + base64.URLEncoding.EncodeToString(mac(hasher(HS256), []byte(legacySecret), signing))
	legacy := Config{JWTUsername: "x", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(legacySecret)}
	if _, err := legacy.VerifyResponse(tok, time.Unix(legacyV2Iat, 0)); err != nil {
		t.Fatalf("padded legacy example: %v", err)
	}
	for name, bad := range map[string]string{
		"wrong padding":   tv2 + "==",
		"standard base64": strings.Replace(tv2, "XE-vjH2RWS7KLItZx6fa0G_A6mcmBAgxdMylP7IAt9w", "XE+vjH2RWS7KLItZx6fa0G/A6mcmBAgxdMylP7IAt9w=", 1),
	} {
		if _, err := cfg.VerifyResponse(bad, tv1Time); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
}

// TestResponseAlgorithms: an HS384/HS512 account takes HS256 responses
// (what the gateway sends, notes §5.2) and its own algorithm, nothing else.
func TestResponseAlgorithms(t *testing.T) {
	cfg := Config{JWTUsername: "jwt.user", Algorithm: HS512, Secret: []byte(seedSecret)}
	cfg.ResponseAlgorithm = cfg.Algorithm // as ParseConfig defaults it
	if got := cfg.ResponseAlgorithms(); len(got) != 2 || got[0] != HS256 || got[1] != HS512 {
		t.Fatalf("ResponseAlgorithms = %v", got)
	}
	if _, err := cfg.VerifyResponse(tv2, tv1Time); err != nil {
		t.Fatalf("HS256 response on an HS512 account: %v", err)
	}
	claims := claimsOf(t, tv2)
	if _, err := cfg.VerifyResponse(sign(t, HS512, seedSecret, claims), tv1Time); err != nil {
		t.Fatalf("HS512 response: %v", err)
	}
	if _, err := cfg.VerifyResponse(sign(t, HS384, seedSecret, claims), tv1Time); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("HS384 response on an HS512 account: %v, want refused", err)
	}
	segs := strings.Split(tv2, ".")
	for _, alg := range []string{"none", "RS256", "ES256", "HS1"} {
		hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","typ":"JWT"}`))
		if _, err := cfg.VerifyResponse(hdr+"."+segs[1]+"."+segs[2], tv1Time); !errors.Is(err, ErrAlgorithm) {
			t.Errorf("alg %s: %v, want refused", alg, err)
		}
	}
}
