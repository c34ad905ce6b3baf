package trustpayments

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

var tv1Time = time.Unix(1594647268, 0)

func TestSignReproducesSeedToken(t *testing.T) {
	// TV-1 and TV-4: signing TV-1's exact claim bytes gives the seed token.
	for _, tc := range []struct{ alg, want string }{{HS256, tv1}, {HS384, tv4HS384}, {HS512, tv4HS512}} {
		got, err := Sign(tc.alg, []byte(seedSecret), []byte(tv1Claims))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: Sign = %s\nwant %s", tc.alg, got, tc.want)
		}
	}
}

func TestVerifySeedTokens(t *testing.T) {
	for _, tc := range []struct {
		name, alg, tok string
		now            time.Time
	}{
		{"TV-1 request", HS256, tv1, tv1Time.Add(10 * time.Minute)},
		{"TV-2 response", HS256, tv2, tv1Time},
		{"TV-4 HS384", HS384, tv4HS384, tv1Time},
		{"TV-4 HS512", HS512, tv4HS512, tv1Time},
		{"TV-5 payload example", HS256, tv5, time.Unix(1559033849, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Verify(tc.tok, VerifyOptions{Alg: tc.alg, Secret: []byte(seedSecret), Now: tc.now})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.tok == tv1 && string(tok.ClaimsJSON) != tv1Claims {
				t.Errorf("claims = %s", tok.ClaimsJSON)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	secret := []byte(seedSecret)
	segs := strings.Split(tv1, ".")
	enc := base64.RawURLEncoding.EncodeToString
	tampered := segs[0] + "." + enc([]byte(strings.Replace(tv1Claims, "1050", "1", 1))) + "." + segs[2]
	noneTok := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + segs[1] + "."
	noneWithSig := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + segs[1] + "." + segs[2]
	// Algorithm switch: a valid HS384 token presented where HS256 is pinned,
	// and an HS256 header on the HS512 signature.
	switched := segs[0] + "." + strings.SplitN(tv4HS512, ".", 2)[1]
	padded := tv1 + "="
	stdB64 := strings.Replace(tv2, "XE-vjH2RWS7KLItZx6fa0G_A6mcmBAgxdMylP7IAt9w", "XE+vjH2RWS7KLItZx6fa0G/A6mcmBAgxdMylP7IAt9w", 1)
	now := tv1Time.Add(time.Minute)
	for _, tc := range []struct {
		name string
		tok  string
		o    VerifyOptions
		want error
	}{
		{"other secret", tv1, VerifyOptions{Alg: HS256, Secret: []byte("secret"), Now: now}, ErrSignature},
		{"TV-3 response with secret 'secret'", tv2, VerifyOptions{Alg: HS256, Secret: []byte("secret"), Now: now}, ErrSignature},
		{"empty secret", tv1, VerifyOptions{Alg: HS256, Now: now}, ErrSignature},
		{"tampered payload", tampered, VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrSignature},
		{"alg none, empty signature", noneTok, VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrAlgorithm},
		{"alg none with signature", noneWithSig, VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrAlgorithm},
		{"HS384 token, HS256 pinned", tv4HS384, VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrAlgorithm},
		{"HS256 token, HS512 pinned", tv1, VerifyOptions{Alg: HS512, Secret: secret, Now: now}, ErrAlgorithm},
		{"header switched to HS256 on HS512 signature", switched, VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrSignature},
		{"pinned none", noneWithSig, VerifyOptions{Alg: "none", Secret: secret, Now: now}, ErrAlgorithm},
		{"expired iat", tv1, VerifyOptions{Alg: HS256, Secret: secret, Now: tv1Time.Add(DefaultMaxAge + DefaultSkew + time.Second)}, ErrExpired},
		{"expired with short max age", tv1, VerifyOptions{Alg: HS256, Secret: secret, Now: tv1Time.Add(20 * time.Minute), MaxAge: 10 * time.Minute}, ErrExpired},
		{"iat in the future", tv1, VerifyOptions{Alg: HS256, Secret: secret, Now: tv1Time.Add(-DefaultSkew - time.Second)}, ErrFuture},
		{"wrong padding", padded + "=", VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrMalformed},
		{"standard base64", stdB64, VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrMalformed},
		{"two segments", segs[0] + "." + segs[1], VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrMalformed},
		{"four segments", tv1 + ".x", VerifyOptions{Alg: HS256, Secret: secret, Now: now}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.tok, tc.o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyWithinWindow(t *testing.T) {
	o := VerifyOptions{Alg: HS256, Secret: []byte(seedSecret)}
	for _, d := range []time.Duration{-DefaultSkew, 0, DefaultMaxAge, DefaultMaxAge + DefaultSkew} {
		o.Now = tv1Time.Add(d)
		if _, err := Verify(tv1, o); err != nil {
			t.Errorf("now=iat%+v: %v", d, err)
		}
	}
	o.Now = tv1Time.Add(100 * DefaultMaxAge)
	o.IgnoreExpiry = true
	if _, err := Verify(tv1, o); err != nil {
		t.Errorf("IgnoreExpiry: %v", err)
	}
}

func TestIssuedAtFractional(t *testing.T) {
	// notes §3.2: the gateway accepted iat 1565346539.7898018.
	claims := `{"iss":"jwt.user","iat":1565346539.7898018,"payload":{}}`
	tok, err := Sign(HS256, []byte("k"), []byte(claims))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, VerifyOptions{Alg: HS256, Secret: []byte("k"), Now: time.Unix(1565346600, 0)}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`"1565346539"`, `-1`, `1e300`, `null`} {
		tok, _ := Sign(HS256, []byte("k"), []byte(`{"iat":`+bad+`}`))
		if _, err := Verify(tok, VerifyOptions{Alg: HS256, Secret: []byte("k"), Now: time.Unix(1565346600, 0)}); !errors.Is(err, ErrMalformed) {
			t.Errorf("iat %s: err = %v, want malformed", bad, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{tv1, tv2, tv4HS384, tv5, "", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", tv1 + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err == nil && (tok.Alg == "" || tok.Claims == nil) {
			t.Fatalf("Parse(%q) accepted a token without alg or claims", s)
		}
		// Verify must never accept anything not signed with the key.
		if _, err := Verify(s, VerifyOptions{Alg: HS256, Secret: []byte("fuzz-key"), IgnoreExpiry: true}); err == nil {
			t.Fatalf("Verify accepted %q", s)
		}
	})
}
