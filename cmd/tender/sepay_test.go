package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/sepay"
)

func runSepay(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"sepay"}, args...), os.Getenv, &out, &errb)
	return out.String(), err
}

func TestSepayKeygenSignVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	out, err := runSepay(t, "keygen", "--out", dir, "--cn", "Shop BV WECR")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _ := os.ReadFile(filepath.Join(dir, "sepay-cert.pem"))
	cert, err := sepay.ParseCertificate(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "SHA-256 fingerprint: "+sepay.Fingerprint(cert)) || !strings.Contains(out, "Send to Sepay") {
		t.Errorf("output:\n%s", out)
	}
	if !regexp.MustCompile(`([0-9A-F]{2}:){31}[0-9A-F]{2}`).MatchString(out) {
		t.Error("no fingerprint printed")
	}
	if cert.NotAfter.Before(time.Date(2050, 1, 8, 0, 0, 0, 0, time.UTC)) || cert.Subject.CommonName != "Shop BV WECR" ||
		cert.SignatureAlgorithm.String() != "SHA256-RSA" {
		t.Errorf("certificate %v until %v, %v", cert.Subject, cert.NotAfter, cert.SignatureAlgorithm)
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, "sepay-key.pem"))
	key, err := sepay.ParsePrivateKey(keyPEM)
	if err != nil || key.N.BitLen() != 2048 || !key.PublicKey.Equal(cert.PublicKey) {
		t.Fatalf("key: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "sepay-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode())
	}
	if _, err := runSepay(t, "keygen", "--out", dir); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("overwrite: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "sepay-key.pem"))
	if !bytes.Equal(after, keyPEM) {
		t.Fatal("key overwritten")
	}

	text := "0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;"
	sig, err := runSepay(t, "sign", "--key", filepath.Join(dir, "sepay-key.pem"), text)
	if err != nil {
		t.Fatal(err)
	}
	sig = strings.TrimSpace(sig)
	certFile := filepath.Join(dir, "sepay-cert.pem")
	if out, err := runSepay(t, "verify", "--cert", certFile, "--signature", sig, text); err != nil || !strings.Contains(out, "valid") {
		t.Fatalf("verify: %v", err)
	}
	if _, err := runSepay(t, "verify", "--cert", certFile, "--signature", sig, text+"x"); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Fatalf("verify of other text: %v", err)
	}

	// The certificate is what OpenSSL (and XCA) read.
	if openssl, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command(openssl, "x509", "-in", certFile, "-noout", "-fingerprint", "-sha256").Output()
		if err != nil || !strings.Contains(string(out), sepay.Fingerprint(cert)) {
			t.Errorf("openssl fingerprint %s: %v", out, err)
		}
	}
}

func TestSepayUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"keygen"}, {"sign", "--key", "x"}, {"verify", "--cert", "x", "t"}} {
		if _, err := runSepay(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
