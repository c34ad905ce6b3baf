package epay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
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

// The signature's age is checked inclusively at both ends: exactly the
// validity old, or exactly signatureSkew ahead of this clock, is current;
// one second more is not.
func TestSignatureTimeBoundaries(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	net, vat, total := int64(800), int64(104), int64(904)
	branch := 0
	inv := &Invoice{IssuerVAT: "999999999", Date: "2026-03-02", Branch: &branch, Type: "11.1", Series: "A", Number: "7",
		NetAmount: &net, VATAmount: &vat, TotalAmount: &total}
	now := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	validity := 2 * time.Hour
	for _, tc := range []struct {
		at time.Time
		ok bool
	}{
		{now.Add(-validity), true},
		{now.Add(-validity - time.Second), false},
		{now.Add(signatureSkew), true},
		{now.Add(signatureSkew + time.Second), false},
	} {
		c := ClearText{UID: inv.UID(), Timestamp: FormatTimestamp(tc.at), Net: net, VAT: vat, Total: total, Payable: total, TID: "08104148"}
		sig, err := Sign(key, c.String())
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSigned(c, sig, &key.PublicKey, inv, total, "08104148", now, validity); (err == nil) != tc.ok {
			t.Errorf("signed at %s (now %s): %v, want accepted=%v", tc.at, now, err, tc.ok)
		}
	}
}

// A follow-up's CustomerReference fits ePay's 50 characters whatever the
// payment id, differs by operation and kind, and is the same on a retry.
func TestOpReference(t *testing.T) {
	long := &tender.Payment{ID: strings.Repeat("p", 45)}
	short := &tender.Payment{ID: "pay01abc"}
	for _, p := range []*tender.Payment{long, short} {
		r := opReference(p, "r", "op1")
		if len(r) > 50 || r != opReference(p, "r", "op1") || r == opReference(p, "r", "op2") || r == opReference(p, "c", "op1") || r == p.ID {
			t.Errorf("opReference(%q) = %q", p.ID, r)
		}
		if !strings.HasPrefix(r, p.ID[:min(len(p.ID), 35)]) {
			t.Errorf("opReference(%q) = %q does not start with the payment id", p.ID, r)
		}
	}
	if r := opReference(long, "r", "op1"); len(r) != 50 {
		t.Errorf("a long id's reference is %d characters, want 50", len(r))
	}
	if r := opReference(short, "r", "op1"); len(r) != len(short.ID)+14 {
		t.Errorf("a short id's reference %q is cut", r)
	}
}
