// Package trustpayments speaks Trust Payments' (formerly Secure Trading)
// JWT protocol used by its JavaScript library and mobile SDKs, and its
// Webservices JSON API, and implements tender.Connector for it.
package trustpayments

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Algorithms Trust Payments supports for JWTs. Signing with a private key
// (RS*, ES*) is not supported (seed, "Het genereren van de signature").
const (
	HS256 = "HS256"
	HS384 = "HS384"
	HS512 = "HS512"
)

// ValidAlgorithm reports whether alg is one of HS256, HS384, HS512.
func ValidAlgorithm(alg string) bool {
	return alg == HS256 || alg == HS384 || alg == HS512
}

func hasher(alg string) func() hash.Hash {
	switch alg {
	case HS256:
		return sha256.New
	case HS384:
		return sha512.New384
	case HS512:
		return sha512.New
	}
	return nil
}

// Token verification failures. The CLI prints their text as the reason.
var (
	ErrMalformed = errors.New("malformed token")
	ErrAlgorithm = errors.New("algorithm not accepted")
	ErrSignature = errors.New("bad signature")
	ErrExpired   = errors.New("expired")
	ErrFuture    = errors.New("issued in the future")
)

// b64 is base64url without padding, what Tender writes (notes §3.1:
// "Base64Url encoded, rather than standard Base64"). b64Padded reads a
// segment that a producer padded with '=': the notes (§5.1) say to accept
// both. Standard base64 ('+', '/') is still refused.
var (
	b64       = base64.RawURLEncoding.Strict()
	b64Padded = base64.URLEncoding.Strict()
)

// decodeSegment decodes one JWT segment, padded or not.
func decodeSegment(p string) ([]byte, error) {
	if strings.HasSuffix(p, "=") {
		return b64Padded.DecodeString(p)
	}
	return b64.DecodeString(p)
}

// Sign returns the compact JWT of claims (the exact JSON bytes that become
// the payload segment) signed with alg and secret. The header is
// {"alg":"<alg>","typ":"JWT"}, as in the seed's examples.
func Sign(alg string, secret []byte, claims []byte) (string, error) {
	h := hasher(alg)
	if h == nil {
		return "", fmt.Errorf("trustpayments: sign: %w: %q", ErrAlgorithm, alg)
	}
	if !json.Valid(claims) {
		return "", errors.New("trustpayments: sign: claims are not JSON")
	}
	header := `{"alg":"` + alg + `","typ":"JWT"}`
	signing := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(claims)
	return signing + "." + b64.EncodeToString(mac(h, secret, signing)), nil
}

func mac(h func() hash.Hash, secret []byte, signing string) []byte {
	m := hmac.New(h, secret)
	m.Write([]byte(signing))
	return m.Sum(nil)
}

// Token is a decoded compact JWT. Nothing in it is trusted unless it came
// from Verify.
type Token struct {
	Raw        string
	Alg        string // header alg
	HeaderJSON []byte // decoded header bytes
	ClaimsJSON []byte // decoded payload bytes
	Claims     map[string]json.RawMessage
	Signature  []byte
}

// Parse splits and decodes a compact JWT without checking its signature.
// Each segment must be base64url, padded or not (notes §5.1); the header and claims
// must be JSON objects; the header must name an alg. typ is not required
// (gateway responses sometimes omit it, notes §3.1).
func Parse(raw string) (*Token, error) {
	if len(raw) > maxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxTokenLen)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d segments, want 3", ErrMalformed, len(parts))
	}
	seg := make([][]byte, 3)
	for i, p := range parts {
		b, err := decodeSegment(p)
		if err != nil {
			return nil, fmt.Errorf("%w: segment %d is not base64url", ErrMalformed, i+1)
		}
		seg[i] = b
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(seg[0], &hdr); err != nil || hdr == nil {
		return nil, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	var alg string
	if err := json.Unmarshal(hdr["alg"], &alg); err != nil || alg == "" {
		return nil, fmt.Errorf("%w: header has no alg", ErrMalformed)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(seg[1], &claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	return &Token{Raw: raw, Alg: alg, HeaderJSON: seg[0], ClaimsJSON: seg[1], Claims: claims, Signature: seg[2]}, nil
}

// maxTokenLen bounds what we decode; real response tokens are a few KB.
const maxTokenLen = 64 << 10

// VerifyOptions say what a valid token is.
type VerifyOptions struct {
	Alg string // the algorithm accepted (pinned); required
	// Also lists further HMAC algorithms accepted besides Alg (see
	// Config.ResponseAlgorithms); anything that is not HS256/384/512 in
	// it is ignored.
	Also   []string
	Secret []byte
	Now    time.Time
	// MaxAge is how long after iat the token is valid; 0 means
	// DefaultMaxAge. IgnoreExpiry skips the iat checks altogether.
	MaxAge       time.Duration
	Skew         time.Duration // allowance for clocks; 0 means DefaultSkew
	IgnoreExpiry bool
}

// Verify parses raw and checks it: the header's alg is the pinned one or
// one of o.Also, always an HMAC one (so "none", asymmetric algorithms and
// other switches are refused), the HMAC over the
// received segments matches in constant time, and iat is a number within
// [now-MaxAge-Skew, now+Skew].
func Verify(raw string, o VerifyOptions) (*Token, error) {
	t, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	if !ValidAlgorithm(o.Alg) {
		return nil, fmt.Errorf("%w: no valid pinned algorithm configured", ErrAlgorithm)
	}
	if t.Alg != o.Alg && !(ValidAlgorithm(t.Alg) && slices.Contains(o.Also, t.Alg)) {
		return nil, fmt.Errorf("%w: token uses %q, expected %s", ErrAlgorithm, truncate(t.Alg, 16), strings.Join(append([]string{o.Alg}, o.Also...), " or "))
	}
	dot := strings.LastIndexByte(raw, '.')
	want := mac(hasher(t.Alg), o.Secret, raw[:dot])
	if !hmac.Equal(want, t.Signature) {
		return nil, ErrSignature
	}
	if o.IgnoreExpiry {
		return t, nil
	}
	iat, err := t.IssuedAt()
	if err != nil {
		return nil, err
	}
	maxAge, skew := o.MaxAge, o.Skew
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	if iat.After(o.Now.Add(skew)) {
		return nil, fmt.Errorf("%w: iat %s", ErrFuture, iat.UTC().Format(time.RFC3339))
	}
	if o.Now.Sub(iat) > maxAge+skew {
		return nil, fmt.Errorf("%w: issued at %s", ErrExpired, iat.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// IssuedAt returns the iat claim. It must be a JSON number of seconds; a
// fraction is allowed (the gateway accepted 1565346539.7898018, notes §3.2).
func (t *Token) IssuedAt() (time.Time, error) {
	raw, ok := t.Claims["iat"]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: no iat", ErrMalformed)
	}
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return time.Time{}, fmt.Errorf("%w: iat is not a number", ErrMalformed)
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%w: iat %s is not seconds since the epoch", ErrMalformed, truncate(n.String(), 20))
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// StringClaim returns a string claim, "" if absent or not a string.
func (t *Token) StringClaim(name string) string {
	var s string
	if raw, ok := t.Claims[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// PrettyJSON re-indents b for display (the CLI); invalid JSON is returned as is.
func PrettyJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return b
	}
	return buf.Bytes()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
