package computop

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Merchant is one Paygate merchant's identity and keys: what both sides of
// the wire need to seal and open messages.
type Merchant struct {
	ID      string  // MerchantID, exactly as Computop assigned it (case matters for the MAC)
	Cipher  *Cipher // Blowfish or AES with the merchant's encryption password
	HMACKey []byte  // the "HMAC password"
}

// Seal encrypts a parameter string into the outer fields Paygate expects:
// MerchantID (in clear), Len and Data.
func (m *Merchant) Seal(ps Params) (url.Values, error) {
	plain, err := ps.Encode()
	if err != nil {
		return nil, err
	}
	n, data, err := m.Cipher.Encrypt(plain)
	if err != nil {
		return nil, err
	}
	return url.Values{"MerchantID": {m.ID}, "Len": {fmt.Sprint(n)}, "Data": {data}}, nil
}

// FormValue returns the first value of key in vs, matching the key without
// regard to case ("Data", "data", "DATA").
func FormValue(vs url.Values, key string) (string, bool) {
	if v, ok := vs[key]; ok && len(v) > 0 {
		return v[0], true
	}
	for k, v := range vs {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// Open decrypts the Len and Data of an inbound message (keys in any case)
// and parses the plaintext.
func (m *Merchant) Open(vs url.Values) (Params, error) {
	l, okL := FormValue(vs, "Len")
	d, okD := FormValue(vs, "Data")
	if !okL || !okD {
		return nil, fmt.Errorf("computop: message without Len and Data: %w", ErrMalformed)
	}
	plain, err := m.Cipher.Decrypt(l, d)
	if err != nil {
		return nil, err
	}
	return ParseParams(plain)
}

// Result is a Paygate result: of a payment (to URLSuccess, URLFailure,
// URLNotify), of a capture or reversal, or of an inquiry.
type Result struct {
	Params      Params // everything inside Data, as sent
	MID         string
	PayID       string
	XID         string
	TransID     string
	Status      string
	Code        string
	Description string
	UserData    string
	// Outer holds the parameters outside Data: the Custom pairs (Custom's
	// '|' turned into '&') and Plain. They are covered by neither the MAC nor
	// the encryption: untrusted (notes §4.4).
	Outer url.Values
}

// OK reports whether the result is a success: Code 00000000 and nothing else.
func (r *Result) OK() bool { return r.Code == CodeOK }

func newResult(ps Params) *Result {
	return &Result{
		Params: ps, MID: ps.Get("mid"), PayID: ps.Get("PayID"), XID: ps.Get("XID"),
		TransID: ps.Get("TransID"), Status: ps.Get("Status"), Code: ps.Get("Code"),
		Description: ps.Get("Description"), UserData: ps.Get("UserData"),
	}
}

// Errors of result verification.
var (
	ErrBadMAC       = errors.New("computop: result MAC does not verify")
	ErrWrongMID     = errors.New("computop: result is for another MerchantID")
	ErrNotEncrypted = errors.New("computop: result is not encrypted")
)

// OpenResult opens a payment result sent to URLSuccess, URLFailure or
// URLNotify: decrypts it, checks the mandatory fields, that mid is this
// merchant and that the MAC over PayID*TransID*mid*Status*Code verifies
// (constant time, either hex case). An unencrypted result is refused: Tender
// always asks for Response=encrypt (notes §3.1).
func (m *Merchant) OpenResult(vs url.Values) (*Result, error) {
	if _, ok := FormValue(vs, "Data"); !ok {
		return nil, ErrNotEncrypted
	}
	ps, err := m.Open(vs)
	if err != nil {
		return nil, err
	}
	if f := SpecWeroResult.Missing(ps); f != "" {
		return nil, fmt.Errorf("computop: result without %s: %w", f, ErrMalformed)
	}
	r := newResult(ps)
	r.Outer = outer(vs)
	if r.MID != m.ID {
		return nil, ErrWrongMID
	}
	if !VerifyMAC(m.HMACKey, ps.Get("MAC"), r.PayID, r.TransID, r.MID, r.Status, r.Code) {
		return nil, ErrBadMAC
	}
	return r, nil
}

// OpenActionResult reads the body of a capture.aspx, reverse.aspx or
// inquire.aspx response: a query string of Len and Data (plus Custom pairs),
// or, for errors Paygate raises before decryption, the fields in clear. It
// carries no MAC (notes §3.3).
func (m *Merchant) OpenActionResult(body string, spec *Spec) (*Result, error) {
	vs, err := url.ParseQuery(strings.TrimSpace(body))
	if err != nil {
		return nil, fmt.Errorf("computop: response is not a query string: %w", ErrMalformed)
	}
	var ps Params
	if _, ok := FormValue(vs, "Data"); ok {
		if ps, err = m.Open(vs); err != nil {
			return nil, err
		}
	} else {
		if ps, err = ParseParams(strings.TrimSpace(body)); err != nil {
			return nil, err
		}
		if ps.Get("Code") == "" {
			return nil, fmt.Errorf("computop: response holds neither Data nor Code: %w", ErrMalformed)
		}
		r := newResult(ps)
		if r.MID == "" {
			r.MID = ps.Get("MerchantID")
		}
		return r, nil // an error in clear: never a success
	}
	// A refusal needs only its Code; a success must be complete.
	if f := spec.Missing(ps); f != "" && (ps.Get("Code") == "" || ps.Get("Code") == CodeOK) {
		return nil, fmt.Errorf("computop: response without %s: %w", f, ErrMalformed)
	}
	r := newResult(ps)
	r.Outer = outer(vs)
	if r.MID != m.ID {
		return nil, ErrWrongMID
	}
	return r, nil
}

func outer(vs url.Values) url.Values {
	out := url.Values{}
	for k, v := range vs {
		switch strings.ToLower(k) {
		case "len", "data", "merchantid":
			continue
		}
		out[k] = v
	}
	return out
}

// CustomPairs turns a request's Custom value "k1=v1|k2=v2" into the pairs
// Paygate adds, in clear, to its response (notes §4.4).
func CustomPairs(custom string) []Param {
	var out []Param
	for seg := range strings.SplitSeq(custom, "|") {
		if k, v, ok := strings.Cut(seg, "="); ok && k != "" {
			out = append(out, Param{k, v})
		}
	}
	return out
}
