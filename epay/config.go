package epay

import (
	"crypto/ecdsa"
	"net/url"

	"github.com/tenderpay/tender"
)

// Account settings (non-secret) and credentials (secret) keys; see README.
const (
	SettingTest              = "test" // "Y" selects the test environment (Blue Seed "Test")
	SettingImpactURL         = "impact_url"
	SettingImpactTestURL     = "impact_test_url"
	SettingWebECRURL         = "webecr_url"
	SettingWebECRTestURL     = "webecr_test_url"
	SettingWebECRPathPrefix  = "webecr_path_prefix"
	SettingProviderPublicKey = "provider_public_key" // Impact's AADE signing key, PEM
	SettingProviderID        = "provider_id"
	SettingNSPCode           = "nsp_code"
	SettingSignatureDuration = "signature_duration"
	SettingMerchantName      = "merchant_name"    // printed on receipts
	SettingReceiptLanguage   = "receipt_language" // "en" (default) or "el"

	CredImpactAPIKey = "impact_api_key"
	CredUser         = "user"
	CredPassword     = "password"

	// TerminalCredAPIKey is the terminal's ePay ApiKey (from its one-time code).
	TerminalCredAPIKey = "api_key"
	// TerminalSettingBackendID optionally pins the backend's terminal id
	// (otherwise resolved from the TID).
	TerminalSettingBackendID = "terminal_id"
)

type config struct {
	impactURL, webecrURL, prefix string
	pub                          *ecdsa.PublicKey
	providerID, nspCode, dur     string
	impactKey, user, password    string
	merchantName, lang           string
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// accountConfig reads and checks an account; errors name the field.
func accountConfig(a *tender.Account) (*config, error) {
	s, c := a.Settings, a.Credentials
	cfg := &config{prefix: s[SettingWebECRPathPrefix], providerID: orDefault(s[SettingProviderID], DefaultProviderID),
		nspCode: orDefault(s[SettingNSPCode], DefaultNSPCode), dur: orDefault(s[SettingSignatureDuration], DefaultSignatureDuration),
		impactKey: c[CredImpactAPIKey], user: c[CredUser], password: c[CredPassword],
		merchantName: s[SettingMerchantName], lang: orDefault(s[SettingReceiptLanguage], "en")}
	if cfg.lang != "en" && cfg.lang != "el" {
		return nil, tender.Invalid("settings."+SettingReceiptLanguage, "receipt_language must be en (English) or el (Greek)")
	}
	if len(cfg.merchantName) > 64 {
		return nil, tender.Invalid("settings."+SettingMerchantName, "merchant_name is at most 64 characters")
	}
	switch s[SettingTest] {
	case "Y":
		cfg.impactURL = orDefault(s[SettingImpactTestURL], DefaultImpactTestURL)
		cfg.webecrURL = s[SettingWebECRTestURL]
		if cfg.webecrURL == "" {
			return nil, tender.Invalid("settings."+SettingWebECRTestURL, "ePay's test environment URL is not published; set webecr_test_url when test is Y")
		}
	case "", "N":
		cfg.impactURL = orDefault(s[SettingImpactURL], DefaultImpactURL)
		cfg.webecrURL = orDefault(s[SettingWebECRURL], DefaultWebECRURL)
	default:
		return nil, tender.Invalid("settings."+SettingTest, "test must be Y or N")
	}
	for _, u := range []struct{ key, v string }{
		{SettingImpactURL, s[SettingImpactURL]}, {SettingImpactTestURL, s[SettingImpactTestURL]},
		{SettingWebECRURL, s[SettingWebECRURL]}, {SettingWebECRTestURL, s[SettingWebECRTestURL]}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil || p.RawQuery != "" {
			return nil, tender.Invalid("settings."+u.key, "%s must be an absolute http(s) URL", u.key)
		}
	}
	if cfg.prefix != "" && (cfg.prefix[0] != '/' || cfg.prefix[len(cfg.prefix)-1] == '/') {
		return nil, tender.Invalid("settings."+SettingWebECRPathPrefix, "webecr_path_prefix must start with / and not end with / (e.g. /api/v2.2)")
	}
	if s[SettingProviderPublicKey] == "" {
		return nil, tender.Invalid("settings."+SettingProviderPublicKey, "provider_public_key (Impact's AADE public key, PEM) is required to check signatures before they reach the terminal")
	}
	pub, err := ParsePublicKey(s[SettingProviderPublicKey])
	if err != nil {
		return nil, tender.Invalid("settings."+SettingProviderPublicKey, "provider_public_key must be an ECDSA P-256 public key in PEM")
	}
	cfg.pub = pub
	if !allDigits(cfg.providerID) || len(cfg.providerID) > 3 {
		return nil, tender.Invalid("settings."+SettingProviderID, "provider_id must be the AADE provider number (Impact: 3)")
	}
	if cfg.dur != "H_24" && cfg.dur != "H_2" {
		return nil, tender.Invalid("settings."+SettingSignatureDuration, "signature_duration must be H_24 or H_2")
	}
	for _, f := range []struct{ key, v string }{{CredImpactAPIKey, cfg.impactKey}, {CredUser, cfg.user}, {CredPassword, cfg.password}} {
		if f.v == "" {
			return nil, tender.Invalid("credentials."+f.key, "%s is required", f.key)
		}
	}
	return cfg, nil
}

func terminalConfig(t *tender.Terminal) (tid, apiKey string, err error) {
	if t == nil {
		return "", "", tender.Invalid("terminal", "an epay payment needs a terminal")
	}
	if len(t.ProviderID) != 8 {
		return "", "", tender.Invalid("provider_id", "the ePay terminal id (TID) must be exactly 8 characters, e.g. 08104148")
	}
	if t.Credentials[TerminalCredAPIKey] == "" {
		return "", "", tender.Invalid("credentials."+TerminalCredAPIKey, "api_key is required: redeem the terminal's one-time code with `tender epay apikey`")
	}
	return t.ProviderID, t.Credentials[TerminalCredAPIKey], nil
}
