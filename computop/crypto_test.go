package computop

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// Keys of notes §11.2.
var (
	fxMerchant = "WeroTestShop"
	fxBFKey    = []byte("S1mulat0r-Bf-Key")
	fxHMACKey  = []byte("S1mulat0r-Hmac-Key-32-chars-long")
	fxAESKey   = []byte("S1mulat0r-AesKey")
)

func mustCipher(t testing.TB, alg Algorithm, key []byte) *Cipher {
	t.Helper()
	c, err := NewCipher(alg, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Third-party vectors, notes §11.1 B (spryker) and C (celements).
func TestBlowfishThirdPartyVectors(t *testing.T) {
	c := mustCipher(t, Blowfish, []byte("password"))
	n, data, err := c.Encrypt("plaintext")
	if err != nil || n != 9 || data != strings.ToUpper("14ec7a6da0fbb3e50a84b47302443328") {
		t.Fatalf("spryker: got %d %s %v", n, data, err)
	}
	ce := mustCipher(t, Blowfish, []byte("16CharKeyLength!"))
	const plain = "Unencrypted plain text!"
	for _, tc := range []struct {
		name string
		pad  Padding
		want string
	}{
		{"computop example (space)", PadSpace, "4105AAFDC6445BF2EB8242371136F4886413347EEB8731B9"},
		{"online tool (zero)", PadZero, "4105AAFDC6445BF2EB8242371136F488A4812B38A821E753"},
		{"pkcs5", PadPKCS, "4105AAFDC6445BF2EB8242371136F4882D9C8C8193853E80"},
	} {
		n, got, err := ce.EncryptPadded(plain, tc.pad)
		if err != nil || n != 23 || got != tc.want {
			t.Errorf("%s: encrypt = %d %s %v, want %s", tc.name, n, got, err, tc.want)
		}
		// Decryption accepts every padding, in either hex case.
		for _, d := range []string{tc.want, strings.ToLower(tc.want)} {
			if p, err := ce.Decrypt("23", d); err != nil || p != plain {
				t.Errorf("%s: decrypt = %q %v", tc.name, p, err)
			}
		}
	}
}

// Key schedule facts, notes §11.1 D.
func TestBlowfishKeySchedule(t *testing.T) {
	enc := func(key []byte) string {
		c := mustCipher(t, Blowfish, key)
		_, d, _ := c.Encrypt("12345678")
		return d
	}
	if got := enc([]byte("abc")); got != "5F16D854F8F12CF5" {
		t.Errorf("abc: %s", got)
	}
	if got := enc([]byte("abcabc")); got != "5F16D854F8F12CF5" {
		t.Errorf("abcabc: %s", got)
	}
	if got := enc(append([]byte("abc"), make([]byte, 13)...)); got != "518D5F51844AF3E9" {
		t.Errorf("abc+13 NUL: %s", got)
	}
	if _, err := NewCipher(Blowfish, bytes.Repeat([]byte("k"), 57)); err == nil {
		t.Error("57-byte Blowfish key accepted")
	}
	if _, err := NewCipher(Blowfish, nil); err == nil {
		t.Error("empty Blowfish key accepted")
	}
	if _, err := NewCipher(AES, []byte("short")); err == nil {
		t.Error("5-byte AES key accepted")
	}
}

func TestHMACVectors(t *testing.T) {
	// notes §11.1 B
	if got := MAC([]byte("password"), "value"); got != "18B40402BBF3FEED824E9F762B412F1108C4D678B2A067425B99963CD68B1D6A" {
		t.Errorf("spryker: %s", got)
	}
	// notes §11.1 C, lower-case in the source
	k := []byte("ComputopSecretHmacKey!")
	for _, tc := range []struct {
		fields []string
		want   string
	}{
		{[]string{"She sells sea shells by the sea shore."}, "5d286cc2c516e86470098ef7da266294fec3897035ba74da1ddcc60bd5732701"},
		{[]string{"payId", "transId", "merchantId", "2330", "CHF"}, "927c9bcc5eaee1ce9e904237c1c78ec746e99e14016d8fe1155e508e4b2ae2f8"},
		{[]string{"", "transId", "merchantId", "2330", "CHF"}, "4c4b41b2f0f5de8c1a30006bfbadb0c1ebd2a320301feb1eed785de5bf6d506b"},
		{[]string{"payId", "transId", "merchantId", "payed", "123"}, "04b7e62d9b0fc4e024edf416317861707261351a71b5fb1f464e11ec2e5d161a"},
	} {
		if got := MAC(k, tc.fields...); got != strings.ToUpper(tc.want) {
			t.Errorf("MAC(%q) = %s", tc.fields, got)
		}
		if !VerifyMAC(k, tc.want, tc.fields...) {
			t.Errorf("VerifyMAC(lower %q) failed", tc.fields)
		}
		if VerifyMAC(k, tc.want[:63]+"0", tc.fields...) && tc.want[63] != '0' {
			t.Errorf("VerifyMAC accepted a wrong MAC")
		}
	}
}

// Wero fixtures F1-F6, notes §11.2: MAC, Len and Data.
func TestWeroFixtures(t *testing.T) {
	c := mustCipher(t, Blowfish, fxBFKey)
	const payID = "8f2c1e9a4b7d4c0e9a1b2c3d4e5f6071"
	for _, tc := range []struct {
		name   string
		plain  string
		n      int
		data   string
		mac    string
		fields []string
	}{
		{"F1 WERO.aspx", f1Plain, 525, f1Data, "8687A1630BAE29443E287077840A0DBFE3883E9AF68A616D22357CCB8261BA71",
			[]string{"", "ORDER-10001", fxMerchant, "1999", "EUR"}},
		{"F2 notify OK", f2Plain, 260, f2Data, "3A8138472C128DF80DADF161518077BCC76607BEB02F2DF990BD901AA0C823B5",
			[]string{payID, "ORDER-10001", fxMerchant, "OK", "00000000"}},
		{"F3 capture", f3Plain, 194, f3Data, "91923ED7C66EBA65EE92B50F26862E8693BD98CBC867830D566698EA246DB844",
			[]string{payID, "CAP-10001-1", fxMerchant, "1000", "EUR"}},
		{"F4 capture response", f4Plain, 174, f4Data, "", nil},
		{"F5 reverse", f5Plain, 195, f5Data, "34C7B850D2BB8075B2D2AD851A9F14DA1A3DF9A2C235615E5BBDB38FA0F20E4E",
			[]string{payID, "REV-10001-1", fxMerchant, "1999", "EUR"}},
		{"F6 notify FAILED", f6Plain, 230, f6Data, "0419C4B3077D00EBE2C387A2A3D9B65819E5191F050B007D8FAC9A27268D9C9D",
			[]string{payID, "ORDER-10002", fxMerchant, "FAILED", "22060200"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, data, err := c.Encrypt(tc.plain)
			if err != nil || n != tc.n || data != tc.data {
				t.Fatalf("encrypt: Len %d (want %d), err %v, data match %v", n, tc.n, err, data == tc.data)
			}
			plain, err := c.Decrypt(itoa(tc.n), tc.data)
			if err != nil || plain != tc.plain {
				t.Fatalf("decrypt: %q %v", plain, err)
			}
			if tc.mac == "" {
				return
			}
			if got := MAC(fxHMACKey, tc.fields...); got != tc.mac {
				t.Errorf("MAC = %s, want %s", got, tc.mac)
			}
			ps, err := ParseParams(plain)
			if err != nil {
				t.Fatal(err)
			}
			if ps.Get("mac") != tc.mac {
				t.Errorf("MAC in plaintext = %s", ps.Get("mac"))
			}
		})
	}
	// F2 space-padded decrypts to the same text.
	if p, err := c.Decrypt("260", f2DataSpace); err != nil || p != f2Plain {
		t.Errorf("F2 space-padded: %q %v", p, err)
	}
	// And encrypting with space padding reproduces it.
	if _, d, _ := c.EncryptPadded(f2Plain, PadSpace); d != f2DataSpace {
		t.Errorf("F2 space-padded encrypt differs")
	}
}

// F7, notes §11.2: Len 61 (runes) and 62 (bytes) both decrypt to the whole text.
func TestLenNonASCII(t *testing.T) {
	c := mustCipher(t, Blowfish, fxBFKey)
	const plain = "MerchantID=WeroTestShop&TransID=ORDER-10003&bdLastName=Müller"
	n, data, err := c.Encrypt(plain)
	if err != nil || n != 61 || data != f7Data {
		t.Fatalf("encrypt: %d %v match=%v", n, err, data == f7Data)
	}
	for _, l := range []string{"61", "62"} {
		if p, err := c.Decrypt(l, f7Data); err != nil || p != plain {
			t.Errorf("Len %s: %q %v", l, p, err)
		}
	}
	// Len 60 cuts text: rejected, not silently truncated.
	if p, err := c.Decrypt("60", f7Data); err == nil {
		t.Errorf("Len 60 accepted: %q", p)
	}
}

// F8, notes §11.2: AES-128-CBC with a fixed IV.
func TestAESFixture(t *testing.T) {
	c := mustCipher(t, AES, fxAESKey)
	c.Rand = bytes.NewReader([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	c.LowerHex = true
	n, data, err := c.Encrypt(f3Plain)
	if err != nil || n != 194 || data != f8Data {
		t.Fatalf("encrypt: %d %v match=%v", n, err, data == f8Data)
	}
	c.LowerHex = false
	if p, err := c.Decrypt("194", strings.ToUpper(f8Data)); err != nil || p != f3Plain {
		t.Fatalf("decrypt: %q %v", p, err)
	}
	// Random IVs: two encryptions differ and both decrypt.
	c.Rand = nil
	_, d1, _ := c.Encrypt("a=b")
	_, d2, _ := c.Encrypt("a=b")
	if d1 == d2 {
		t.Error("AES IV not random")
	}
	// A Blowfish merchant refuses AES Data and vice versa.
	bf := mustCipher(t, Blowfish, fxBFKey)
	if _, err := bf.Decrypt("194", f8Data); err == nil {
		t.Error("Blowfish cipher decrypted AES Data")
	}
	if _, err := c.Decrypt("194", f3Data); err == nil {
		t.Error("AES cipher decrypted Blowfish Data")
	}
}

func TestDecryptRejects(t *testing.T) {
	c := mustCipher(t, Blowfish, fxBFKey)
	_, extra, _ := c.EncryptPadded("a=b", PadZero)
	for _, tc := range []struct{ name, len, data string }{
		{"len too large", "261", f2Data},
		{"len zero", "0", f2Data},
		{"len negative", "-1", f2Data},
		{"len not a number", "26O", f2Data},
		{"len empty", "", f2Data},
		{"not hex", "260", "ZZ" + f2Data[2:]},
		{"odd hex", "260", f2Data[:len(f2Data)-1]},
		{"not whole blocks", "260", f2Data[:len(f2Data)-2]},
		{"empty data", "3", ""},
		{"len cuts text", "250", f2Data},
		{"aes shape", "3", "00-" + extra},
	} {
		if p, err := c.Decrypt(tc.len, tc.data); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %q, %v", tc.name, p, err)
		}
	}
}

// Trailing extra blocks (FATCHIP's zero pad then a full PKCS block) are padding.
func TestDecryptExtraBlock(t *testing.T) {
	c := mustCipher(t, Blowfish, fxBFKey)
	src := append([]byte("abc=def"), 0)
	src = append(src, bytes.Repeat([]byte{8}, 8)...)
	dst := make([]byte, len(src))
	for i := 0; i < len(src); i += 8 {
		c.block.Encrypt(dst[i:i+8], src[i:i+8])
	}
	if p, err := c.Decrypt("7", c.hex(dst)); err != nil || p != "abc=def" {
		t.Errorf("got %q %v", p, err)
	}
}

func TestParseParams(t *testing.T) {
	ps, err := ParseParams("MID=X&refnr=R&Data=a=b==&&Unknown=1&Custom=")
	if err != nil {
		t.Fatal(err)
	}
	if ps.Get("mid") != "X" || ps.Get("RefNr") != "R" || ps.Get("data") != "a=b==" || ps.Get("unknown") != "1" {
		t.Errorf("got %v", ps)
	}
	if _, ok := ps.Lookup("custom"); !ok {
		t.Error("empty value lost")
	}
	for _, bad := range []string{"novalue", "=v", "a=1&b"} {
		if _, err := ParseParams(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	var out Params
	out.Add("A", "1")
	out.Add("B", "x=y")
	if s, err := out.Encode(); err != nil || s != "A=1&B=x=y" {
		t.Errorf("encode: %q %v", s, err)
	}
	for _, bad := range []Params{{{"A", "1&2"}}, {{"A&", "1"}}, {{"A=", "1"}}, {{"", "1"}}} {
		if _, err := bad.Encode(); err == nil {
			t.Errorf("encode %v accepted", bad)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
