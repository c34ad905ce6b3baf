package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/webhook"
)

// TestStandardKnownVector: the example of the Standard Webhooks
// specification's reference libraries.
func TestStandardKnownVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	at := time.Unix(1614265330, 0)
	got, err := webhook.SignStandard(secret, id, at, []byte(body))
	if err != nil || got != want {
		t.Fatalf("SignStandard = %q, %v; want %q", got, err, want)
	}
	h := http.Header{}
	h.Set(webhook.IDHeader, id)
	h.Set(webhook.TimestampHeader, "1614265330")
	h.Set(webhook.StandardSignatureHeader, want)
	if err := webhook.VerifyStandard(secret, h, []byte(body), webhook.DefaultTolerance, at); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyStandard(t *testing.T) {
	const secret = "whsec_c2VjcmV0LWtleS1vZi1hbi1lbmRwb2ludC0xMjM0"
	const other = "whsec_b3RoZXIta2V5LW9mLWFuLWVuZHBvaW50LTU2Nzg5"
	body := []byte(`{"id":"evt_42","object":"event","type":"payment.captured"}`)
	sig, err := webhook.SignStandard(secret, "evt_42", now, body)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, _ := webhook.SignStandard(other, "evt_42", now, body)
	headers := func(id, ts, sig string) http.Header {
		h := http.Header{}
		h.Set("Webhook-Id", id)
		h.Set("Webhook-Timestamp", ts)
		h.Set("Webhook-Signature", sig)
		return h
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	tests := []struct {
		name   string
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"round trip", secret, headers("evt_42", ts, sig), string(body), now, nil},
		{"clock a little off", secret, headers("evt_42", ts, sig), string(body), now.Add(4 * time.Minute), nil},
		{"rolled secret: several signatures", secret, headers("evt_42", ts, otherSig+" "+sig), string(body), now, nil},
		{"rolled secret: the old one", other, headers("evt_42", ts, otherSig+" "+sig), string(body), now, nil},
		{"unknown version ignored", secret, headers("evt_42", ts, "v1a,xyz "+sig), string(body), now, nil},
		{"wrong secret", other, headers("evt_42", ts, sig), string(body), now, webhook.ErrSignature},
		{"other id", secret, headers("evt_43", ts, sig), string(body), now, webhook.ErrSignature},
		{"re-dated", secret, headers("evt_42", strconv.FormatInt(now.Unix()+60, 10), sig), string(body), now, webhook.ErrSignature},
		{"tampered body", secret, headers("evt_42", ts, sig), strings.Replace(string(body), "42", "43", 1), now, webhook.ErrSignature},
		{"old", secret, headers("evt_42", ts, sig), string(body), now.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"no headers", secret, http.Header{}, string(body), now, webhook.ErrNoSignature},
		{"empty secret", "", headers("evt_42", ts, sig), string(body), now, webhook.ErrEmptySecret},
		{"not base64", "whsec_!!!", headers("evt_42", ts, sig), string(body), now, webhook.ErrSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.VerifyStandard(tt.secret, tt.h, []byte(tt.body), webhook.DefaultTolerance, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyStandard = %v, want %v", err, tt.want)
			}
		})
	}
	ev, err := webhook.ParseStandard(secret, headers("evt_42", ts, sig), body, webhook.DefaultTolerance, now)
	if err != nil || ev.ID != "evt_42" || ev.Type != "payment.captured" {
		t.Fatalf("ParseStandard = %+v, %v", ev, err)
	}
}

// TestKeyOfEarlierSecrets: secrets made before Standard Webhooks used the
// URL-safe alphabet without padding; they still give their key.
func TestKeyOfEarlierSecrets(t *testing.T) {
	k, err := webhook.Key("whsec_-_8")
	if err != nil || len(k) != 2 || k[0] != 0xfb || k[1] != 0xff {
		t.Fatalf("Key = %x, %v", k, err)
	}
}
