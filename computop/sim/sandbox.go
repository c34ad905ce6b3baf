package sim

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
)

// SandboxMerchantID is the sandbox merchant's MerchantID.
const SandboxMerchantID = "TenderSandbox"

type sandboxKeys struct {
	EncryptionKey string `json:"encryption_key"`
	HMACKey       string `json:"hmac_key"`
}

// Sandbox builds the simulator for `tender serve` and `tender sim`, with a
// Blowfish merchant whose keys are generated once (kept in
// opts.DataDir/computop-sandbox.json when DataDir is set), and the account
// that points at it.
func Sandbox(opts tender.SandboxOptions) (*tender.Sandbox, error) {
	keys, err := loadKeys(opts.DataDir)
	if err != nil {
		return nil, err
	}
	s, err := New(Options{Clock: opts.Clock, Logger: opts.Logger, AllowHTTP: true, RetryUnit: time.Second},
		MerchantConfig{ID: SandboxMerchantID, Algorithm: computop.Blowfish, EncryptionKey: []byte(keys.EncryptionKey),
			HMACKey: []byte(keys.HMACKey), PartialCaptures: true})
	if err != nil {
		return nil, err
	}
	return &tender.Sandbox{
		Handler: s,
		Account: tender.Account{
			ID: "computop-sandbox", Connector: computop.Name, Environment: tender.EnvSandbox, Default: true,
			Settings: map[string]string{
				computop.SettingBaseURL:    opts.BaseURL,
				computop.SettingMerchantID: SandboxMerchantID,
				computop.SettingEncryption: string(computop.Blowfish),
				computop.SettingMinAmount:  "1",
			},
			Credentials: map[string]string{
				computop.CredentialEncryptionKey: keys.EncryptionKey,
				computop.CredentialHMACKey:       keys.HMACKey,
			},
		},
		Close: s.Close,
	}, nil
}

func loadKeys(dir string) (*sandboxKeys, error) {
	path := ""
	if dir != "" {
		path = filepath.Join(dir, "computop-sandbox.json")
		b, err := os.ReadFile(path)
		if err == nil {
			var k sandboxKeys
			if err := json.Unmarshal(b, &k); err != nil || k.EncryptionKey == "" || k.HMACKey == "" {
				return nil, fmt.Errorf("sim computop: %s is damaged; delete it to make new keys", path)
			}
			return &k, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sim computop: %w", err)
		}
	}
	// Computop issues 16-character Blowfish and 32-character HMAC passwords.
	k := &sandboxKeys{EncryptionKey: randomKey(16), HMACKey: randomKey(32)}
	if path != "" {
		b, _ := json.MarshalIndent(k, "", "  ")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sim computop: %w", err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("sim computop: %w", err)
		}
	}
	return k, nil
}

func randomKey(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
