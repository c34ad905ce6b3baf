package sim

import (
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
)

// Sandbox identities.
const (
	SandboxLogin = "tender-sandbox"
	SandboxSID1  = "10000001"
	SandboxSID2  = "10000002"
)

// Sandbox builds the simulator for `tender serve` and `tender sim`: a
// simulated Sepay with its own key, one login with Tender's sandbox
// integrator certificate, two terminals (opts.Terminals of them when set,
// SIDs 10000001 on up) that pick up after 3 s and decide 2 s later,
// callbacks on. Keys are kept under opts.DataDir/sepay when set,
// so that stored sandbox accounts stay valid across restarts.
func Sandbox(opts tender.SandboxOptions) (*tender.Sandbox, error) {
	dir := ""
	if opts.DataDir != "" {
		dir = filepath.Join(opts.DataDir, "sepay")
	}
	// Two RSA-2048 keys on a first start take from a tenth of a second to
	// most of one each (prime search); make them side by side.
	var (
		intKey  *rsa.PrivateKey
		intCert []byte
		intErr  error
		wg      sync.WaitGroup
	)
	wg.Go(func() { intKey, intCert, intErr = loadOrCreate(dir, "integrator", "Tender sandbox WECR") })
	simKey, simCert, err := loadOrCreate(dir, "sim", "wecr.sim.tender")
	wg.Wait()
	if err == nil {
		err = intErr
	}
	if err != nil {
		return nil, err
	}
	// The terminal picks the transaction up after 3/5 of the delay and
	// works on it for the rest (3 s and 2 s by default).
	pickup, process := 3*time.Second, 2*time.Second
	if d := opts.TerminalDelay; d > 0 {
		pickup, process = d*3/5, d-d*3/5
	}
	s, err := New(Options{
		Key: simKey, Certificate: simCert, Clock: opts.Clock, Logger: opts.Logger, BaseURL: opts.BaseURL,
		PickupAfter: pickup, ProcessFor: process, QueueExpiry: 5 * time.Minute,
	})
	if err != nil {
		return nil, err
	}
	if err := s.AddLogin(SandboxLogin, sepay.DefaultKeyIndex, intCert); err != nil {
		return nil, err
	}
	n := opts.Terminals
	if n <= 0 {
		n = 2
	}
	if n > MaxTerminals {
		return nil, fmt.Errorf("sepay sandbox: at most %d terminals, not %d", MaxTerminals, n)
	}
	if err := s.AddTerminals(SandboxLogin, 10000001, n); err != nil {
		return nil, err
	}
	terms := make([]tender.Terminal, n)
	for i := range terms {
		terms[i] = tender.Terminal{ID: fmt.Sprintf("sepay-term-%d", i+1), Connector: sepay.Name, Account: "sepay-sandbox",
			ProviderID: SandboxSID(i + 1), Label: fmt.Sprintf("Sepay sandbox terminal %d", i+1)}
	}
	s.Run(100 * time.Millisecond)
	return &tender.Sandbox{
		Handler: s,
		Account: tender.Account{
			ID: "sepay-sandbox", Connector: sepay.Name, Environment: tender.EnvSandbox, Default: true,
			Settings: map[string]string{
				sepay.SettingBaseURL:          opts.BaseURL + "/v2",
				sepay.SettingLogin:            SandboxLogin,
				sepay.SettingKeyIndex:         "0",
				sepay.SettingSepayCertificate: string(simCert),
				sepay.SettingCertificate:      string(intCert),
			},
			Credentials: map[string]string{sepay.CredentialPrivateKey: string(sepay.MarshalPrivateKey(intKey))},
		},
		Terminals: terms,
		Close:     s.Close,
	}, nil
}

// loadOrCreate returns dir/<name>-key.pem and dir/<name>-cert.pem, creating
// them (key 0600) when absent; with dir "" it only creates.
func loadOrCreate(dir, name, cn string) (*rsa.PrivateKey, []byte, error) {
	keyFile, certFile := filepath.Join(dir, name+"-key.pem"), filepath.Join(dir, name+"-cert.pem")
	if dir != "" {
		kb, kerr := os.ReadFile(keyFile)
		cb, cerr := os.ReadFile(certFile)
		if kerr == nil && cerr == nil {
			k, err := sepay.ParsePrivateKey(kb)
			if err != nil {
				return nil, nil, fmt.Errorf("sepay sandbox: %s: %w", keyFile, err)
			}
			c, err := sepay.ParseCertificate(cb)
			if err != nil || !k.PublicKey.Equal(c.PublicKey) {
				return nil, nil, fmt.Errorf("sepay sandbox: %s does not match %s", certFile, keyFile)
			}
			return k, cb, nil
		}
	}
	k, err := sepay.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	c, err := sepay.NewCertificate(k, cn, time.Now())
	if err != nil {
		return nil, nil, err
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("sepay sandbox: %w", err)
		}
		if err := os.WriteFile(keyFile, sepay.MarshalPrivateKey(k), 0o600); err != nil {
			return nil, nil, fmt.Errorf("sepay sandbox: %w", err)
		}
		if err := os.WriteFile(certFile, c, 0o644); err != nil {
			return nil, nil, fmt.Errorf("sepay sandbox: %w", err)
		}
	}
	return k, c, nil
}
