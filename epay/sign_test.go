package epay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// mellonTestKey is Mellon's published *test* public key
// (Mellon-Technologies/ProviderSignatureValidator public_key.pem), notes §5.6.
const mellonTestKey = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpzk6G8Y2bV3n539vK/+y7n4wZjD5
fmhCXuTSxo+bg8t4NEqy8WHWzF9SmHC7HnarnJ8p3gukw8Noxmavs7hPSw==
-----END PUBLIC KEY-----`

// Notes §5.6: the public AADE test vector.
const (
	vectorClear  = "D4F6A5F5C6123658F78369E5191ED5C9D73CB7AC;400013293980417;20240510164340;100;24;124;124;99000031"
	vectorHex    = "30450220519C499186513517B0786AD3C9AB765581451526004A684F7BB7BA51E51A0EDE022100FF7D2E4C5FC3663E6A7F3E03C2825FD381DA8DDF8F911980BBCB9B5CEEF1B3F1"
	vectorBase64 = "MEUCIFGcSZGGUTUXsHhq08mrdlWBRRUmAEpoT3u3ulHlGg7eAiEA/30uTF/DZj5qfz4DwoJf04Hajd+PkRmAu8ubXO7xs/E="
	// Notes §5.3/§5.6: the second Mellon vector (softPOS sample, Net 100,
	// VAT 24, Total 124, Paid 124, TID 01234567), which verifies only in the
	// order Net;VAT;Total;Payable.
	vector2Clear = "D4F6A5F5C6123658F78369E5191ED5C9D73CB7AC;400013293980417;20231114100000;100;24;124;124;01234567"
	vector2Hex   = "3046022100DC4350AD0ABB451701C9592D07A06EA7FB3DB021786BA72755E41D9452562833022100CE112AF4252C606862F2CB9FC1AC86FD47D2CC94DFFFFAF6CCD2FD699705E323"
)

func mellonKey(t testing.TB) *ecdsa.PublicKey {
	t.Helper()
	k, err := ParsePublicKey(mellonTestKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerifyAADETestVector(t *testing.T) {
	pub := mellonKey(t)
	der, _ := hex.DecodeString(vectorHex)
	if got := base64.StdEncoding.EncodeToString(der); got != vectorBase64 {
		t.Fatalf("notes' base64 and hex differ: %s", got)
	}
	for name, sig := range map[string]string{"hex": vectorHex, "hex lower": strings.ToLower(vectorHex), "base64": vectorBase64, "raw r||s": rawRS(t, der)} {
		if err := Verify(pub, vectorClear, sig); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := Verify(pub, vector2Clear, vector2Hex); err != nil {
		t.Errorf("second vector: %v", err)
	}
}

func rawRS(t *testing.T, der []byte) string {
	t.Helper()
	// Re-encode the DER signature as 64-byte r‖s with a tiny parser: the
	// vector's r and s are short-form lengths.
	if der[0] != 0x30 || der[2] != 0x02 {
		t.Fatal("unexpected DER")
	}
	rl := int(der[3])
	r := new(big.Int).SetBytes(der[4 : 4+rl])
	s := new(big.Int).SetBytes(der[4+rl+2:])
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return base64.StdEncoding.EncodeToString(out)
}

func TestVerifyRejectsAlteredVector(t *testing.T) {
	pub := mellonKey(t)
	c, err := ParseClearText(vectorClear)
	if err != nil {
		t.Fatal(err)
	}
	if c.String() != vectorClear {
		t.Fatalf("round trip: %s", c.String())
	}
	noMark := c
	noMark.Mark = ""
	reordered := "D4F6A5F5C6123658F78369E5191ED5C9D73CB7AC;400013293980417;20240510164340;124;100;24;124;99000031"
	reordered2 := "D4F6A5F5C6123658F78369E5191ED5C9D73CB7AC;400013293980417;20231114100000;124;100;24;124;01234567"
	for name, tc := range map[string][2]string{
		"mark removed":         {noMark.String(), vectorHex},
		"mark field dropped":   {strings.Replace(vectorClear, "400013293980417;", "", 1), vectorHex},
		"amounts reordered":    {reordered, vectorHex},
		"vector 2 reordered":   {reordered2, vector2Hex},
		"other TID":            {strings.Replace(vectorClear, "99000031", "99000032", 1), vectorHex},
		"signature of other":   {vectorClear, vector2Hex},
		"payable changed by 1": {strings.Replace(vectorClear, ";124;124;", ";124;125;", 1), vectorHex},
	} {
		if err := Verify(pub, tc[0], tc[1]); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
	if err := Verify(pub, vectorClear, "not a signature!"); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("garbage signature: %v", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := ClearText{UID: UID(InvoiceKey{"999999999", "2024-07-17", 0, "11.1", "A", "7"}),
		Timestamp: FormatTimestamp(time.Date(2024, 7, 17, 7, 39, 6, 0, time.UTC)),
		Net:       800, VAT: 104, Total: 904, Payable: 904, TID: "08104148"}
	if c.Timestamp != "20240717103906" {
		t.Fatalf("Greek summer time: got %s", c.Timestamp)
	}
	if got := FormatTimestamp(time.Date(2024, 1, 17, 7, 39, 6, 0, time.UTC)); got != "20240117093906" {
		t.Fatalf("Greek winter time: got %s", got)
	}
	want := c.UID + ";;20240717103906;800;104;904;904;08104148"
	if c.String() != want {
		t.Fatalf("clear text\n got %s\nwant %s", c.String(), want)
	}
	sig, err := Sign(key, c.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(&key.PublicKey, c.String(), sig); err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := Verify(&other.PublicKey, c.String(), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other key: %v", err)
	}
	pemText, err := MarshalPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePublicKey(pemText)
	if err != nil || !back.Equal(&key.PublicKey) {
		t.Fatalf("PEM round trip: %v", err)
	}
}

func TestParseClearTextRejects(t *testing.T) {
	for name, s := range map[string]string{
		"7 fields":        "U;;20240510164340;100;24;124;99000031",
		"9 fields":        "U;;20240510164340;100;24;124;124;99000031;x",
		"no uid":          ";;20240510164340;100;24;124;124;99000031",
		"bad timestamp":   "U;;2024051016434;100;24;124;124;99000031",
		"bad date":        "U;;20241310164340;100;24;124;124;99000031",
		"decimal amount":  "U;;20240510164340;1.00;24;124;124;99000031",
		"negative amount": "U;;20240510164340;-100;24;124;124;99000031",
		"empty amount":    "U;;20240510164340;;24;124;124;99000031",
		"short TID":       "U;;20240510164340;100;24;124;124;9900003",
		"long TID":        "U;;20240510164340;100;24;124;124;990000311",
		"letters in MARK": "U;X1;20240510164340;100;24;124;124;99000031",
	} {
		if _, err := ParseClearText(s); err == nil {
			t.Errorf("%s: accepted %q", name, s)
		}
	}
}

func TestUID(t *testing.T) {
	// Notes §4.1: the pre-image shape 999999999-2020-10-22-0-1.1-Α-2 (Greek
	// capital Alpha as series). The digest was computed with sha1sum.
	got := UID(InvoiceKey{IssuerVAT: "999999999", Date: "2020-10-22", Branch: 0, Type: "1.1", Series: "Α", Number: "2"})
	if want := "B6135D5377B0AA2A92264AB56B334169D0B25089"; got != want {
		t.Fatalf("UID = %s, want %s", got, want)
	}
	if UID(InvoiceKey{IssuerVAT: "999999999", Date: "2020-10-22", Branch: 1, Type: "1.1", Series: "Α", Number: "2"}) == got {
		t.Fatal("branch does not change the UID")
	}
}

func TestMarkRendering(t *testing.T) {
	m, ok := markForProviderData("")
	if !ok || m != nil || renderProviderDataMark(m) != "" {
		t.Fatal("empty MARK must map to null and back to empty")
	}
	m, ok = markForProviderData("400013293980417")
	if !ok || renderProviderDataMark(m) != "400013293980417" {
		t.Fatal("MARK round trip")
	}
	if _, ok := markForProviderData("12a"); ok {
		t.Fatal("non-numeric MARK accepted")
	}
	if signingAuthor("3") != "003" || signingAuthor("003") != "003" {
		t.Fatal("signing author")
	}
}

func FuzzParseClearText(f *testing.F) {
	f.Add(vectorClear)
	f.Add(vector2Clear)
	f.Add("U;;20240510164340;100;24;124;124;99000031")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClearText(s)
		if err != nil {
			return
		}
		c2, err := ParseClearText(c.String())
		if err != nil || c2 != c {
			t.Fatalf("round trip of %q: %v", s, err)
		}
	})
}

// An amount of the clear text has at most 15 digits (cents below
// tender.MaxAmount); the error names which amount, counted from 1.
func TestClearTextAmountDigits(t *testing.T) {
	fifteen, sixteen := strings.Repeat("9", 15), strings.Repeat("9", 16)
	if c, err := ParseClearText("U;;20240510164340;" + fifteen + ";0;" + fifteen + ";1;99000031"); err != nil || c.Net != 999999999999999 {
		t.Fatalf("15 digits: %+v %v", c, err)
	}
	for i, text := range []string{
		"U;;20240510164340;" + sixteen + ";0;1;1;99000031",
		"U;;20240510164340;1;" + sixteen + ";1;1;99000031",
		"U;;20240510164340;1;0;" + sixteen + ";1;99000031",
		"U;;20240510164340;1;0;1;" + sixteen + ";99000031",
	} {
		_, err := ParseClearText(text)
		if want := fmt.Sprintf("clear text amount %d is not an integer number of cents", i+1); err == nil || err.Error() != want {
			t.Errorf("16 digits in amount %d: %v, want %q", i+1, err, want)
		}
	}
}
