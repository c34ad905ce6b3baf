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

// TestPublicResponsesWithoutAud: the legacy v2 doc example and the 2019
// ERROR fixtures carry no aud; they verify and are decided (or put in
// doubt for 50000/99999) instead of being refused.
func TestPublicResponsesWithoutAud(t *testing.T) {
	t.Run("legacy v2 example", func(t *testing.T) {
		cfg := Config{JWTUsername: "jwt.user", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte("secret")}
		r, err := cfg.VerifyResponse(legacyV2, time.Unix(1561549076, 0))
		if err != nil {
			t.Fatalf("VerifyResponse: %v", err)
		}
		if u := UpdateOf(r); u.Status != tender.StatusCaptured || u.ProviderReference != "42-9-80103" {
			t.Fatalf("update %+v", u)
		}
		// Without a nested JWT the AUTH element must name the order: this
		// one names none, so it cannot decide a Tender payment.
		issued := sign(t, HS256, "secret", map[string]any{"iss": "jwt.user", "iat": 1561549076,
			"payload": map[string]any{"baseamount": 1000, "currencyiso3a": "GBP", "sitereference": "test_site", "orderreference": "pay_x"}})
		if err := r.CheckIssued(issued); !errors.Is(err, ErrMismatch) {
			t.Fatalf("CheckIssued = %v, want a mismatch", err)
		}
		// The same shape naming the order is bound to it.
		c := claimsOf(t, legacyV2)
		el := c["payload"].(map[string]any)["response"].([]any)[0].(map[string]any)
		el["orderreference"] = "pay_x"
		r, err = cfg.VerifyResponse(sign(t, HS256, "secret", c), time.Unix(1561549076, 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.CheckIssued(issued); err != nil || r.OrderReference() != "pay_x" {
			t.Fatalf("CheckIssued = %v, order %q", err, r.OrderReference())
		}
	})
	for _, tc := range []struct{ name, tok, code string }{{"50000 socket error", fxSocketError, "50000"}, {"99999 unknown error", fxUnknownError, "99999"}} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1561109504, 0)
			// The outer token is as published and verifies; its nested JWT
			// was signed with a secret that is not public.
			if _, err := Verify(tc.tok, VerifyOptions{Alg: HS256, Secret: []byte(seedSecret), Now: now}); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			cfg := Config{JWTUsername: "live2_autojwt", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
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
		cfg := Config{JWTUsername: "someone_else", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
		if _, err := cfg.VerifyResponse(fxAppleAuth, time.Unix(1606203414, 0)); !errors.Is(err, ErrMismatch) {
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

// TestPublicNestedJWTWithoutTermurl: the fixture's nested JWT carries the
// money fields but not termurl; the response is for the order Tender issued.
func TestPublicNestedJWTWithoutTermurl(t *testing.T) {
	cfg := Config{JWTUsername: "autoapi", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	r, err := cfg.VerifyResponse(fxAppleAuth, time.Unix(1606203414, 0))
	if err != nil {
		t.Fatalf("VerifyResponse: %v", err)
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

// TestPublic70001InDoubt: 70001 is "Uncertain result" in the SDKs' list.
func TestPublic70001InDoubt(t *testing.T) {
	cfg := Config{JWTUsername: "jwt_user", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	r, err := cfg.VerifyResponse(fxMerchantDecline, time.Unix(1605603469, 0))
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
	// The legacy example with padded header and payload, signed over the
	// padded segments as received.
	segs := strings.Split(legacyV2, ".")
	pad := func(s string) string { return s + strings.Repeat("=", (4-len(s)%4)%4) }
	signing := pad(segs[0]) + "." + pad(segs[1])
	if pad(segs[1]) == segs[1] {
		t.Fatal("the example needs no padding; pick another")
	}
	tok := signing + "." + base64.URLEncoding.EncodeToString(mac(hasher(HS256), []byte("secret"), signing))
	legacy := Config{JWTUsername: "x", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte("secret")}
	if _, err := legacy.VerifyResponse(tok, time.Unix(1561549076, 0)); err != nil {
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
