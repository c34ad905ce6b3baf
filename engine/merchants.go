package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/tenderpay/tender"
)

var (
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	localePattern  = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	colorPattern   = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// MerchantRequest creates a merchant or, with nil fields left alone,
// changes one.
type MerchantRequest struct {
	ID            string // optional on create: chosen by the platform, else generated
	Name          *string
	Country       *string
	DefaultLocale *string
	TimeZone      *string // IANA name; "" is UTC
	Branding      *tender.Branding
	// Metadata replaces the merchant's metadata when not nil.
	Metadata map[string]string
}

func (r *MerchantRequest) apply(m *tender.Merchant) error {
	if r.Name != nil {
		if err := validateText("name", *r.Name, 200); err != nil {
			return err
		}
		m.Name = *r.Name
	}
	if r.Country != nil {
		if *r.Country != "" && !countryPattern.MatchString(*r.Country) {
			return tender.Invalid("country", "country must be an upper-case ISO 3166-1 alpha-2 code, e.g. NL")
		}
		m.Country = *r.Country
	}
	if r.DefaultLocale != nil {
		if *r.DefaultLocale != "" && (!localePattern.MatchString(*r.DefaultLocale) || len(*r.DefaultLocale) > 35) {
			return tender.Invalid("default_locale", "default_locale must be a BCP 47 tag, e.g. nl-NL")
		}
		m.DefaultLocale = *r.DefaultLocale
	}
	if r.TimeZone != nil {
		if _, err := timeZone(*r.TimeZone); err != nil {
			return err
		}
		m.TimeZone = *r.TimeZone
	}
	if b := r.Branding; b != nil {
		if err := validateText("branding.display_name", b.DisplayName, 200); err != nil {
			return err
		}
		if b.LogoURL != "" {
			u, err := url.Parse(b.LogoURL)
			if err != nil || u.Scheme != "https" || u.Host == "" || len(b.LogoURL) > maxURL {
				return tender.Invalid("branding.logo_url", "branding.logo_url must be an absolute https URL of at most %d characters", maxURL)
			}
		}
		if b.Color != "" && !colorPattern.MatchString(b.Color) {
			return tender.Invalid("branding.color", "branding.color must be #rrggbb")
		}
		m.Branding = *b
	}
	if r.Metadata != nil {
		if err := validateMetadata(r.Metadata); err != nil {
			return err
		}
		m.Metadata = r.Metadata
	}
	return nil
}

func validateMetadata(md map[string]string) error {
	if len(md) > maxMetaKeys {
		return tender.Invalid("metadata", "metadata may have at most %d keys", maxMetaKeys)
	}
	for k, v := range md {
		if k == "" || utf8.RuneCountInString(k) > maxMetaKey {
			return tender.Invalid("metadata", "metadata keys must be 1 to %d characters", maxMetaKey)
		}
		if err := validateText("metadata."+k, v, maxMetaValue); err != nil {
			return err
		}
	}
	return nil
}

// CreateMerchant validates and stores a new merchant.
func (e *Engine) CreateMerchant(ctx context.Context, r MerchantRequest) (*tender.Merchant, error) {
	m := &tender.Merchant{ID: r.ID, CreatedAt: e.clock.Now().UTC()}
	if m.ID == "" {
		m.ID = tender.NewID("mer")
	}
	if !idPattern.MatchString(m.ID) {
		return nil, tender.Invalid("id", "id must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	if r.Name == nil || *r.Name == "" {
		return nil, tender.Invalid("name", "name is required")
	}
	if err := r.apply(m); err != nil {
		return nil, err
	}
	if err := e.store.CreateMerchant(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// GetMerchant returns a merchant.
func (e *Engine) GetMerchant(ctx context.Context, id string) (*tender.Merchant, error) {
	return e.store.GetMerchant(ctx, id)
}

// ListMerchants pages through merchants in id order.
func (e *Engine) ListMerchants(ctx context.Context, f tender.MerchantFilter) ([]*tender.Merchant, bool, error) {
	if f.Limit == 0 {
		f.Limit = 10
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, tender.Invalid("limit", "limit must be between 1 and 100")
	}
	return e.store.ListMerchants(ctx, f)
}

// UpdateMerchant applies r (its non-nil fields) to merchant id.
func (e *Engine) UpdateMerchant(ctx context.Context, id string, r MerchantRequest) (*tender.Merchant, error) {
	defer e.locks.Lock("merchant:" + id)()
	m, err := e.store.GetMerchant(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Name != nil && *r.Name == "" {
		return nil, tender.Invalid("name", "name must not be empty")
	}
	if err := r.apply(m); err != nil {
		return nil, err
	}
	// Whatever the store answers (a commit's answer may be lost), this
	// process keeps the merchant no longer.
	defer e.shops.changed(id)
	if err := e.store.UpdateMerchant(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// APIKeyRequest asks for a new API key.
type APIKeyRequest struct {
	Name  string
	Scope string // tender.ScopePlatform, ScopeMerchant or ScopeTerminal
	// Merchant is the merchant a merchant or terminal key acts for; a
	// platform key's is the default merchant.
	Merchant string
	// Terminals are a terminal key's terminals: 1 to 100 of the merchant's.
	Terminals []string
}

// maxKeyTerminals bounds the terminals of one terminal key.
const maxKeyTerminals = 100

// NewAPIKey makes a new API key and returns its secret, which is shown
// once and stored only as a hash.
func (e *Engine) NewAPIKey(ctx context.Context, r APIKeyRequest) (string, *tender.APIKey, error) {
	if err := validateText("name", r.Name, 100); err != nil {
		return "", nil, err
	}
	k := &tender.APIKey{ID: tender.NewID("key"), Name: r.Name, Scope: r.Scope, CreatedAt: e.clock.Now().UTC()}
	switch r.Scope {
	case tender.ScopePlatform:
		if r.Merchant != "" {
			return "", nil, tender.Invalid("merchant", "a platform key acts for every merchant; leave merchant out")
		}
		k.Merchant = tender.DefaultMerchant
	case tender.ScopeMerchant, tender.ScopeTerminal:
		if r.Merchant == "" {
			return "", nil, tender.Invalid("merchant", "merchant is required for a %s key", r.Scope)
		}
		if _, err := e.store.GetMerchant(ctx, r.Merchant); err != nil {
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				return "", nil, tender.Invalid("merchant", "merchant %q does not exist", r.Merchant)
			}
			return "", nil, err
		}
		k.Merchant = r.Merchant
	default:
		return "", nil, tender.Invalid("scope", "scope must be \"platform\", \"merchant\" or \"terminal\"")
	}
	if r.Scope == tender.ScopeTerminal {
		if len(r.Terminals) == 0 || len(r.Terminals) > maxKeyTerminals {
			return "", nil, tender.Invalid("terminals", "a terminal key names 1 to %d terminals", maxKeyTerminals)
		}
		for _, id := range r.Terminals {
			t, err := e.store.GetTerminal(ctx, id)
			if err == nil && t.Merchant != k.Merchant {
				err = notFound("terminal", id)
			}
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				return "", nil, tender.Invalid("terminals", "terminal %q does not exist for merchant %q", id, k.Merchant)
			}
			if err != nil {
				return "", nil, err
			}
		}
		k.Terminals = slices.Compact(slices.Sorted(slices.Values(r.Terminals)))
	} else if len(r.Terminals) > 0 {
		return "", nil, tender.Invalid("terminals", "only a terminal key names terminals")
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	secret := apiKeyPrefix + hex.EncodeToString(b)
	k.Hash = HashAPIKey(secret)
	k.Prefix = secret[:len(apiKeyPrefix)+6]
	if err := e.store.CreateAPIKey(ctx, k); err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

// ListAPIKeys pages through API keys, of one merchant or ("") of all.
func (e *Engine) ListAPIKeys(ctx context.Context, f tender.ListFilter) ([]*tender.APIKey, bool, error) {
	if err := checkListFilter(&f); err != nil {
		return nil, false, err
	}
	f.Connector = ""
	list, more, err := e.store.ListAPIKeys(ctx, f)
	for _, k := range list {
		k.Hash = ""
	}
	return list, more, err
}

// GetAPIKey returns an API key (without its hash).
func (e *Engine) GetAPIKey(ctx context.Context, id string) (*tender.APIKey, error) {
	k, err := e.store.GetAPIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	k.Hash = ""
	return k, nil
}

// RevokeAPIKey revokes a key: from the store's commit on, this instance
// refuses it, and every other once the store's notice reached it (within
// memoTTL at most; see Authenticate).
func (e *Engine) RevokeAPIKey(ctx context.Context, id string) (*tender.APIKey, error) {
	if err := e.store.RevokeAPIKey(ctx, id, e.clock.Now().UTC()); err != nil {
		return nil, err
	}
	if e.memo != nil {
		// This instance need not wait for its own notice.
		e.memo.changed("api_key", id)
	}
	return e.GetAPIKey(ctx, id)
}

// keyTouchEvery is how often a key's LastUsedAt is written: often enough to
// tell a key in use from a forgotten one, rarely enough not to make every
// request a write.
const keyTouchEvery = time.Minute

// IdempotencyScope is the scope of an Idempotency-Key: the API key and the
// merchant it acts for, so that two merchants (or one platform key acting
// for two merchants) may use the same key string. The default merchant's
// scope is the key id alone, as before merchants existed, so that a retry
// across the upgrade finds its record and its operation id.
func IdempotencyScope(merchant, apiKeyID string) string {
	if merchant == "" || merchant == tender.DefaultMerchant {
		return apiKeyID
	}
	return merchant + "/" + apiKeyID
}
