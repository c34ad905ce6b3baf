package sim

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// Sandbox site and users.
const (
	SandboxSite    = "test_tender12345"
	SandboxJWTUser = "tender.jwt"
	SandboxWSUser  = "webservices@tender.example"
)

type sandboxKeys struct {
	JWTSecret  string `json:"jwt_secret"`
	WSPassword string `json:"webservices_password"`
}

// Sandbox builds the simulator with one site and returns its handler and
// the account "trustpayments-sandbox" pointing at opts.BaseURL. The JWT
// secret and Webservices password are generated, and kept under
// opts.DataDir when it is set so that a restart keeps the account valid.
func Sandbox(opts tender.SandboxOptions) (*tender.Sandbox, error) {
	keys, err := loadKeys(opts.DataDir)
	if err != nil {
		return nil, err
	}
	s := New(Options{BaseURL: opts.BaseURL, Clock: opts.Clock, Logger: opts.Logger})
	s.AddSite(Site{Reference: SandboxSite, JWTUser: SandboxJWTUser, JWTSecret: []byte(keys.JWTSecret), WSUser: SandboxWSUser, WSPassword: keys.WSPassword})
	sb := &tender.Sandbox{
		Handler: s,
		Account: tender.Account{
			ID: "trustpayments-sandbox", Connector: tp.Name, Environment: tender.EnvSandbox, Default: true,
			Settings: map[string]string{
				tp.SettingSiteReference:  SandboxSite,
				tp.SettingJWTUsername:    SandboxJWTUser,
				tp.SettingJWTAlgorithm:   tp.HS256,
				tp.SettingLibraryURL:     opts.BaseURL + "/js/v3/st.js",
				tp.SettingWebservicesURL: opts.BaseURL + "/json/",
				tp.SettingWSUsername:     SandboxWSUser,
			},
			Credentials: map[string]string{
				tp.CredentialJWTSecret:  keys.JWTSecret,
				tp.CredentialWSPassword: keys.WSPassword,
			},
		},
	}
	// The stand-in st.js is served by the simulator. On loopback a sandbox
	// account may load it as is; elsewhere (a simulator reachable from
	// other devices) the account says so explicitly.
	if u, err := url.Parse(opts.BaseURL); err == nil {
		if ip, err := netip.ParseAddr(u.Hostname()); !(err == nil && ip.IsLoopback() || u.Hostname() == "localhost") {
			sb.Account.Settings[tp.SettingLibraryHostOverride] = u.Host
		}
	}
	return sb, nil
}

func loadKeys(dir string) (sandboxKeys, error) {
	fresh := sandboxKeys{JWTSecret: randHex(32), WSPassword: randHex(16)}
	if dir == "" {
		return fresh, nil
	}
	path := filepath.Join(dir, "trustpayments-sandbox.json")
	if b, err := os.ReadFile(path); err == nil {
		var k sandboxKeys
		if err := json.Unmarshal(b, &k); err != nil || k.JWTSecret == "" || k.WSPassword == "" {
			return k, fmt.Errorf("trustpayments sim: %s is corrupt", path)
		}
		return k, nil
	} else if !os.IsNotExist(err) {
		return fresh, fmt.Errorf("trustpayments sim: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fresh, fmt.Errorf("trustpayments sim: %w", err)
	}
	b, _ := json.Marshal(fresh)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fresh, fmt.Errorf("trustpayments sim: %w", err)
	}
	return fresh, nil
}
