package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"hmac_key":"s3cret"}`)
	sealed, err := s.Seal(secret, "account:a1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := s.Open(sealed, "account:a1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v; want %q", got, err, secret)
	}
	if _, err := s.Open(sealed, "account:a2"); !errors.Is(err, ErrOpen) {
		t.Fatalf("open under another context: err = %v, want ErrOpen", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(sealed, "account:a1"); !errors.Is(err, ErrOpen) {
		t.Fatalf("open under another key: err = %v, want ErrOpen", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed, "account:a1"); !errors.Is(err, ErrOpen) {
		t.Fatalf("open damaged value: err = %v, want ErrOpen", err)
	}
	if _, err := s.Open(nil, "account:a1"); !errors.Is(err, ErrOpen) {
		t.Fatalf("open empty value: err = %v, want ErrOpen", err)
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("New accepted a 16-byte key")
	}
}

func TestParseKey(t *testing.T) {
	hexKey := "e7294203bd889a041a99c22a326dc7a1e9bffcea47663553ef49136d95896a2f"
	k, err := ParseKey(hexKey + "\n")
	if err != nil || k[31] != 0x2f {
		t.Fatalf("ParseKey(hex) = %x, %v", k, err)
	}
	if _, err := ParseKey("5ylCA72ImgQamcIqMm3Hoem//OpHZjVT70kTbZWJai8="); err != nil {
		t.Fatalf("ParseKey(base64): %v", err)
	}
	if _, err := ParseKey("tooshort"); err == nil {
		t.Fatal("ParseKey accepted a short key")
	}
}

// TestParseKeyRefusesNoEntropy: a key that is 32 bytes but not random is
// refused, however it is written.
func TestParseKeyRefusesNoEntropy(t *testing.T) {
	for name, k := range map[string]string{
		"all zeros":        strings.Repeat("00", 32),
		"one byte":         strings.Repeat("ab", 32),
		"two bytes":        strings.Repeat("abcd", 16),
		"16-byte pattern":  strings.Repeat("000102030405060708090a0b0c0d0e0f", 2)[:62] + "0f",
		"counting up":      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"counting down":    "ff" + "fefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0",
		"base64 of zeros":  base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"typed characters": hex.EncodeToString([]byte("passwordpasswordpasswordpassword")),
	} {
		if _, err := ParseKey(k); !errors.Is(err, ErrWeakKey) {
			t.Errorf("%s: ParseKey = %v, want ErrWeakKey", name, err)
		}
	}
	path := filepath.Join(t.TempDir(), "master.key")
	os.WriteFile(path, []byte(strings.Repeat("00", 32)+"\n"), 0o600)
	if _, err := LoadOrCreateKeyFile(path, true); !errors.Is(err, ErrWeakKey) {
		t.Errorf("zero key file: %v, want ErrWeakKey", err)
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	if _, err := LoadOrCreateKeyFile(path, false); err == nil {
		t.Fatal("missing key file without create: no error")
	}
	k1, err := LoadOrCreateKeyFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKeyFile(path, true)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load = %x, %v; want the same key %x", k2, err, k1)
	}
}
