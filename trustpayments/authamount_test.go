package trustpayments

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestAuthElementAmountBinds: an AUTH element in a verified response decides
// a payment only when its amount is the issued one, lower as well as
// higher; with a nested request JWT (whose money fields match) and without
// one.
func TestAuthElementAmountBinds(t *testing.T) {
	cfg := Config{JWTUsername: "tender_v3", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	now := time.Unix(appleAuthIat, 0)
	nestedPayload := map[string]any{
		"currencyiso3a": "GBP", "baseamount": "1000", "sitereference": "test_site12345",
		"accounttypedescription": "ECOM", "orderreference": "pay_x", "requesttypedescriptions": []string{},
	}
	nested := sign(t, HS256, seedSecret, map[string]any{"iss": "tender_v3", "iat": appleAuthIat, "payload": nestedPayload})
	issued := issuedFor(t, nested, nil)
	response := func(jwt string, amount int64) *Response {
		t.Helper()
		tok := sign(t, HS256, seedSecret, responseClaims{Iat: appleAuthIat, Payload: responsePayload{
			RequestReference: "W1-amount01", Version: WSVersion, JWT: jwt, Secrand: "tenderamt",
			Response: []map[string]string{authElement(map[string]string{
				"orderreference": "pay_x", "baseamount": strconv.FormatInt(amount, 10)})},
		}})
		r, err := cfg.VerifyResponse(tok, now)
		if err != nil {
			t.Fatalf("VerifyResponse: %v", err)
		}
		return r
	}
	for _, withNested := range []bool{true, false} {
		jwt := ""
		if withNested {
			jwt = nested
		}
		for amount, ok := range map[int64]bool{1000: true, 999: false, 1: false, 1001: false} {
			err := response(jwt, amount).CheckIssued(issued)
			if ok && err != nil {
				t.Errorf("nested %v, AUTH of %d for 1000: %v", withNested, amount, err)
			}
			if !ok && !errors.Is(err, ErrMismatch) {
				t.Errorf("nested %v, AUTH of %d for 1000: %v, want a mismatch", withNested, amount, err)
			}
		}
	}
}
