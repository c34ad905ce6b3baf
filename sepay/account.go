package sepay

import (
	"crypto/rsa"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
)

// Account settings keys (non-secret).
const (
	// SettingBaseURL is Sepay's WECR base, "https://wecr.sepay.nl/v2" (the
	// default); "/wecr.asmx" is appended unless the URL already ends in .asmx.
	SettingBaseURL = "base_url"
	// SettingLogin is the WECR login Sepay linked the certificate and SIDs to.
	SettingLogin = "login"
	// SettingKeyIndex is the integrator key index (default "0").
	SettingKeyIndex = "key_index"
	// SettingSepayCertificate is Sepay's signing certificate (PEM); default
	// the built-in production certificate. The sandbox sets the simulator's.
	SettingSepayCertificate = "sepay_certificate"
	// SettingCertificate is the integrator certificate sent to Sepay (PEM,
	// optional); when set it must match the private key.
	SettingCertificate = "certificate"
	// SettingCallbacks turns <callbackurl> on ("true", default) or off.
	SettingCallbacks = "callbacks"
)

// CredentialPrivateKey is the integrator's RSA-2048 private key (PEM,
// PKCS#8 or PKCS#1), secret.
const CredentialPrivateKey = "private_key"

// config is an account's settings, parsed.
type config struct {
	url       string
	login     string
	keyIndex  int
	key       *rsa.PrivateKey
	sepay     *rsa.PublicKey
	callbacks bool
}

// ServiceURL returns the .asmx endpoint for a base_url setting.
func ServiceURL(base string) string {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	if base == "" {
		return ProductionURL
	}
	if strings.HasSuffix(strings.ToLower(base), ".asmx") {
		return base
	}
	return base + "/wecr.asmx"
}

func parseConfig(a *tender.Account) (*config, error) {
	if a == nil {
		return nil, tender.Errorf(tender.EInvalid, "no Sepay account")
	}
	s := a.Settings
	c := &config{url: ServiceURL(s[SettingBaseURL]), login: s[SettingLogin], callbacks: true}
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, tender.Invalid("settings."+SettingBaseURL, "base_url must be an http(s) URL such as https://wecr.sepay.nl/v2")
	}
	if u.Scheme != "https" && a.Environment == tender.EnvLive {
		return nil, tender.Invalid("settings."+SettingBaseURL, "base_url of a live account must use https")
	}
	if err := checkText(c.login); err != nil {
		return nil, tender.Invalid("settings."+SettingLogin, "login %s", err)
	}
	if v := s[SettingKeyIndex]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, tender.Invalid("settings."+SettingKeyIndex, "key_index must be a whole number, usually 0")
		}
		c.keyIndex = n
	}
	if v := s[SettingCallbacks]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, tender.Invalid("settings."+SettingCallbacks, "callbacks must be true or false")
		}
		c.callbacks = b
	}
	c.sepay = productionCert.PublicKey.(*rsa.PublicKey)
	if v := s[SettingSepayCertificate]; v != "" {
		cert, err := ParseCertificate([]byte(v))
		if err != nil {
			return nil, tender.Invalid("settings."+SettingSepayCertificate, "sepay_certificate must be a PEM X.509 certificate with an RSA key")
		}
		c.sepay = cert.PublicKey.(*rsa.PublicKey)
	}
	pk := a.Credentials[CredentialPrivateKey]
	if pk == "" {
		return nil, tender.Invalid("credentials."+CredentialPrivateKey, "private_key is required: the PEM key made with `tender sepay keygen`")
	}
	c.key, err = ParsePrivateKey([]byte(pk))
	if err != nil {
		return nil, tender.Invalid("credentials."+CredentialPrivateKey, "private_key must be a PEM RSA private key of 2048 bits or more")
	}
	if v := s[SettingCertificate]; v != "" {
		cert, err := ParseCertificate([]byte(v))
		if err != nil {
			return nil, tender.Invalid("settings."+SettingCertificate, "certificate must be a PEM X.509 certificate")
		}
		if !c.key.PublicKey.Equal(cert.PublicKey) {
			return nil, tender.Invalid("settings."+SettingCertificate, "certificate does not belong to private_key")
		}
	}
	return c, nil
}

// checkText checks a value that goes into a signed canonical string: it
// must be non-empty printable ASCII without ";" (notes §4.2: no escaping).
func checkText(s string) error {
	if s == "" {
		return errText("is required")
	}
	return checkOptionalText(s)
}

func checkOptionalText(s string) error {
	if len(s) > MaxRefLength {
		return errText("is longer than " + strconv.Itoa(MaxRefLength) + " characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return errText("must be printable ASCII")
		}
		if s[i] == ';' {
			return errText(`must not contain ";" (Sepay signs values joined by ";")`)
		}
	}
	return nil
}

type errText string

func (e errText) Error() string { return string(e) }
