package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of the Standard Webhooks scheme (https://www.standardwebhooks.com),
// which every delivery carries.
const (
	// IDHeader carries the event id ("evt_..."), the payload's "id":
	// receivers de-duplicate on it.
	IDHeader = "webhook-id"
	// TimestampHeader carries the time of the attempt in Unix seconds.
	TimestampHeader = "webhook-timestamp"
	// StandardSignatureHeader carries one or more space-separated
	// "v1,<base64 HMAC-SHA256>" signatures of "id.timestamp.body", keyed
	// with the base64-decoded part of the secret after "whsec_". During a
	// secret roll there is one per valid secret.
	StandardSignatureHeader = "webhook-signature"
)

// SecretPrefix starts every endpoint secret: "whsec_<base64 key>".
const SecretPrefix = "whsec_"

// ErrSecret is returned for a secret that is not "whsec_" and a base64 key.
var ErrSecret = errors.New("webhook: the secret is not whsec_ followed by a base64 key")

// Key returns the HMAC key of a secret: the base64 after "whsec_" (or the
// whole string without the prefix), decoded. Standard base64 is what the
// Standard Webhooks libraries decode; the URL-safe alphabet of secrets
// made by earlier Tender versions is accepted too (see README, Webhooks).
func Key(secret string) ([]byte, error) {
	s := strings.TrimPrefix(secret, SecretPrefix)
	if s == "" {
		return nil, ErrEmptySecret
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) > 0 {
			return k, nil
		}
	}
	return nil, ErrSecret
}

// SignStandard returns the "v1,<base64>" signature of a delivery with
// event id msgID sent at t, for the webhook-signature header. Join several
// with a space to sign with more than one secret.
func SignStandard(secret, msgID string, t time.Time, body []byte) (string, error) {
	key, err := Key(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(standardMAC(key, msgID, strconv.FormatInt(t.Unix(), 10), body)), nil
}

func standardMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte("."))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// VerifyStandard checks a delivery's Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature in h) against the raw body and
// secret, and that the timestamp is within tolerance of now. Any one of
// the signatures matching is enough; signatures of other versions than v1
// are ignored.
func VerifyStandard(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return ErrEmptySecret
	}
	key, err := Key(secret)
	if err != nil {
		return err
	}
	id, ts, sigHeader := h.Get(IDHeader), h.Get(TimestampHeader), h.Get(StandardSignatureHeader)
	if id == "" || ts == "" || sigHeader == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return errBadTimestamp
	}
	want := standardMAC(key, id, ts, body)
	match := false
	for _, s := range strings.Fields(sigHeader) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		if b, err := base64.StdEncoding.DecodeString(sig); err == nil && hmac.Equal(b, want) {
			match = true
		}
	}
	if !match {
		return ErrSignature
	}
	d := now.Sub(time.Unix(sec, 0))
	if d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	return nil
}

// ParseStandard verifies a delivery by its Standard Webhooks headers (see
// VerifyStandard) and decodes its payload. Use it in new code; Parse
// checks the deprecated Tender-Signature header.
func ParseStandard(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) (*Event, error) {
	if err := VerifyStandard(secret, h, body, tolerance, now); err != nil {
		return nil, err
	}
	return decodeEvent(body)
}

func decodeEvent(body []byte) (*Event, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, errors.New("webhook: the payload is not a Tender event: " + err.Error())
	}
	return &ev, nil
}
