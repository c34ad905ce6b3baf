package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
// opts.BaseURL (/impact, /webecr), two virtual terminals (opts.Terminals
// of them when set, TIDs 99000001 on up) that take a payment 3 s after it
// is sent and complete it 2 s later, and an account and terminals pointing
// at it.
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
	n := opts.Terminals
	if n <= 0 {
		n = 2
	}
	if n > MaxTerminals {
		return nil, fmt.Errorf("epay sandbox: at most %d terminals, not %d", MaxTerminals, n)
	}
	terms := make([]TerminalConfig, n)
	for i := range terms {
		terms[i] = TerminalConfig{TID: strconv.Itoa(99000001 + i), ID: 358001 + int64(i), Name: fmt.Sprintf("Sandbox EFT-POS %d", i+1)}
	}
	if err := st.keysFor(terms, opts.DataDir); err != nil {
		return nil, err
	}
	// The operator presses after 3/5 of the delay, the terminal works for
	// the rest (3 s and 2 s by default).
	press, process := 3*time.Second, 2*time.Second
	if d := opts.TerminalDelay; d > 0 {
		press, process = d*3/5, d-d*3/5
	}
	s, err := New(Options{Clock: opts.Clock, Logger: opts.Logger, BaseURL: opts.BaseURL,
		Users: map[string]string{SandboxUser: SandboxPassword}, Terminals: terms,
		ImpactAPIKeys: []string{SandboxImpactAPIKey}, ImpactKey: key,
		PressDelay: press, ProcessDelay: process})
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
		sb.Terminals = append(sb.Terminals, tender.Terminal{ID: fmt.Sprintf("epay-term-%d", i+1), Connector: "epay",
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
	return st, st.save(dir)
}

func (st *sandboxState) save(dir string) error {
	if dir == "" {
		return nil
	}
	b, _ := json.Marshal(st)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "epay-sim.json"), b, 0o600)
}

// keysFor gives every terminal of terms an API key, keeping the ones a
// previous start made (so stored sandbox terminals stay valid), and saves
// the state when it made new ones.
func (st *sandboxState) keysFor(terms []TerminalConfig, dir string) error {
	if st.APIKeys == nil {
		st.APIKeys = map[string]string{}
	}
	made := false
	for _, t := range terms {
		if st.APIKeys[t.TID] == "" {
			st.APIKeys[t.TID] = randomKey()
			made = true
		}
	}
	if !made {
		return nil
	}
	return st.save(dir)
}
