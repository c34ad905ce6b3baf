package computop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MAC returns Paygate's HMAC-SHA256 of the fields joined with '*', in
// upper-case hex (notes §2.2). Empty fields keep their separators: a new
// payment has no PayID, so its MAC input starts with '*'.
//
// Requests: MAC(key, PayID, TransID, MerchantID, Amount, Currency).
// Results:  MAC(key, PayID, TransID, mid, Status, Code).
func MAC(key []byte, fields ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(fields, "*")))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// VerifyMAC compares a received MAC with the one computed over fields, in
// constant time and without regard to hex case.
func VerifyMAC(key []byte, got string, fields ...string) bool {
	want := MAC(key, fields...)
	return hmac.Equal([]byte(strings.ToUpper(got)), []byte(want))
}

// RequestMAC is the MAC of a request: PayID*TransID*MerchantID*Amount*Currency.
func RequestMAC(key []byte, payID, transID, merchantID, amount, currency string) string {
	return MAC(key, payID, transID, merchantID, amount, currency)
}

// ResultMAC is the MAC of a result to URLSuccess, URLFailure and URLNotify:
// PayID*TransID*mid*Status*Code.
func ResultMAC(key []byte, payID, transID, mid, status, code string) string {
	return MAC(key, payID, transID, mid, status, code)
}
