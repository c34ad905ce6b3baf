package seal

import (
	"bytes"
	"errors"
	"path/filepath"
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
	hexKey := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	k, err := ParseKey(hexKey + "\n")
	if err != nil || k[31] != 0x1f {
		t.Fatalf("ParseKey(hex) = %x, %v", k, err)
	}
	if _, err := ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="); err != nil {
		t.Fatalf("ParseKey(base64): %v", err)
	}
	if _, err := ParseKey("tooshort"); err == nil {
		t.Fatal("ParseKey accepted a short key")
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
