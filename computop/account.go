package computop

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/tenderpay/tender"
)

// Account settings (non-secret) and credentials (secret) of a computop
// account.
const (
	SettingBaseURL    = "base_url"    // Paygate base URL; default DefaultBaseURL
	SettingMerchantID = "merchant_id" // MerchantID assigned by Computop (case-sensitive)
	SettingEncryption = "encryption"  // "blowfish" (default) or "aes" (switched on by Computop's helpdesk)
	SettingMinAmount  = "min_amount"  // smallest amount in cents; default 100 (lower needs the helpdesk)

	CredentialEncryptionKey = "encryption_key" // the Blowfish (or AES) password
	CredentialHMACKey       = "hmac_key"       // the HMAC password
)

// config is an account, checked and ready to use.
type config struct {
	baseURL   string
	merchant  *Merchant
	minAmount int64
	live      bool
}

func parseAccount(a *tender.Account) (*config, error) {
	if a == nil {
		return nil, tender.Invalid("account", "an account is required")
	}
	s, c := a.Settings, a.Credentials
	cfg := &config{baseURL: strings.TrimRight(s[SettingBaseURL], "/"), minAmount: DefaultMinAmount, live: a.Environment == tender.EnvLive}
	if cfg.baseURL == "" {
		cfg.baseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, tender.Invalid("settings."+SettingBaseURL, "base_url must be an absolute http(s) URL without a query")
	}
	if cfg.live && u.Scheme != "https" {
		return nil, tender.Invalid("settings."+SettingBaseURL, "a live account's base_url must use https")
	}
	mid := s[SettingMerchantID]
	if mid == "" {
		return nil, tender.Invalid("settings."+SettingMerchantID, "merchant_id is required")
	}
	if r := SpecWero.Fields[0].Format.check(mid); r != "" || strings.ContainsAny(mid, "&*") {
		return nil, tender.Invalid("settings."+SettingMerchantID, "merchant_id must be at most 30 characters without '&' or '*'")
	}
	alg := Algorithm(s[SettingEncryption])
	if alg == "" {
		alg = Blowfish
	}
	if alg != Blowfish && alg != AES {
		return nil, tender.Invalid("settings."+SettingEncryption, "encryption must be blowfish or aes")
	}
	key := c[CredentialEncryptionKey]
	if key == "" {
		return nil, tender.Invalid("credentials."+CredentialEncryptionKey, "encryption_key is required")
	}
	ciph, err := accountCipher(alg, key)
	if err != nil {
		if alg == AES {
			return nil, tender.Invalid("credentials."+CredentialEncryptionKey, "an AES encryption_key must be 16, 24 or 32 characters")
		}
		return nil, tender.Invalid("credentials."+CredentialEncryptionKey, "a Blowfish encryption_key must be 1 to 56 characters")
	}
	hk := c[CredentialHMACKey]
	if hk == "" {
		return nil, tender.Invalid("credentials."+CredentialHMACKey, "hmac_key is required")
	}
	if v := s[SettingMinAmount]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, tender.Invalid("settings."+SettingMinAmount, "min_amount must be a whole number of cents, at least 1")
		}
		cfg.minAmount = n
	}
	cfg.merchant = &Merchant{ID: mid, Cipher: ciph, HMACKey: []byte(hk)}
	return cfg, nil
}

// Input is the computop part of a payment's create request (Payment.Input).
// The seed makes the billing name and address mandatory for Wero.
type Input struct {
	Billing  Address  `json:"billing"`
	Shipping *Address `json:"shipping,omitempty"`
	// ChDesc overrides the soft descriptor (default: from the reference).
	ChDesc string `json:"ch_desc,omitempty"`
}

func parseInput(p *tender.Payment) (*Input, error) {
	var in Input
	if len(p.Input) == 0 || string(p.Input) == "null" {
		return nil, tender.Invalid("computop.billing", "a Wero payment needs computop.billing (first_name, last_name, street, city, zip)")
	}
	dec := json.NewDecoder(strings.NewReader(string(p.Input)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, tender.Invalid("computop", "computop is not an input object: billing, shipping, ch_desc")
	}
	clean := func(a *Address) {
		for _, f := range []*string{&a.FirstName, &a.LastName, &a.Street, &a.AddressAddition, &a.City, &a.ZIP, &a.CountryCode, &a.State} {
			*f = Transliterate(strings.TrimSpace(*f))
		}
		a.CountryCode = strings.ToUpper(a.CountryCode)
	}
	clean(&in.Billing)
	if in.Shipping != nil {
		clean(in.Shipping)
	}
	return &in, nil
}

// paramNames maps a request field to the API parameter it comes from.
var paramNames = map[string]string{
	"TransID": "id", "refnr": "reference", "Amount": "amount", "Currency": "currency",
	"OrderDesc": "description", "ChDesc": "computop.ch_desc", "URLSuccess": "callback_url",
	"URLFailure": "callback_url", "URLNotify": "callback_url",
}

func paramName(field string) string {
	if n, ok := paramNames[field]; ok {
		return n
	}
	for prefix, obj := range map[string]string{"bd": "computop.billing.", "sd": "computop.shipping."} {
		if rest, ok := strings.CutPrefix(field, prefix); ok {
			return obj + snake(rest)
		}
	}
	return field
}

func snake(s string) string {
	switch s {
	case "ZIP":
		return "zip"
	}
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ciphers are the accounts' ciphers by algorithm and key: expanding a
// Blowfish key (4 KiB of S-boxes) was done again on every call of every
// payment. A cached cipher is only read (Encrypt and Decrypt keep no
// state; Rand and LowerHex stay unset). The cache is emptied when it
// holds more keys than a server has accounts.
var ciphers struct {
	sync.Mutex
	m map[string]*Cipher
}

const maxCiphers = 4096

func accountCipher(alg Algorithm, key string) (*Cipher, error) {
	k := string(alg) + "\x00" + key
	ciphers.Lock()
	c := ciphers.m[k]
	ciphers.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := NewCipher(alg, []byte(key))
	if err != nil {
		return nil, err
	}
	ciphers.Lock()
	if ciphers.m == nil || len(ciphers.m) >= maxCiphers {
		ciphers.m = map[string]*Cipher{}
	}
	ciphers.m[k] = c
	ciphers.Unlock()
	return c, nil
}
