package sepay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

// key returns one RSA-2048 key for the package's tests (generation is slow).
func key(t testing.TB) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

func selfSigned(t testing.TB, k *rsa.PrivateKey) []byte {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// The canonical strings of notes §4.3 and §4.4.
func TestCanonicalStrings(t *testing.T) {
	tests := []struct {
		name string
		s    Schema
		v    Values
		want string
	}{
		{"start request §3.5/§4.3, callbackurl absent keeps trailing ;", StartTransaction.Request,
			Values{"key_index": "0", "version": "2", "login": "shop-login", "sid": "12345678",
				"transactionref": "K7Q2M9X1A", "merchantref": "4711", "amount": "12.34"},
			"0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;"},
		{"start request with callback", StartTransaction.Request,
			Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R",
				"amount": "1.00", "callbackurl": "https://x/notify"},
			"0;2;l;1;R;;1.00;https://x/notify"},
		{"status request §4.3", GetTransactionStatus.Request,
			Values{"key_index": "0", "version": "2", "login": "shop-login", "sid": "12345678",
				"transactionref": "K7Q2M9X1A", "timeout": "0"},
			"0;2;shop-login;12345678;K7Q2M9X1A;0"},
		{"cancel request §4.3", CancelTransaction.Request,
			Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R", "force": "false"},
			"0;2;l;1;R;false"},
		{"start result §4.4, message null", StartTransaction.Result,
			Values{"key_index": "0", "version": "2", "login": "shop-login", "sid": "12345678",
				"transactionref": "K7Q2M9X1A", "merchantref": "4711", "amount": "12.34", "status": "00",
				"terminalip": "192.168.1.50", "terminalport": "4000"},
			"0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;00;;192.168.1.50;4000"},
		{"status result §4.4, 14 fields", GetTransactionStatus.Result,
			Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R",
				"merchantref": "m", "amount": "5.00", "transactiontime": "2024-01-02T10:11:12",
				"status": "00", "brand": "Maestro", "ticket": "@LF"},
			"0;2;l;1;R;m;5.00;2024-01-02T10:11:12;;;00;;Maestro;@LF"},
		{"cancel result §4.4", CancelTransaction.Result,
			Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R", "status": "17"},
			"0;2;l;1;R;17;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Canonical(tt.v); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCanonicalCandidates(t *testing.T) {
	v := Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R",
		"amount": "12.3", "status": "00", "terminalport": "0"}
	got := CanonicalCandidates(StartTransaction.Result, v)
	want := []string{
		"0;2;l;1;R;;12.3;00;;;0", "0;2;l;1;R;;12.3;00;;;",
		"0;2;l;1;R;;12.30;00;;;0", "0;2;l;1;R;;12.30;00;;;",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestSignVerify(t *testing.T) {
	k := key(t)
	sig, err := Sign(k, "0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;")
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 344 { // §8.2: 256 bytes, 344 base64 characters
		t.Errorf("signature is %d characters, want 344", len(sig))
	}
	if err := Verify(&k.PublicKey, "0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;", sig); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"0;2;shop-login;12345678;K7Q2M9X1A;4711;12.35;", "0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34"} {
		if err := Verify(&k.PublicKey, bad, sig); !errors.Is(err, ErrSignature) {
			t.Errorf("Verify(%q) = %v, want ErrSignature", bad, err)
		}
	}
	if err := Verify(&k.PublicKey, "x", "not base64!"); !errors.Is(err, ErrSignature) {
		t.Errorf("bad base64: %v", err)
	}
	// VerifyAny returns the candidate that verified, and with no candidate
	// at all nothing verified.
	good := "0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;"
	if c, err := VerifyAny(&k.PublicKey, []string{"x", good, "y"}, sig); err != nil || c != good {
		t.Errorf("VerifyAny = %q, %v", c, err)
	}
	for _, cands := range [][]string{nil, {"x", "y"}} {
		if c, err := VerifyAny(&k.PublicKey, cands, sig); !errors.Is(err, ErrSignature) || c != "" {
			t.Errorf("VerifyAny(%q) = %q, %v, want ErrSignature", cands, c, err)
		}
	}
	if err := VerifyMessage(&k.PublicKey, GetTransactionStatus.Result, &Message{Values: Values{}}); !errors.Is(err, ErrSignature) {
		t.Errorf("message without a signature: %v", err)
	}
}

func TestProductionCertificate(t *testing.T) {
	if !strings.HasPrefix(ProductionCertificatePEM, "-----BEGIN CERTIFICATE-----\n") {
		t.Errorf("header not repaired: %q", ProductionCertificatePEM[:30])
	}
	if _, rest := pem.Decode([]byte(seedCertificate)); rest == nil {
		t.Fatal("unreachable")
	}
	if b, _ := pem.Decode([]byte(seedCertificate)); b != nil {
		t.Error("the seed's four-dash header decodes without repair; the repair is untested")
	}
	c := ProductionCertificate()
	if got := Fingerprint(c); got != ProductionFingerprint {
		t.Errorf("fingerprint %s, want %s", got, ProductionFingerprint)
	}
	if c.Subject.CommonName != "wecr.services.sepay.nl" || c.NotAfter.Year() != 2050 {
		t.Errorf("subject %v until %v", c.Subject, c.NotAfter)
	}
	if k := c.PublicKey.(*rsa.PublicKey); k.N.BitLen() != 2048 || k.E != 65537 {
		t.Errorf("key %d bits e=%d", k.N.BitLen(), k.E)
	}
}

func TestParsePrivateKey(t *testing.T) {
	k := key(t)
	p1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	for _, b := range [][]byte{MarshalPrivateKey(k), p1} {
		got, err := ParsePrivateKey(b)
		if err != nil || !got.Equal(k) {
			t.Errorf("ParsePrivateKey: %v", err)
		}
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := ParsePrivateKey(MarshalPrivateKey(small)); err == nil {
		t.Error("1024-bit key accepted")
	}
	if _, err := ParsePrivateKey(selfSigned(t, k)); err == nil {
		t.Error("certificate accepted as key")
	}
	if _, err := ParsePrivateKey([]byte("junk")); err == nil {
		t.Error("junk accepted")
	}
}

// Signatures made here verify with OpenSSL, and OpenSSL's verify here.
func TestOpenSSLInterop(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	k := key(t)
	keyFile, certFile := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")
	os.WriteFile(keyFile, MarshalPrivateKey(k), 0o600)
	os.WriteFile(certFile, selfSigned(t, k), 0o644)
	msg := "0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;"
	msgFile, sigFile, pubFile := filepath.Join(dir, "m"), filepath.Join(dir, "s"), filepath.Join(dir, "p.pem")
	os.WriteFile(msgFile, []byte(msg), 0o644)

	sig, _ := Sign(k, msg)
	raw, _ := base64.StdEncoding.DecodeString(sig)
	os.WriteFile(sigFile, raw, 0o644)
	if out, err := exec.Command(openssl, "x509", "-in", certFile, "-pubkey", "-noout", "-out", pubFile).CombinedOutput(); err != nil {
		t.Fatalf("openssl x509: %v %s", err, out)
	}
	if out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pubFile, "-signature", sigFile, msgFile).CombinedOutput(); err != nil {
		t.Fatalf("openssl rejects our signature: %v %s", err, out)
	}

	out, err := exec.Command(openssl, "dgst", "-sha256", "-sign", keyFile, msgFile).Output()
	if err != nil {
		t.Fatalf("openssl sign: %v", err)
	}
	if err := Verify(&k.PublicKey, msg, base64.StdEncoding.EncodeToString(out)); err != nil {
		t.Fatalf("OpenSSL's signature rejected: %v", err)
	}
	if string(out) != string(raw) { // PKCS#1 v1.5 is deterministic
		t.Error("OpenSSL and Go signatures differ")
	}
}

func TestAmounts(t *testing.T) {
	for cents, want := range map[int64]string{0: "0.00", 1: "0.01", 99: "0.99", 100: "1.00", 1234: "12.34", 100000005: "1000000.05", -150: "-1.50"} {
		if got := FormatAmount(cents); got != want {
			t.Errorf("FormatAmount(%d) = %q, want %q", cents, got, want)
		}
		if back, err := ParseAmount(want); err != nil || back != cents {
			t.Errorf("ParseAmount(%q) = %d, %v", want, back, err)
		}
	}
	for s, want := range map[string]int64{"12.3": 1230, "12": 1200, "12.340": 1234} {
		if got, err := ParseAmount(s); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "1,00", "12.345", "abc", "1e3", ".5", "99999999999999999999"} {
		if _, err := ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) accepted", bad)
		}
	}
}
