package computop

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	// Paygate mandates Blowfish (notes §2.5); it is deprecated for new
	// designs, not for speaking an existing protocol.
	"golang.org/x/crypto/blowfish" //lint:ignore SA1019 the protocol requires it
)

// Algorithm is how a merchant's Data is encrypted. Blowfish is Paygate's
// default; Computop's helpdesk can switch a MerchantID to AES (notes §2.5).
type Algorithm string

// Algorithms.
const (
	Blowfish Algorithm = "blowfish"
	AES      Algorithm = "aes"
)

// Padding is how a plaintext is filled up to the cipher's block size.
// Receivers cut at Len and ignore it (notes §2.4), so any works; senders
// differ, and the simulator can imitate each.
type Padding int

// Paddings.
const (
	PadZero  Padding = iota // 0x00 bytes: Computop's own sample (Blowfish default)
	PadSpace                // 0x20 bytes: the "Computop example implementation" vector
	PadPKCS                 // PKCS#5/#7: pretix, celements, OpenSSL (AES default)
)

// Cipher encrypts and decrypts Paygate Data with one merchant's password.
type Cipher struct {
	alg   Algorithm
	key   []byte
	block cipher.Block
	// Rand is the source of AES IVs; crypto/rand when nil.
	Rand io.Reader
	// LowerHex makes Encrypt emit lower-case hex (PHP's bin2hex) instead of
	// upper case.
	LowerHex bool
}

// NewCipher returns a cipher for the merchant's password. A Blowfish
// password is used as raw bytes, 1 to 56 of them (Go's blowfish, like most
// libraries, refuses longer keys; notes §2.4, §12.13). An AES password must
// be 16, 24 or 32 bytes (AES-128/192/256).
func NewCipher(alg Algorithm, key []byte) (*Cipher, error) {
	c := &Cipher{alg: alg, key: append([]byte(nil), key...)}
	var err error
	switch alg {
	case Blowfish:
		if len(key) < 1 || len(key) > 56 {
			return nil, fmt.Errorf("computop: a Blowfish key must be 1 to 56 bytes, not %d", len(key))
		}
		c.block, err = blowfish.NewCipher(c.key)
	case AES:
		if n := len(key); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("computop: an AES key must be 16, 24 or 32 bytes, not %d", n)
		}
		c.block, err = aes.NewCipher(c.key)
	default:
		return nil, fmt.Errorf("computop: unknown encryption %q (want blowfish or aes)", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("computop: %w", err)
	}
	return c, nil
}

// Algorithm returns the cipher's algorithm.
func (c *Cipher) Algorithm() Algorithm { return c.alg }

// Len is Paygate's Len of a plaintext: its length in characters (runes), as
// Computop's own sample computes it with mb_strlen (notes §2.3). For ASCII it
// is the byte count.
func Len(plain string) int { return utf8.RuneCountInString(plain) }

// Encrypt encrypts a plaintext parameter string with the default padding
// (zero bytes for Blowfish, PKCS#7 for AES) and returns Len and hex Data.
func (c *Cipher) Encrypt(plain string) (length int, data string, err error) {
	pad := PadZero
	if c.alg == AES {
		pad = PadPKCS
	}
	return c.EncryptPadded(plain, pad)
}

// EncryptPadded is Encrypt with a chosen padding. AES always uses PKCS#7.
func (c *Cipher) EncryptPadded(plain string, pad Padding) (length int, data string, err error) {
	bs := c.block.BlockSize()
	src := []byte(plain)
	if c.alg == AES {
		pad = PadPKCS
	}
	n := len(src)
	switch pad {
	case PadZero, PadSpace:
		fill := byte(0)
		if pad == PadSpace {
			fill = ' '
		}
		for len(src)%bs != 0 {
			src = append(src, fill)
		}
	case PadPKCS:
		k := bs - n%bs
		for range k {
			src = append(src, byte(k))
		}
	default:
		return 0, "", fmt.Errorf("computop: unknown padding %d", pad)
	}
	enc := c.hex
	if c.alg == Blowfish {
		dst := make([]byte, len(src))
		for i := 0; i < len(src); i += bs {
			c.block.Encrypt(dst[i:i+bs], src[i:i+bs])
		}
		return Len(plain), enc(dst), nil
	}
	iv := make([]byte, bs)
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, iv); err != nil {
		return 0, "", fmt.Errorf("computop: AES IV: %w", err)
	}
	dst := make([]byte, len(src))
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(dst, src)
	return Len(plain), enc(iv) + "-" + enc(dst), nil
}

func (c *Cipher) hex(b []byte) string {
	s := hex.EncodeToString(b)
	if c.LowerHex {
		return s
	}
	return strings.ToUpper(s)
}

