package computop

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecrypt: any Len/Data pair either fails cleanly or yields a plaintext
// that re-encrypts (zero padding) to Data of the same block count.
func FuzzDecrypt(f *testing.F) {
	f.Add("260", f2Data)
	f.Add("260", f2DataSpace)
	f.Add("61", f7Data)
	f.Add("62", f7Data)
	f.Add("194", f8Data)
	f.Add("3", "00")
	f.Add("99999999", "0011")
	bf, _ := NewCipher(Blowfish, fxBFKey)
	ae, _ := NewCipher(AES, fxAESKey)
	f.Fuzz(func(t *testing.T, l, data string) {
		for _, c := range []*Cipher{bf, ae} {
			p, err := c.Decrypt(l, data)
			if err != nil {
				continue
			}
			n, _ := strconv.Atoi(l)
			if Len(p) != n && len(p) != n {
				t.Fatalf("Len %s but plaintext has %d runes, %d bytes", l, Len(p), len(p))
			}
			if strings.ContainsRune(p, 0) && p[len(p)-1] == 0 {
				t.Fatalf("plaintext keeps a padding NUL: %q", p)
			}
		}
	})
}

// FuzzParseParams: parsing never panics, and what parses re-encodes to a
// string that parses to the same parameters.
func FuzzParseParams(f *testing.F) {
	f.Add(f2Plain)
	f.Add(f1Plain)
	f.Add("a=b&&c==d&")
	f.Add("=x")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseParams(s)
		if err != nil {
			return
		}
		enc, err := ps.Encode()
		if err != nil {
			return // a value with '&' cannot occur; keys cannot hold '&'
		}
		again, err := ParseParams(enc)
		if err != nil || len(again) != len(ps) {
			t.Fatalf("round trip of %q: %v %v", s, again, err)
		}
		for i := range ps {
			if ps[i] != again[i] {
				t.Fatalf("round trip of %q: %v != %v", s, ps[i], again[i])
			}
		}
		_ = SpecWeroResult.Missing(ps)
		_ = SpecWero.Validate(ps, true)
	})
}

// FuzzOpenResult: callback bodies never panic, and only a result with a
// MAC that verifies is accepted.
func FuzzOpenResult(f *testing.F) {
	f.Add("Len=260&Data=" + f2Data)
	f.Add("len=230&DATA=" + f6Data + "&Custom1=x")
	f.Add("Len=1&Data=00")
	bf, _ := NewCipher(Blowfish, fxBFKey)
	m := &Merchant{ID: fxMerchant, Cipher: bf, HMACKey: fxHMACKey}
	f.Fuzz(func(t *testing.T, body string) {
		vs, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r, err := m.OpenResult(vs)
		if err != nil {
			return
		}
		if !VerifyMAC(fxHMACKey, r.Params.Get("MAC"), r.PayID, r.TransID, r.MID, r.Status, r.Code) || r.MID != fxMerchant {
			t.Fatalf("accepted an unverified result: %q", body)
		}
		_, _ = m.OpenActionResult(body, &SpecActionResult)
	})
}
