package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
)

// Sandbox credentials of the simulated services (not secrets: they only
// open the simulator).
const (
	SandboxUser         = "sandbox"
	SandboxPassword     = "sandbox-password"
	SandboxImpactAPIKey = "impact-sandbox-key"
)

// sandboxState is what a sandbox keeps across restarts (under DataDir).
type sandboxState struct {
	ImpactKey string            `json:"impact_key"` // PKCS#8 PEM
	APIKeys   map[string]string `json:"api_keys"`   // TID → ePay API key
}

// Sandbox builds the simulator for `tender serve`: Impact and ePay under
// opts.BaseURL (/impact, /webecr), two virtual terminals that take a payment
// 3 s after it is sent and complete it 2 s later, and an account and
// terminals pointing at it.
func Sandbox(opts tender.SandboxOptions) (*tender.Sandbox, error) {
	st, err := loadState(opts.DataDir)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(st.ImpactKey))
	if block == nil {
		return nil, errors.New("epay sandbox: bad stored Impact key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("epay sandbox: stored Impact key is not ECDSA")
	}
	terms := []TerminalConfig{{TID: "99000001", ID: 358001, Name: "Sandbox EFT-POS 1"}, {TID: "99000002", ID: 358002, Name: "Sandbox EFT-POS 2"}}
	s, err := New(Options{Clock: opts.Clock, Logger: opts.Logger, BaseURL: opts.BaseURL,
		Users: map[string]string{SandboxUser: SandboxPassword}, Terminals: terms,
		ImpactAPIKeys: []string{SandboxImpactAPIKey}, ImpactKey: key,
		PressDelay: 3 * time.Second, ProcessDelay: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	pub, err := epay.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sb := &tender.Sandbox{Handler: s, Close: s.Close, Account: tender.Account{
		ID: "epay-sandbox", Connector: "epay", Environment: tender.EnvSandbox, Default: true,
		Settings: map[string]string{
			"impact_url": opts.BaseURL + "/impact", "webecr_url": opts.BaseURL + "/webecr",
			"provider_public_key": pub, "provider_id": epay.DefaultProviderID,
			epay.SettingMerchantName: "Tender Sandbox Taverna"},
		Credentials: map[string]string{"impact_api_key": SandboxImpactAPIKey, "user": SandboxUser, "password": SandboxPassword},
	}}
	for i, t := range terms {
		s.AddAPIKey(st.APIKeys[t.TID], t.TID)
		sb.Terminals = append(sb.Terminals, tender.Terminal{ID: "epay-term-" + string(rune('1'+i)), Connector: "epay",
			Account: "epay-sandbox", ProviderID: t.TID, Label: t.Name,
			Credentials: map[string]string{"api_key": st.APIKeys[t.TID]}})
	}
	return sb, nil
}

func loadState(dir string) (*sandboxState, error) {
	path := ""
	if dir != "" {
		path = filepath.Join(dir, "epay-sim.json")
		if b, err := os.ReadFile(path); err == nil {
			var st sandboxState
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, err
			}
			return &st, nil
		}
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	st := &sandboxState{ImpactKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		APIKeys: map[string]string{"99000001": randomKey(), "99000002": randomKey()}}
	if path != "" {
		b, _ := json.Marshal(st)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	}
	return st, nil
}
