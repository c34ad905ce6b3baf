// Package webhook signs and verifies the webhooks Tender sends to
// merchants. Deliveries follow Standard Webhooks
// (https://www.standardwebhooks.com): headers webhook-id, webhook-timestamp
// and webhook-signature ("v1,<base64>" HMAC-SHA256 of "id.timestamp.body",
// keyed with the base64 key of the "whsec_<base64>" secret), so that the
// reference libraries of every language verify them. A merchant's Go server
// checks a delivery with ParseStandard or VerifyStandard.
//
// Deprecated scheme, still sent for one release: the header
// Tender-Signature is "t=<unix seconds>,v1=<hex>", where hex is
// HMAC-SHA256, keyed with the endpoint's secret (the whole "whsec_..."
// string as bytes), of t, ".", and the raw request body; Verify and Parse
// check it. In both, the timestamp is signed so that a captured delivery
// cannot be replayed later than the receiver's tolerance.
//
// The package imports nothing of Tender, so a merchant can depend on it
// alone.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	//
	// Deprecated: verify StandardSignatureHeader (VerifyStandard); this
	// header is sent for one more release.
	SignatureHeader = "Tender-Signature"
	// EventIDHeader carries the event's id (the payload's "id"), as
	// IDHeader does.
	//
	// Deprecated: use IDHeader (webhook-id).
	EventIDHeader = "Tender-Event-Id"
)

// DefaultTolerance is how old (or how far in the future) a signature's
// timestamp may be for Verify, if the receiver has no reason to choose
// another.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify. None of them carries the secret or the expected
// signature.
var (
	ErrNoSignature  = errors.New("webhook: no Tender-Signature header, or it has no t= and v1= parts")
	ErrSignature    = errors.New("webhook: the signature does not match the body (wrong secret, or the body was changed)")
	ErrTimestamp    = errors.New("webhook: the signature's timestamp is outside the tolerance (a replayed or delayed delivery, or a wrong clock)")
	ErrEmptySecret  = errors.New("webhook: empty secret")
	errBadTimestamp = errors.New("webhook: the signature's t= is not a Unix time in seconds")
)

// Sign returns the Tender-Signature header value for body sent at t.
//
// Deprecated: Tender signs with SignStandard too; receivers verify that.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks that header (the Tender-Signature value) signs body with
// secret, and that its timestamp is within tolerance of now. Pass the raw
// body exactly as received, before any JSON parsing. Several v1= values
// are allowed (any one matching is enough), so that a secret can later be
// rolled over without a gap; unknown schemes are ignored.
//
// Deprecated: use VerifyStandard.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return ErrEmptySecret
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return errBadTimestamp
	}
	want := mac(secret, ts, body)
	match := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			match = true
		}
	}
	if !match {
		return ErrSignature
	}
	// Checked after the MAC, so that ErrTimestamp only ever describes a
	// delivery that Tender did sign: a stale one, or a receiver's wrong clock.
	d := now.Sub(time.Unix(sec, 0))
	if d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	return nil
}

// Event is the payload of a delivery.
type Event struct {
	ID        string    `json:"id"`     // "evt_...", unique per event: de-duplicate on it
	Object    string    `json:"object"` // "event"
	Type      string    `json:"type"`   // e.g. "payment.captured"
	CreatedAt time.Time `json:"created_at"`
	Data      struct {
		// Object is the payment as GET /v1/payments/{id} returns it when
		// the delivery is sent (it may have moved on since the event).
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// Parse verifies a delivery by its Tender-Signature header (see Verify)
// and decodes its payload.
//
// Deprecated: use ParseStandard.
func Parse(secret, header string, body []byte, tolerance time.Duration, now time.Time) (*Event, error) {
	if err := Verify(secret, header, body, tolerance, now); err != nil {
		return nil, err
	}
	return decodeEvent(body)
}
