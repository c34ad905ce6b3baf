package sepay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// KeyBits is the RSA key size Sepay asks for (seed: "SHA256 met 2048 bit RSA").
const KeyBits = 2048

// Sign returns the base64 (standard, padded) RSASSA-PKCS1-v1_5 SHA-256
// signature of the UTF-8 bytes of canonical (notes §4.1).
func Sign(key *rsa.PrivateKey, canonical string) (string, error) {
	sum := sha256.Sum256([]byte(canonical))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sepay: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// ErrSignature means a signature did not verify. A response carrying one is
// not believed at all: it is neither a decline nor an approval.
var ErrSignature = errors.New("sepay: signature verification failed")

// Verify checks a base64 signature of canonical against pub.
func Verify(pub *rsa.PublicKey, canonical, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrSignature)
	}
	sum := sha256.Sum256([]byte(canonical))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return ErrSignature
	}
	return nil
}

// VerifyAny checks the signature against each candidate canonical string
// (see CanonicalCandidates) and returns the one that verified.
func VerifyAny(pub *rsa.PublicKey, candidates []string, signature string) (string, error) {
	var err error
	for _, c := range candidates {
		if err = Verify(pub, c, signature); err == nil {
			return c, nil
		}
	}
	if err == nil {
		err = ErrSignature
	}
	return "", err
}

// SignMessage signs a message of schema s and returns its signature.
func SignMessage(key *rsa.PrivateKey, s Schema, v Values) (string, error) {
	return Sign(key, s.Canonical(v))
}

// VerifyMessage verifies a parsed message of schema s against pub, trying
// the canonical renderings the notes leave open (assumptions.go).
func VerifyMessage(pub *rsa.PublicKey, s Schema, m *Message) error {
	if m.Signature == "" {
		return fmt.Errorf("%w: no signature", ErrSignature)
	}
	_, err := VerifyAny(pub, CanonicalCandidates(s, m.Values), m.Signature)
	return err
}

var pemLine = regexp.MustCompile(`(?m)^[ \t]*-{4,5}(BEGIN|END) ([A-Z0-9 ]+?)-{4,5}[ \t]*\r?$`)

// RepairPEM normalises PEM armour lines that have four instead of five
// dashes (the seed's certificate, notes §0.7) and strips the indentation a
// copy from a web page leaves.
func RepairPEM(b []byte) []byte {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s := strings.Join(lines, "\n")
	return []byte(pemLine.ReplaceAllString(s, "-----$1 $2-----"))
}

// ParseCertificate parses the first PEM certificate in b (armour repaired).
func ParseCertificate(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(RepairPEM(b))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("sepay: no PEM certificate found")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sepay: parse certificate: %w", err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, errors.New("sepay: certificate key is not RSA")
	}
	return cert, nil
}

// ParsePrivateKey parses a PEM RSA private key (PKCS#1 or PKCS#8) of at
// least 2048 bits.
func ParsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(RepairPEM(b))
	if block == nil {
		return nil, errors.New("sepay: no PEM private key found")
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("sepay: private key is not a valid PKCS#1 RSA key")
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("sepay: private key is not a valid PKCS#8 key")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("sepay: private key is not RSA")
		}
		key = rk
	default:
		return nil, fmt.Errorf("sepay: PEM block %q is not a private key", block.Type)
	}
	if key.N.BitLen() < KeyBits {
		return nil, fmt.Errorf("sepay: RSA key has %d bits, Sepay requires %d", key.N.BitLen(), KeyBits)
	}
	return key, nil
}

