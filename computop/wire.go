// Package computop speaks Computop Paygate for Wero (EPI) payments: the
// plaintext key=value request string, its HMAC-SHA256 MAC, Blowfish-ECB (or
// AES-CBC) encryption into hex Data with Len, the server-to-server calls
// capture.aspx, reverse.aspx and inquire.aspx, and a tender.Connector.
//
// The wire format and crypto here are shared by the connector and by the
// simulator in computop/sim.
package computop

import (
	"errors"
	"fmt"
	"strings"
)

// Param is one key=value pair of a Paygate parameter string.
type Param struct {
	Key   string
	Value string
}

// Params is an ordered Paygate parameter string. Keys are matched without
// regard to case, because Paygate returns them in either case ("mid" and
// "MID", "refnr" and "RefNr"; seed: "the key ... should not be checked
// case-sensitive").
type Params []Param

// Get returns the value of the first parameter whose key equals key in any
// case, or "".
func (ps Params) Get(key string) string {
	v, _ := ps.Lookup(key)
	return v
}

// Lookup is Get that also reports whether the key is present.
func (ps Params) Lookup(key string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Key, key) {
			return p.Value, true
		}
	}
	return "", false
}

// Add appends key=value.
func (ps *Params) Add(key, value string) { *ps = append(*ps, Param{key, value}) }

// AddIf appends key=value when value is not empty (optional fields).
func (ps *Params) AddIf(key, value string) {
	if value != "" {
		ps.Add(key, value)
	}
}

// Encode joins the parameters as Paygate expects them inside Data:
// "k1=v1&k2=v2", values not URL-encoded (notes §2.1). A key that is empty or
// holds '&' or '=', or a value that holds '&', would change the meaning of
// the string, so it is refused rather than escaped.
func (ps Params) Encode() (string, error) {
	var b strings.Builder
	for i, p := range ps {
		if p.Key == "" || strings.ContainsAny(p.Key, "&=") {
			return "", fmt.Errorf("computop: parameter key %q is empty or holds '&' or '='", p.Key)
		}
		if strings.Contains(p.Value, "&") {
			return "", fmt.Errorf("computop: parameter %s holds '&', which Paygate's format cannot carry", p.Key)
		}
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(p.Value)
	}
	return b.String(), nil
}

// ErrMalformed is returned (wrapped) for provider input that cannot be parsed.
var ErrMalformed = errors.New("malformed Paygate message")

// ParseParams splits a decrypted Paygate string: on '&', then on the first
// '=' only, with no URL-decoding (notes §3.5). Empty segments (a trailing or
// doubled '&') are skipped; a segment without '=' or with an empty key is
// malformed. Order and unknown keys are kept as they came.
func ParseParams(s string) (Params, error) {
	var ps Params
	for seg := range strings.SplitSeq(s, "&") {
		if seg == "" {
			continue
		}
		k, v, ok := strings.Cut(seg, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("computop: segment %q is not key=value: %w", clip(seg), ErrMalformed)
		}
		ps = append(ps, Param{k, v})
	}
	return ps, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
