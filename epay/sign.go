package epay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	_ "time/tzdata" // the clear text is in Greek local time; containers may lack zoneinfo
)

// AmountField names one of the four amounts of the clear text.
type AmountField int

// The four amounts of the clear text, in integer cents.
const (
	Net AmountField = iota
	VAT
	Total
	Payable
)

// TimestampLayout is the clear text's date/time format, YYYYMMDDhhmmss.
const TimestampLayout = "20060102150405"

// ClearText is the AADE provider signature's signed text (notes §5.2):
// UID;MARK;YYYYMMDDhhmmss;four amounts;TID.
type ClearText struct {
	UID  string
	Mark string // "" for a simultaneous payment (see emptyMark)
	// Timestamp is the signature time as written: YYYYMMDDhhmmss in Greek
	// local time. Time converts it.
	Timestamp string
	Net       int64 // cents
	VAT       int64
	Total     int64
	Payable   int64
	TID       string // exactly 8 characters
}

func (c *ClearText) amount(f AmountField) *int64 {
	switch f {
	case Net:
		return &c.Net
	case VAT:
		return &c.VAT
	case Total:
		return &c.Total
	default:
		return &c.Payable
	}
}

// String renders the clear text exactly as it is signed.
func (c ClearText) String() string {
	var b strings.Builder
	b.WriteString(c.UID)
	b.WriteByte(';')
	if c.Mark == "" {
		b.WriteString(emptyMark)
	} else {
		b.WriteString(c.Mark)
	}
	b.WriteByte(';')
	b.WriteString(c.Timestamp)
	for _, f := range amountOrder {
		b.WriteByte(';')
		b.WriteString(strconv.FormatInt(*c.amount(f), 10))
	}
	b.WriteByte(';')
	b.WriteString(c.TID)
	return b.String()
}

// Time returns the signature time.
func (c ClearText) Time() (time.Time, error) {
	return time.ParseInLocation(TimestampLayout, c.Timestamp, greekTime)
}

// FormatTimestamp renders t as the clear text's Greek local time.
func FormatTimestamp(t time.Time) string {
	return t.In(greekTime).Format(TimestampLayout)
}

// ParseClearText parses a signed clear text, checking what Mellon's validator
// checks (notes §5.2): exactly 8 fields, a timestamp, integer amounts and an
// 8-character TID.
func ParseClearText(s string) (ClearText, error) {
	f := strings.Split(s, ";")
	if len(f) != 8 {
		return ClearText{}, fmt.Errorf("clear text has %d fields, want 8", len(f))
	}
	c := ClearText{UID: f[0], Mark: f[1], Timestamp: f[2], TID: f[7]}
	if c.UID == "" {
		return ClearText{}, errors.New("clear text has no UID")
	}
	if c.Mark != emptyMark && !allDigits(c.Mark) {
		return ClearText{}, errors.New("clear text MARK is not a number")
	}
	if len(c.Timestamp) != len(TimestampLayout) || !allDigits(c.Timestamp) {
		return ClearText{}, errors.New("clear text timestamp is not YYYYMMDDhhmmss")
	}
	if _, err := c.Time(); err != nil {
		return ClearText{}, errors.New("clear text timestamp is not a valid date and time")
	}
	for i, fld := range amountOrder {
		v := f[3+i]
		if v == "" || len(v) > 15 || !allDigits(v) {
			return ClearText{}, fmt.Errorf("clear text amount %d is not an integer number of cents", i+1)
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		*c.amount(fld) = n
	}
	if len(c.TID) != 8 {
		return ClearText{}, errors.New("clear text TID is not 8 characters")
	}
	return c, nil
}

// Sign signs the clear text with ECDSA P-256 / SHA-256 and returns the
// signature as Impact sends it: base64 of the DER encoding.
func Sign(key *ecdsa.PrivateKey, clear string) (string, error) {
	h := sha256.Sum256([]byte(clear))
	der, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// ErrBadSignature is returned by Verify when the signature does not match.
var ErrBadSignature = errors.New("the signature does not match the clear text")

// Verify checks an AADE provider signature over clear. The signature may be
// base64 or hex of the DER encoding, or base64 or hex of the raw 64-byte r‖s
// (notes §5.1: all three are seen in the wild).
func Verify(pub *ecdsa.PublicKey, clear, signature string) error {
	sig, err := DecodeSignature(signature)
	if err != nil {
		return err
	}
	h := sha256.Sum256([]byte(clear))
	if ecdsa.VerifyASN1(pub, h[:], sig) {
		return nil
	}
	if len(sig) == 64 {
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if ecdsa.Verify(pub, h[:], r, s) {
			return nil
		}
	}
	return ErrBadSignature
}

// DecodeSignature returns the bytes of a hex or base64 signature.
func DecodeSignature(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the signature is empty")
	}
	if len(s)%2 == 0 && isHex(s) {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("the signature is neither hex nor base64")
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ParsePublicKey parses a P-256 public key in PEM (PKIX "PUBLIC KEY") or as
// bare base64 of the SPKI DER, the form AADE publishes.
func ParsePublicKey(s string) (*ecdsa.PublicKey, error) {
	var der []byte
	if b, _ := pem.Decode([]byte(s)); b != nil {
		der = b.Bytes
	} else {
		d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, errors.New("public key is neither PEM nor base64")
		}
		der = d
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("public key is not an ECDSA P-256 key")
	}
	return pub, nil
}

// MarshalPublicKey renders a public key as PEM.
func MarshalPublicKey(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