// MarshalPrivateKey returns key as PKCS#8 PEM.
func MarshalPrivateKey(key *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic("sepay: marshal RSA key: " + err.Error()) // cannot fail for an RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Fingerprint returns the certificate's SHA-256 fingerprint as upper-case
// colon-separated hex, as OpenSSL and XCA print it.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// seedCertificate is Sepay's production certificate exactly as printed in
// the seed (docs.buckaroo.io/docs/wecr), with its four-dash header.
const seedCertificate = `-----BEGIN CERTIFICATE----
MIIDdDCCAlygAwIBAgIBATANBgkqhkiG9w0BAQsFADB0MQswCQYDVQQGEwJOTDEL
MAkGA1UECBMCWkgxDjAMBgNVBAoTBVNFUEFZMQswCQYDVQQLEwJJVDEfMB0GA1UE
AxMWd2Vjci5zZXJ2aWNlcy5zZXBheS5ubDEaMBgGCSqGSIb3DQEJARYLaXRAc2Vw
YXkubmwwIBcNMjAwMTA4MDgyMjAwWhgPMjA1MDAxMDgwODIyMDBaMHQxCzAJBgNV
BAYTAk5MMQswCQYDVQQIEwJaSDEOMAwGA1UEChMFU0VQQVkxCzAJBgNVBAsTAklU
MR8wHQYDVQQDExZ3ZWNyLnNlcnZpY2VzLnNlcGF5Lm5sMRowGAYJKoZIhvcNAQkB
FgtpdEBzZXBheS5ubDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAOaK
wct1tB4nfTYfIppFAYUmb+kfvNzvmmd2Woui+YajYlHVWhLeTXl2H/DEUuY1/4VT
ku1UTsOi0uzjTJJYryqdKqkPCtvThsOUQ0JNjbbXZM5kEdcddeJMvULnSS/4dWVF
/lsv0vn2uxNysuprq7VEXmCSENOWMtg5r8D20PeAYEh/U+VavZ5FaNjIEqlKyjYt
kGsI2ABgUSJnrlZhDRq5Cb9AVgjRzu42JvTkaky9sjHP1569IqOiThlu6xEfACzg
ZaYnsIRh6ajXghzpBzbiXqVGhjvXUQbaZ+FV4JwQVsxfTokYl1E8MWVfAYWbO0FF
OYCUQR1AilacXTOl6JcCAwEAAaMPMA0wCwYDVR0PBAQDAgeAMA0GCSqGSIb3DQEB
CwUAA4IBAQAVXH65ARMMkBLrHQ1UjuWkuAXSI2pulqEe/L9U00f01ExlbAonxQg2
NJCJSd98jQZsD9mYBBQc5XfcC2y/nW81zDxyPkpd7vzN3JK02WP+MVgZI2wwH7h+
Nn454/JM8hI7Eye3aQWHMqWVD0bRJFz0vy8ELahxYfWzVg3DbdxAkhx++XasC/e5
sSmwDVag1KHt5qN4dH0MKLf8DnzldvIJuUREQpxmuIHyYlB/+4+CMraE5KZQqnEe
Jm+9FrcK8HMl7Bt7U3rAk68IhE4+mdlsI9+wHBEHksqsPqcjb0tTnIzBujPCcYCJ
CiomXPrKbr6nkxHM1EMuP47kCBf/LsQP
-----END CERTIFICATE-----
`

// ProductionCertificatePEM is Sepay's production signing certificate
// (CN wecr.services.sepay.nl, valid 2020-01-08 to 2050-01-08), the seed's
// text with its PEM header repaired.
var ProductionCertificatePEM = string(RepairPEM([]byte(seedCertificate)))

// ProductionFingerprint is the SHA-256 fingerprint of the production
// certificate given in the notes (§0.7).
const ProductionFingerprint = "32:33:BD:6D:73:E2:8E:A5:8D:D2:A2:E1:A1:E1:A5:9D:CC:AC:31:19:71:54:39:17:47:AF:5E:01:E7:4D:EA:70"

var productionCert = func() *x509.Certificate {
	c, err := ParseCertificate([]byte(seedCertificate))
	if err != nil {
		panic("sepay: built-in certificate: " + err.Error())
	}
	return c
}()

// ProductionCertificate returns Sepay's built-in production certificate.
func ProductionCertificate() *x509.Certificate { return productionCert }
