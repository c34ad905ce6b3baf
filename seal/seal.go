// Package seal encrypts provider credentials at rest with AES-256-GCM under
// Tender's master key, so that a copy of the database alone reveals no
// secret.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key's size in bytes (AES-256).
const KeySize = 32

// version prefixes every sealed value so the format can change later.
const version byte = 1

// Sealer seals and opens values under one master key.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext. The context (for example "account:acct_1") is
// authenticated but not stored: a sealed value copied to another row does
// not open there.
func (s *Sealer) Seal(plaintext []byte, context string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	out := append([]byte{version}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, []byte(context)), nil
}

// ErrOpen is returned when a sealed value does not open: wrong master key,
// wrong context, or a damaged value.
var ErrOpen = errors.New("seal: sealed value does not open with this master key")

// Open decrypts a value sealed with the same key and context.
func (s *Sealer) Open(sealed []byte, context string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ParseKey decodes a master key given as 64 hex digits or as standard or
// URL-safe base64 of 32 bytes, and refuses one that is plainly not random
// (see CheckKey).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, CheckKey(b)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, CheckKey(b)
		}
	}
	return nil, fmt.Errorf("seal: master key must be 32 bytes as 64 hex digits or base64")
}

// minDistinct is the fewest different byte values a master key may have.
// 32 random bytes have about 30; fewer than 16 happens by chance with a
// probability far below 2^-60, but catches all-zero keys, a byte repeated,
// short patterns repeated ("abab…", "0123456789abcdef" twice) and keys
// typed from a few characters.
const minDistinct = 16

// ErrWeakKey is returned for a master key with no entropy to speak of.
var ErrWeakKey = errors.New("seal: master key is not random (all zeros, a repeated byte or pattern, or a counting sequence); generate one with `openssl rand -hex 32`")

// CheckKey refuses a key that is plainly not random: too few distinct
// bytes, bytes that count up or down by a fixed step (00 01 02 …), or a
// pattern repeated.
func CheckKey(key []byte) error {
	if len(key) != KeySize {
		return fmt.Errorf("seal: master key must be %d bytes, got %d", KeySize, len(key))
	}
	seen := map[byte]bool{}
	for _, b := range key {
		seen[b] = true
	}
	if len(seen) < minDistinct {
		return ErrWeakKey
	}
	step, counting := key[1]-key[0], true
	for i := 2; i < len(key); i++ {
		if key[i]-key[i-1] != step {
			counting = false
			break
		}
	}
	if counting {
		return ErrWeakKey
	}
	for period := 1; period <= len(key)/2; period++ {
		if bytes.Equal(key[period:], key[:len(key)-period]) {
			return ErrWeakKey // one half of the key repeats the other
		}
	}
	return nil
}

// LoadOrCreateKeyFile reads the key in path, or, if the file does not exist
// and create is true, writes a new random key there (mode 0600). It is how
// sandbox mode gets a master key without configuration.
func LoadOrCreateKeyFile(path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, fmt.Errorf("seal: read master key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seal: generate master key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seal: write master key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("seal: write master key file: %w", err)
	}
	return key, f.Close()
}
