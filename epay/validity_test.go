package epay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"
)

// TestSignatureValidityFollowsAccount: a provider signature three hours old
// is still good for an H_24 account and stale for an H_2 (food and
// beverage) one; the account's signature_duration decides, not a fixed 24 h.
func TestSignatureValidityFollowsAccount(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	net, vat, total := int64(800), int64(104), int64(904)
	branch := 0
	inv := &Invoice{IssuerVAT: "999999999", Date: "2026-03-02", Branch: &branch, Type: "11.1", Series: "A", Number: "7",
		NetAmount: &net, VATAmount: &vat, TotalAmount: &total}
	now := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	signedAt := now.Add(-3 * time.Hour)
	c := ClearText{UID: inv.UID(), Timestamp: FormatTimestamp(signedAt), Net: net, VAT: vat, Total: total, Payable: total, TID: "08104148"}
	sig, err := Sign(key, c.String())
	if err != nil {
		t.Fatal(err)
	}
	for dur, ok := range map[string]bool{"H_24": true, "H_2": false} {
		err := CheckSigned(c, sig, &key.PublicKey, inv, total, "08104148", now, SignatureValidity(dur))
		if (err == nil) != ok {
			t.Errorf("%s: a 3 h old signature: %v, want accepted=%v", dur, err, ok)
		}
	}
	if SignatureValidity("H_2") != 2*time.Hour || SignatureValidity("H_24") != 24*time.Hour || SignatureValidity("") != 24*time.Hour {
		t.Error("SignatureValidity")
	}
}
