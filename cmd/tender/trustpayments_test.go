package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The seed's request JWT (protocols/trustpayments.md §1.1, TV-1) and its secret.
const (
	seedToken  = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJqd3QudXNlciIsImlhdCI6MTU5NDY0NzI2OCwicGF5bG9hZCI6eyJiYXNlYW1vdW50IjoxMDUwLCJjdXJyZW5jeWlzbzNhIjoiR0JQIiwic2l0ZXJlZmVyZW5jZSI6InRlc3Rfc2l0ZTEyMzQ1IiwiYWNjb3VudHR5cGVkZXNjcmlwdGlvbiI6IkVDT00ifX0.A6gAnUq2NCSlIiLOcDyzhuo4E8Bm5oPWSKbkjOKKHhc"
	seedSecret = "your-256-bit-secret"
)

func TestTrustPaymentsJWTSign(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"trustpayments", "jwt", "sign", "--secret", seedSecret, "--iss", "jwt.user", "--iat", "1594647268",
		`{"baseamount": 1050, "currencyiso3a": "GBP", "sitereference": "test_site12345", "accounttypedescription": "ECOM"}`}, nil, &out, &errb)
	if err != nil {
		t.Fatal(err, errb.String())
	}
	if got := strings.TrimSpace(out.String()); got != seedToken {
		t.Fatalf("got %s", got)
	}
	if err := run(context.Background(), []string{"trustpayments", "jwt", "sign", "--secret", "s", "--iss", "u", "[1]"}, nil, &out, &errb); err == nil {
		t.Fatal("non-object payload accepted")
	}
}

func TestTrustPaymentsJWTVerify(t *testing.T) {
	at := time.Unix(1594647268, 0).Add(time.Minute)
	var out, errb bytes.Buffer
	if err := tpJWTVerify([]string{"--secret", seedSecret, seedToken}, at, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var got struct{ Header, Claims map[string]any }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Header["alg"] != "HS256" || got.Claims["iss"] != "jwt.user" {
		t.Fatalf("output %s (%v)", out.String(), err)
	}
	for _, tc := range []struct {
		args []string
		now  time.Time
		want string
	}{
		{[]string{"--secret", "other", seedToken}, at, "bad signature"},
		{[]string{"--secret", seedSecret, "--alg", "HS512", seedToken}, at, "algorithm"},
		{[]string{"--secret", seedSecret, seedToken}, at.Add(3 * time.Hour), "expired"},
		{[]string{"--secret", seedSecret, "--max-age", "30s", seedToken}, at.Add(10 * time.Minute), "expired"}, // 30s + 5m skew allowance
		{[]string{"--secret", seedSecret, "not.a.token"}, at, "malformed"},
	} {
		out.Reset()
		err := tpJWTVerify(tc.args, tc.now, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	if err := tpJWTVerify([]string{"--secret", seedSecret, "--ignore-expiry", seedToken}, at.Add(1000*time.Hour), &out, &errb); err != nil {
		t.Errorf("--ignore-expiry: %v", err)
	}
}
