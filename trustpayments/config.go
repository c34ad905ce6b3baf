package trustpayments

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// Account settings keys (non-secret).
const (
	SettingSiteReference     = "site_reference"         // e.g. test_site12345 (sandbox) or site12345 (live)
	SettingJWTUsername       = "jwt_username"           // user with the role "Webservices JWT"; the JWT's iss
	SettingJWTAlgorithm      = "jwt_algorithm"          // HS256 (default), HS384, HS512
	SettingResponseAlgorithm = "response_jwt_algorithm" // pinned algorithm of response JWTs; default jwt_algorithm
	SettingAmountField       = "amount_field"           // baseamount (default) or mainamount
	SettingJWTMaxAge         = "jwt_max_age"            // Go duration, at most 1h (default 1h)
	SettingTermURL           = "term_url"               // termurl sent in the JWT (default the documented listener)
	SettingLibraryURL        = "library_url"            // st.js the hosted page loads
	SettingWebservicesURL    = "webservices_url"        // Webservices JSON endpoint (…/json/)
	SettingWSUsername        = "webservices_username"   // Webservices (Basic auth) user, also the envelope alias
	// SettingLibraryHostOverride lets library_url name a host Trust
	// Payments does not document (LibraryHosts): its value must be that
	// host, exactly. Tender logs a warning whenever it serves such a page.
	SettingLibraryHostOverride = "library_url_unlisted_host"
)

// Account credentials keys (secret).
const (
	CredentialJWTSecret  = "jwt_secret"           // the JWT signing secret agreed with Trust Payments
	CredentialWSPassword = "webservices_password" // the Webservices user's password
)

// Config is an account's configuration, validated.
type Config struct {
	SiteReference     string
	JWTUsername       string
	Algorithm         string
	ResponseAlgorithm string
	Secret            []byte
	AmountField       string
	MaxAge            time.Duration
	TermURL           string
	LibraryURL        string
	WebservicesURL    string
	WSUsername        string
	WSPassword        string
	// LibraryOverride is set when library_url is on a host outside
	// LibraryHosts by the operator's explicit override.
	LibraryOverride bool
}

// ParseConfig reads and validates an account's settings and credentials.
// Errors name the field at fault and never contain secrets.
func ParseConfig(a *tender.Account) (Config, error) {
	s, c := a.Settings, a.Credentials
	cfg := Config{
		SiteReference:     s[SettingSiteReference],
		JWTUsername:       s[SettingJWTUsername],
		Algorithm:         or(s[SettingJWTAlgorithm], HS256),
		ResponseAlgorithm: s[SettingResponseAlgorithm],
		Secret:            []byte(c[CredentialJWTSecret]),
		AmountField:       or(s[SettingAmountField], "baseamount"),
		MaxAge:            DefaultMaxAge,
		TermURL:           or(s[SettingTermURL], DefaultTermURL),
		LibraryURL:        or(s[SettingLibraryURL], DefaultLibraryURL),
		WebservicesURL:    or(s[SettingWebservicesURL], DefaultWebservicesURL),
		WSUsername:        s[SettingWSUsername],
		WSPassword:        c[CredentialWSPassword],
	}
	if cfg.ResponseAlgorithm == "" {
		cfg.ResponseAlgorithm = cfg.Algorithm
	}
	if cfg.SiteReference == "" {
		return cfg, tender.Invalid("settings."+SettingSiteReference, "site_reference is required")
	}
	if checkValue(payloadFields["sitereference"], cfg.SiteReference) != "" {
		return cfg, tender.Invalid("settings."+SettingSiteReference, "site_reference must be printable text of at most 50 characters")
	}
	if cfg.JWTUsername == "" || len(cfg.JWTUsername) > 255 {
		return cfg, tender.Invalid("settings."+SettingJWTUsername, "jwt_username is required (at most 255 characters)")
	}
	if !ValidAlgorithm(cfg.Algorithm) {
		return cfg, tender.Invalid("settings."+SettingJWTAlgorithm, "jwt_algorithm must be HS256, HS384 or HS512")
	}
	if !ValidAlgorithm(cfg.ResponseAlgorithm) {
		return cfg, tender.Invalid("settings."+SettingResponseAlgorithm, "response_jwt_algorithm must be HS256, HS384 or HS512")
	}
	if len(cfg.Secret) == 0 {
		return cfg, tender.Invalid("credentials."+CredentialJWTSecret, "jwt_secret is required")
	}
	if cfg.AmountField != "baseamount" && cfg.AmountField != "mainamount" {
		return cfg, tender.Invalid("settings."+SettingAmountField, "amount_field must be baseamount or mainamount")
	}
	if v := s[SettingJWTMaxAge]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > DefaultMaxAge {
			return cfg, tender.Invalid("settings."+SettingJWTMaxAge, "jwt_max_age must be a duration such as 30m, at most 1h")
		}
		cfg.MaxAge = d
	}
	for key, v := range map[string]string{SettingTermURL: cfg.TermURL, SettingLibraryURL: cfg.LibraryURL, SettingWebservicesURL: cfg.WebservicesURL} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cfg, tender.Invalid("settings."+key, "%s must be an absolute http(s) URL", key)
		}
		if a.Environment == tender.EnvLive && u.Scheme != "https" {
			return cfg, tender.Invalid("settings."+key, "%s must use https for a live account", key)
		}
	}
	if err := cfg.checkLibraryHost(a, s[SettingLibraryHostOverride]); err != nil {
		return cfg, err
	}
	if cfg.WSUsername == "" {
		return cfg, tender.Invalid("settings."+SettingWSUsername, "webservices_username is required (for capture, refund and reconciliation)")
	}
	if cfg.WSPassword == "" {
		return cfg, tender.Invalid("credentials."+CredentialWSPassword, "webservices_password is required")
	}
	if a.Environment == tender.EnvLive && strings.HasPrefix(cfg.SiteReference, "test_") {
		return cfg, tender.Invalid("settings."+SettingSiteReference, "a live account needs the live site reference, without the test_ prefix")
	}
	return cfg, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// checkLibraryHost allows the checkout page to load st.js only from a host
// Trust Payments documents (LibraryHosts), from the simulator on a loopback
// address for a sandbox account, or from the host named in the explicit
// override: the library runs with the full power of Tender's checkout page.
func (cfg *Config) checkLibraryHost(a *tender.Account, override string) error {
	u, _ := url.Parse(cfg.LibraryURL) // checked to be an absolute URL above
	host := u.Hostname()
	if slices.Contains(LibraryHosts, strings.ToLower(host)) && u.Scheme == "https" && u.Port() == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback() || host == "localhost") && a.Environment != tender.EnvLive {
		return nil // the simulator, `tender serve` in sandbox mode
	}
	if override != "" && override == u.Host {
		cfg.LibraryOverride = true
		return nil
	}
	if override != "" {
		return tender.Invalid("settings."+SettingLibraryHostOverride, "%s must be the host of library_url (%s)", SettingLibraryHostOverride, u.Host)
	}
	return tender.Invalid("settings."+SettingLibraryURL, "library_url must be on a host Trust Payments documents (%s); to load it from elsewhere set %s to its host",
		strings.Join(LibraryHosts, ", "), SettingLibraryHostOverride)
}
