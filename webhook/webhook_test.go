package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/webhook"
)

const secret = "whsec_test_0123456789"

var now = time.Unix(1_790_000_000, 0)

func TestVerify(t *testing.T) {
	body := []byte(`{"id":42,"object":"event","type":"payment.captured"}`)
	good := webhook.Sign(secret, now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   string
		now    time.Time
		want   error
	}{
		{"round trip", secret, good, string(body), now, nil},
		{"clock a little ahead", secret, good, string(body), now.Add(4 * time.Minute), nil},
		{"clock a little behind", secret, good, string(body), now.Add(-4 * time.Minute), nil},
		{"wrong secret", "whsec_other", good, string(body), now, webhook.ErrSignature},
		{"tampered body", secret, good, strings.Replace(string(body), "42", "43", 1), now, webhook.ErrSignature},
		{"old timestamp", secret, good, string(body), now.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"future timestamp", secret, good, string(body), now.Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"re-dated signature", secret, strings.Replace(good, "t=1790000000", "t=1790000300", 1), string(body), now.Add(5 * time.Minute), webhook.ErrSignature},
		{"no header", secret, "", string(body), now, webhook.ErrNoSignature},
		{"no v1", secret, "t=1790000000", string(body), now, webhook.ErrNoSignature},
		{"unknown scheme only", secret, "t=1790000000,v0=abc", string(body), now, webhook.ErrNoSignature},
		{"empty secret", "", good, string(body), now, webhook.ErrEmptySecret},
		{"rolled secret: one of two matches", secret, good + ",v1=" + strings.Repeat("00", 32), string(body), now, nil},
		{"spaces", secret, strings.ReplaceAll(good, ",", ", "), string(body), now, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secret, tt.header, []byte(tt.body), webhook.DefaultTolerance, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), tt.secret) && tt.secret != "" {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

// TestSignKnownVector pins the scheme so that other languages' receivers
// can test against the same numbers (README, "Webhooks").
func TestSignKnownVector(t *testing.T) {
	// printf '1700000000.{"id":1}' | openssl dgst -sha256 -hmac whsec_example
	want := "t=1700000000,v1=a2b029aab4264ed92cbe54263f88ea8ef7cd0bef6578f1611962ee67666dd3ca"
	if got := webhook.Sign("whsec_example", time.Unix(1700000000, 0), []byte(`{"id":1}`)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestParse(t *testing.T) {
	body := []byte(`{"id":"evt_7","object":"event","type":"payment.failed","created_at":"2026-11-22T10:00:00Z","data":{"object":{"id":"pay1"}}}`)
	ev, err := webhook.Parse(secret, webhook.Sign(secret, now, body), body, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_7" || ev.Type != "payment.failed" || string(ev.Data.Object) != `{"id":"pay1"}` || ev.CreatedAt.IsZero() {
		t.Fatalf("Parse = %+v", ev)
	}
	if _, err := webhook.Parse(secret, webhook.Sign("whsec_x", now, body), body, time.Minute, now); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("Parse with a wrong signature = %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	body := []byte(`{"id":1}`)
	f.Add(webhook.Sign(secret, now, body))
	f.Add("t=,v1=")
	f.Add("t=-1,v1=zz,v1=" + strings.Repeat("ab", 32))
	sig := webhook.Sign(secret, now, body)
	mac := sig[strings.Index(sig, "v1=")+3:]
	f.Fuzz(func(t *testing.T, header string) {
		// It must not panic, and accept only headers that carry the MAC
		// (hex in any case) of their own timestamp.
		if webhook.Verify(secret, header, body, time.Hour, now) == nil && !strings.Contains(strings.ToLower(header), mac) {
			t.Fatalf("Verify accepted %q", header)
		}
	})
}