// maxData bounds the hex Data a receiver decrypts (a Wero request is about
// 1 KB of hex; an ArticleList can make it a few KB).
const maxData = 256 << 10

// Decrypt decrypts hex Data (either case) and cuts the plaintext at Len,
// following notes §3.4: AES when Data holds '-', else Blowfish-ECB; Len in
// characters, falling back to bytes; whatever follows must be padding (0x00,
// 0x20, PKCS bytes, also whole extra blocks); Len larger than the plaintext
// is an error. Text that is not UTF-8 is read as ISO-8859-1.
func (c *Cipher) Decrypt(lenStr, data string) (string, error) {
	n, err := parseLen(lenStr)
	if err != nil {
		return "", err
	}
	if len(data) == 0 || len(data) > maxData {
		return "", fmt.Errorf("computop: Data is empty or too long (%d characters): %w", len(data), ErrMalformed)
	}
	bs := c.block.BlockSize()
	var plain []byte
	if ivHex, ctHex, isAES := strings.Cut(data, "-"); isAES {
		if c.alg != AES {
			return "", fmt.Errorf("computop: AES Data for a Blowfish merchant: %w", ErrMalformed)
		}
		iv, err1 := hex.DecodeString(ivHex)
		ct, err2 := hex.DecodeString(ctHex)
		if err1 != nil || err2 != nil || len(iv) != bs || len(ct) == 0 || len(ct)%bs != 0 {
			return "", fmt.Errorf("computop: AES Data is not hex IV-ciphertext of whole blocks: %w", ErrMalformed)
		}
		plain = make([]byte, len(ct))
		cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(plain, ct)
	} else {
		if c.alg != Blowfish {
			return "", fmt.Errorf("computop: Blowfish Data for an AES merchant: %w", ErrMalformed)
		}
		ct, err := hex.DecodeString(data)
		if err != nil || len(ct)%bs != 0 {
			return "", fmt.Errorf("computop: Data is not hex of whole 8-byte blocks: %w", ErrMalformed)
		}
		plain = make([]byte, len(ct))
		for i := 0; i < len(ct); i += bs {
			c.block.Decrypt(plain[i:i+bs], ct[i:i+bs])
		}
	}
	return cutAtLen(plain, n)
}

// parseLen parses Len: decimal digits only.
func parseLen(s string) (int, error) {
	if s == "" || len(s) > 7 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("computop: Len %q is not a number: %w", clip(s), ErrMalformed)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("computop: Len %q is not a positive number: %w", s, ErrMalformed)
	}
	return n, nil
}

// cutAtLen truncates a decrypted plaintext at n characters (runes), or n
// bytes when that is what the sender counted.
func cutAtLen(plain []byte, n int) (string, error) {
	if !utf8.Valid(trimPadding(plain)) {
		// ISO-8859-1 (notes §12.2): one byte per character.
		if n > len(plain) || !isPadding(plain[n:]) || plain[n-1] == 0 {
			return "", lenMismatch(n, len(plain))
		}
		return latin1(plain[:n]), nil
	}
	runeCut := -1 // byte offset after n runes
	count := 0
	for i := range string(plain) {
		if count == n {
			runeCut = i
			break
		}
		count++
	}
	if runeCut < 0 && count == n {
		runeCut = len(plain)
	}
	// A cut is right when what follows is padding and it keeps no padding
	// NUL (no text holds NUL: a Len counted in bytes would otherwise leave
	// one, notes §11.2 F7, and a Len too large would leave several).
	ok := func(cut int) bool {
		return cut >= 0 && cut <= len(plain) && isPadding(plain[cut:]) &&
			(cut == 0 || plain[cut-1] != 0) && utf8.Valid(plain[:cut])
	}
	if ok(runeCut) {
		return string(plain[:runeCut]), nil
	}
	if ok(n) {
		return string(plain[:n]), nil
	}
	return "", lenMismatch(n, len(plain))
}

func lenMismatch(n, have int) error {
	return fmt.Errorf("computop: Len %d does not fit the %d decrypted bytes: %w", n, have, ErrMalformed)
}

// isPadding reports whether b holds only padding bytes: 0x00, 0x20 or
// PKCS#7 values 0x01..0x10.
func isPadding(b []byte) bool {
	for _, c := range b {
		if c != 0 && c != ' ' && c > 0x10 {
			return false
		}
	}
	return true
}

func trimPadding(b []byte) []byte {
	i := len(b)
	for i > 0 && (b[i-1] == 0 || b[i-1] <= 0x10) {
		i--
	}
	return b[:i]
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
