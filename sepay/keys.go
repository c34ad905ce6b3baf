package sepay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// CertificateMinNotAfter is the earliest expiry of a certificate made by
// NewCertificate: Sepay lets its own expire on 2050-01-08 and asks
// integrators for long-lived ones (seed).
var CertificateMinNotAfter = time.Date(2050, 1, 8, 23, 59, 59, 0, time.UTC)

// GenerateKey returns a new RSA-2048 key.
func GenerateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("sepay: generate key: %w", err)
	}
	return k, nil
}

// NewCertificate returns a self-signed X.509 certificate (SHA-256 with RSA,
// key usage digitalSignature, like Sepay's own) for key, as PEM, valid from
// now until CertificateMinNotAfter or 25 years from now, whichever is later.
func NewCertificate(key *rsa.PrivateKey, commonName string, now time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("sepay: certificate serial: %w", err)
	}
	notAfter := CertificateMinNotAfter
	if later := now.AddDate(25, 0, 0); later.After(notAfter) {
		notAfter = later
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour).UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		SignatureAlgorithm:    x509.SHA256WithRSA,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sepay: create certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
