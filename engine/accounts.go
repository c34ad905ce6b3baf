package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// idPattern is what merchant-chosen ids (accounts, terminals) look like:
// safe in a URL path without escaping.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (e *Engine) sealCredentials(kind, id string, creds map[string]string) ([]byte, error) {
	// Sealed even when empty: a fresh nonce makes every update's sealed
	// bytes new, which is what UpdateAccount's version check compares.
	if creds == nil {
		creds = map[string]string{}
	}
	raw, err := json.Marshal(creds)
	if err != nil {
		return nil, err
	}
	return e.sealer.Seal(raw, kind+":"+id)
}

func (e *Engine) openCredentials(kind, id string, sealed []byte) (map[string]string, error) {
	if len(sealed) == 0 {
		return map[string]string{}, nil
	}
	// Opened credentials are kept, keyed by what they were opened from:
	// every update seals anew, so a changed account is never served from
	// here (its old entry is dropped on its next open).
	cacheKey := kind + "\x00" + id
	e.credMu.Lock()
	c, ok := e.creds[cacheKey]
	e.credMu.Unlock()
	if ok && string(c.sealed) == string(sealed) {
		return maps.Clone(c.open), nil
	}
	creds, err := e.unseal(kind, id, sealed)
	if err != nil {
		return nil, err
	}
	e.credMu.Lock()
	if len(e.creds) >= maxCachedCredentials {
		clear(e.creds)
	}
	e.creds[cacheKey] = openedCredentials{sealed: slices.Clone(sealed), open: maps.Clone(creds)}
	e.credMu.Unlock()
	return creds, nil
}

// maxCachedCredentials bounds the opened credentials kept in memory.
const maxCachedCredentials = 4096

// openedCredentials are an account's or terminal's credentials as opened
// from sealed.
type openedCredentials struct {
	sealed []byte
	open   map[string]string
}

func (e *Engine) unseal(kind, id string, sealed []byte) (map[string]string, error) {
	raw, err := e.sealer.Open(sealed, kind+":"+id)
	if err != nil {
		return nil, tender.Wrap(tender.EInternal, err, "the credentials of %s %q do not open with this server's master key", kind, id)
	}
	var creds map[string]string
	if err := json.Unmarshal(raw, &creds); err != nil {
		return nil, tender.Wrap(tender.EInternal, err, "the credentials of %s %q are damaged", kind, id)
	}
	return creds, nil
}

// CreateAccount validates an account with its connector, seals its
// credentials and stores it. The first account of a connector becomes its
// default.
func (e *Engine) CreateAccount(ctx context.Context, a *tender.Account) (*tender.Account, error) {
	if a.ID == "" {
		a.ID = tender.NewID("acct")
	}
	if !idPattern.MatchString(a.ID) {
		return nil, tender.Invalid("id", "id must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	if a.Connector == "" {
		return nil, tender.Invalid("connector", "connector is required")
	}
	c, err := e.connector(a.Connector)
	if err != nil {
		return nil, err
	}
	switch a.Environment {
	case "":
		a.Environment = tender.EnvLive
	case tender.EnvLive, tender.EnvSandbox:
	default:
		return nil, tender.Invalid("environment", "environment must be \"sandbox\" or \"live\"")
	}
	if a.Settings == nil {
		a.Settings = map[string]string{}
	}
	if a.Credentials == nil {
		a.Credentials = map[string]string{}
	}
	if err := c.ValidateAccount(a); err != nil {
		return nil, err
	}
	if err := liveEndpoints(a); err != nil {
		return nil, err
	}
	a.Merchant = tender.MerchantFrom(ctx)
	if !a.Default {
		if _, err := e.store.DefaultAccount(ctx, a.Merchant, a.Connector); tender.ErrorCodeOf(err) == tender.ENotFound {
			a.Default = true
		}
	}
	if a.Sealed, err = e.sealCredentials("account", a.ID, a.Credentials); err != nil {
		return nil, err
	}
	a.CreatedAt = e.clock.Now().UTC()
	if err := e.store.CreateAccount(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// GetAccount returns an account without its credentials.
func (e *Engine) GetAccount(ctx context.Context, id string) (*tender.Account, error) {
	a, err := e.ownAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	a.Credentials, a.Sealed = nil, nil
	return a, nil
}

// ListAccounts pages through accounts, without their credentials.
func (e *Engine) ListAccounts(ctx context.Context, f tender.ListFilter) ([]*tender.Account, bool, error) {
	if err := checkListFilter(&f); err != nil {
		return nil, false, err
	}
	f.Merchant = tender.MerchantFrom(ctx)
	list, more, err := e.store.ListAccounts(ctx, f)
	for _, a := range list {
		a.Credentials, a.Sealed = nil, nil
	}
	return list, more, err
}

func checkListFilter(f *tender.ListFilter) error {
	if f.Limit == 0 {
		f.Limit = 10
	}
	if f.Limit < 1 || f.Limit > 100 {
		return tender.Invalid("limit", "limit must be between 1 and 100")
	}
	return nil
}

// ownAccount returns the account with id if it belongs to the merchant
// ctx acts for; another merchant's account is not found, as a missing one.
func (e *Engine) ownAccount(ctx context.Context, id string) (*tender.Account, error) {
	a, err := e.store.GetAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Merchant != tender.MerchantFrom(ctx) {
		return nil, notFound("account", id)
	}
	return a, nil
}

// ownTerminal is ownAccount for terminals.
func (e *Engine) ownTerminal(ctx context.Context, id string) (*tender.Terminal, error) {
	t, err := e.store.GetTerminal(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Merchant != tender.MerchantFrom(ctx) {
		return nil, notFound("terminal", id)
	}
	return t, nil
}

// notFound is the error for an object that does not exist for the caller:
// the same words whether it is missing or another merchant's, so that no
// merchant learns of another's objects.
func notFound(what, id string) error {
	return tender.Errorf(tender.ENotFound, "no %s %q", what, id)
}

// loadAccount returns an account with its credentials opened.
func (e *Engine) loadAccount(ctx context.Context, id string) (*tender.Account, error) {
	a, err := e.store.GetAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Credentials, err = e.openCredentials("account", a.ID, a.Sealed); err != nil {
		return nil, err
	}
	return a, nil
}

// openedAccount is loadAccount from memory (see recent) when the account
// was read within the TTL and no change of it was told since; kept says
// it came from there.
func (e *Engine) openedAccount(ctx context.Context, id string) (a *tender.Account, kept bool, err error) {
	a, gen := e.opened.get(id)
	if a != nil {
		return a, true, nil
	}
	read := time.Now()
	if a, err = e.loadAccount(ctx, id); err != nil {
		return nil, false, err
	}
	e.opened.keep(id, a, gen, read)
	return a, false, nil
}

// resolveAccount finds the account a payment uses.
func (e *Engine) resolveAccount(ctx context.Context, connector, id string) (*tender.Account, error) {
	var a *tender.Account
	var err error
	if id == "" {
		a, err = e.store.DefaultAccount(ctx, tender.MerchantFrom(ctx), connector)
		if tender.ErrorCodeOf(err) == tender.ENotFound {
			return nil, tender.Invalid("account", "connector %q has no account yet; create one with POST /v1/accounts", connector)
		}
		if err != nil {
			return nil, err
		}
		// The default account as read: no second read by its id.
		if a.Credentials, err = e.openCredentials("account", a.ID, a.Sealed); err != nil {
			return nil, err
		}
	} else {
		a, err = e.loadAccount(ctx, id)
	}
	if tender.ErrorCodeOf(err) == tender.ENotFound {
		return nil, tender.Invalid("account", "account %q does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	return a, accountFits(ctx, a, connector, id)
}

// accountFits says whether account a, found for id, may pay on connector
// for the merchant ctx acts for.
func accountFits(ctx context.Context, a *tender.Account, connector, id string) error {
	if a.Merchant != tender.MerchantFrom(ctx) {
		return tender.Invalid("account", "account %q does not exist", id)
	}
	if a.Connector != connector {
		return tender.Invalid("account", "account %q is a %s account, not %s", id, a.Connector, connector)
	}
	return nil
}

// createAccount is resolveAccount for a create whose insert the store
// checks (tender.CreateChecks): with memory (kept), the account may be the
// one the last create read, as the checks it returns make the insert
// refuse it (tender.ErrStale) if it changed since.
func (e *Engine) createAccount(ctx context.Context, connector, id string, kept bool) (*tender.Account, tender.CreateChecks, error) {
	chk := tender.CreateChecks{Operation: true}
	key := "id\x00" + id
	if id == "" {
		key = defaultAccountKey(tender.MerchantFrom(ctx), connector)
	}
	var a *tender.Account
	if kept {
		a = e.memo.account(key)
	}
	if a != nil {
		if err := accountFits(ctx, a, connector, id); err != nil {
			return nil, chk, err
		}
	} else {
		var err error
		if a, err = e.resolveAccount(ctx, connector, id); err != nil {
			return nil, chk, err
		}
		if len(a.Sealed) == 0 {
			return a, chk, nil // nothing to check it by: not kept
		}
		e.memo.keepAccount(key, a)
	}
	chk.AccountSealed, chk.AccountDefault = a.Sealed, id == ""
	return a, chk, nil
}

// CreateTerminal validates a terminal against its account and stores it.
func (e *Engine) CreateTerminal(ctx context.Context, t *tender.Terminal) (*tender.Terminal, error) {
	if !idPattern.MatchString(t.ID) {
		return nil, tender.Invalid("id", "id is required: 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	if t.Connector == "" && t.Account == "" {
		return nil, tender.Invalid("connector", "connector or account is required")
	}
	if t.Connector == "" {
		a, err := e.ownAccount(ctx, t.Account)
		if err != nil {
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				return nil, tender.Invalid("account", "account %q does not exist", t.Account)
			}
			return nil, err
		}
		t.Connector = a.Connector
	}
	c, err := e.connector(t.Connector)
	if err != nil {
		return nil, err
	}
	a, err := e.resolveAccount(ctx, t.Connector, t.Account)
	if err != nil {
		return nil, err
	}
	t.Account, t.Merchant = a.ID, a.Merchant
	if strings.TrimSpace(t.ProviderID) == "" {
		return nil, tender.Invalid("provider_id", "provider_id is required: the provider's id of the terminal (Sepay SID, ePay TID)")
	}
	if err := validateText("label", t.Label, 200); err != nil {
		return nil, err
	}
	if t.Settings == nil {
		t.Settings = map[string]string{}
	}
	if t.Credentials == nil {
		t.Credentials = map[string]string{}
	}
	if err := c.ValidateTerminal(t, a); err != nil {
		return nil, err
	}
	if t.Sealed, err = e.sealCredentials("terminal", t.ID, t.Credentials); err != nil {
		return nil, err
	}
	t.CreatedAt = e.clock.Now().UTC()
	if err := e.store.CreateTerminal(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// GetTerminal returns a terminal without its credentials.
func (e *Engine) GetTerminal(ctx context.Context, id string) (*tender.Terminal, error) {
	t, err := e.ownTerminal(ctx, id)
	if err != nil {
		return nil, err
	}
	t.Credentials, t.Sealed = nil, nil
	return t, nil
}

// ListTerminals pages through terminals, without their credentials.
func (e *Engine) ListTerminals(ctx context.Context, f tender.ListFilter) ([]*tender.Terminal, bool, error) {
	if err := checkListFilter(&f); err != nil {
		return nil, false, err
	}
	f.Merchant = tender.MerchantFrom(ctx)
	list, more, err := e.store.ListTerminals(ctx, f)
	for _, t := range list {
		t.Credentials, t.Sealed = nil, nil
	}
	return list, more, err
}

func (e *Engine) loadTerminal(ctx context.Context, id string) (*tender.Terminal, error) {
	t, err := e.store.GetTerminal(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Credentials, err = e.openCredentials("terminal", t.ID, t.Sealed); err != nil {
		return nil, err
	}
	return t, nil
}

// apiKeyPrefix starts every API key, so that a leaked key is easy to find
// with secret scanners.
const apiKeyPrefix = "tender_sk_"

// CreateAPIKey makes a new platform key (see NewAPIKey) and returns its
// secret, which is shown once and stored only as a hash.
func (e *Engine) CreateAPIKey(ctx context.Context, name string) (string, *tender.APIKey, error) {
	return e.NewAPIKey(ctx, APIKeyRequest{Name: name, Scope: tender.ScopePlatform})
}

// HashAPIKey is how API key secrets are stored. The keys are 192-bit random,
// so a plain SHA-256 (no slow hash) is enough and keeps lookups fast.
func HashAPIKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Authenticate returns the API key whose secret is given, if it is not
// revoked. On a store that tells of changes (PostgreSQL) a key read within
// the last memoTTL is used again while those notices flow: a revocation
// on any instance drops it everywhere once its notice arrives, within
// memoTTL at most (see memo). Otherwise every request reads the key from
// the store (one indexed lookup).
func (e *Engine) Authenticate(ctx context.Context, secret string) (*tender.APIKey, error) {
	if !strings.HasPrefix(secret, apiKeyPrefix) {
		return nil, tender.Errorf(tender.EUnauthorized, "the API key is not valid")
	}
	hash := HashAPIKey(secret)
	k, gen := e.memo.key(hash)
	if k == nil {
		read := time.Now()
		var err error
		k, err = e.store.APIKeyByHash(ctx, hash)
		if tender.ErrorCodeOf(err) == tender.ENotFound {
			return nil, tender.Errorf(tender.EUnauthorized, "the API key is not valid")
		}
		if err != nil {
			return nil, err
		}
		e.memo.keepKey(hash, k, gen, read)
	}
	if !k.RevokedAt.IsZero() {
		return nil, tender.Errorf(tender.EUnauthorized, "the API key was revoked")
	}
	now := e.clock.Now().UTC()
	if now.Sub(k.LastUsedAt) >= keyTouchEvery {
		if err := e.store.TouchAPIKey(ctx, k.ID, now, keyTouchEvery); err != nil {
			e.log.Warn("cannot record an API key's use", "key", k.ID, "err", err)
		} else {
			e.memo.touched(hash, now)
		}
	}
	k.Hash = ""
	return k, nil
}

// CredentialKeys lists the names (never the values) of the credentials set
// on an account or terminal (kind "account" or "terminal").
func (e *Engine) CredentialKeys(ctx context.Context, kind, id string) ([]string, error) {
	var sealed []byte
	switch kind {
	case "account":
		a, err := e.ownAccount(ctx, id)
		if err != nil {
			return nil, err
		}
		sealed = a.Sealed
	case "terminal":
		t, err := e.ownTerminal(ctx, id)
		if err != nil {
			return nil, err
		}
		sealed = t.Sealed
	default:
		return nil, tender.Errorf(tender.EInternal, "no credentials on %s", kind)
	}
	creds, err := e.openCredentials(kind, id, sealed)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(creds))
	for k := range creds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// AccountChange is an update of an account. Settings and Credentials are
// merged into what is stored key by key; an empty value removes the key,
// so that one secret can be rotated without sending the others. A nil
// Default leaves the flag alone.
type AccountChange struct {
	Settings    map[string]string
	Credentials map[string]string
	Default     *bool
}

// UpdateAccount applies a change to an account, validates the result with
// its connector and stores it with the credentials sealed again. Payments
// already under way use the account as it was when each operation began.
func (e *Engine) UpdateAccount(ctx context.Context, id string, ch AccountChange) (*tender.Account, error) {
	defer e.locks.Lock("account:" + id)()
	// Another instance may change the account at the same time: the store
	// takes the update only over the version it was made from, else it is
	// made again over the new one, so neither change is lost.
	for attempt := 0; ; attempt++ {
		a, err := e.updateAccount(ctx, id, ch)
		if errors.Is(err, tender.ErrStale) && attempt < 10 {
			continue
		}
		return a, err
	}
}

func (e *Engine) updateAccount(ctx context.Context, id string, ch AccountChange) (*tender.Account, error) {
	// Whatever the store answers (an update whose commit's answer was
	// lost may have committed), this process keeps the account no longer.
	defer e.opened.changed(id)
	if _, err := e.ownAccount(ctx, id); err != nil {
		return nil, err
	}
	a, err := e.loadAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := e.connector(a.Connector)
	if err != nil {
		return nil, err
	}
	settings, creds := merge(a.Settings, ch.Settings), merge(a.Credentials, ch.Credentials)
	if maps.Equal(settings, a.Settings) && maps.Equal(creds, a.Credentials) && (ch.Default == nil || *ch.Default == a.Default) {
		// Nothing changes (a sandbox restart brings its accounts up to
		// date this way): no commit.
		return a, nil
	}
	a.Settings, a.Credentials = settings, creds
	if ch.Default != nil {
		if !*ch.Default && a.Default {
			return nil, tender.Invalid("default", "a connector keeps its default account; make another account the default instead")
		}
		a.Default = *ch.Default
	}
	if err := c.ValidateAccount(a); err != nil {
		return nil, err
	}
	if err := liveEndpoints(a); err != nil {
		return nil, err
	}
	read := append([]byte{}, a.Sealed...) // not nil: "stored as read", even when empty
	if a.Sealed, err = e.sealCredentials("account", a.ID, a.Credentials); err != nil {
		return nil, err
	}
	if err := e.store.UpdateAccount(ctx, a, read); err != nil {
		return nil, err
	}
	return a, nil
}

// TerminalChange is an update of a terminal; Settings and Credentials merge
// as in AccountChange, a nil Label leaves the label alone.
type TerminalChange struct {
	Label       *string
	Settings    map[string]string
	Credentials map[string]string
}

// UpdateTerminal applies a change to a terminal, validates it against its
// account and stores it with the credentials sealed again.
func (e *Engine) UpdateTerminal(ctx context.Context, id string, ch TerminalChange) (*tender.Terminal, error) {
	defer e.locks.Lock("terminal:" + id)()
	for attempt := 0; ; attempt++ { // as UpdateAccount
		t, err := e.updateTerminal(ctx, id, ch)
		if errors.Is(err, tender.ErrStale) && attempt < 10 {
			continue
		}
		return t, err
	}
}

func (e *Engine) updateTerminal(ctx context.Context, id string, ch TerminalChange) (*tender.Terminal, error) {
	if _, err := e.ownTerminal(ctx, id); err != nil {
		return nil, err
	}
	t, err := e.loadTerminal(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := e.connector(t.Connector)
	if err != nil {
		return nil, err
	}
	a, err := e.loadAccount(ctx, t.Account)
	if err != nil {
		return nil, err
	}
	settings, creds := merge(t.Settings, ch.Settings), merge(t.Credentials, ch.Credentials)
	if maps.Equal(settings, t.Settings) && maps.Equal(creds, t.Credentials) && (ch.Label == nil || *ch.Label == t.Label) {
		return t, nil // nothing changes: no commit
	}
	if ch.Label != nil {
		if err := validateText("label", *ch.Label, 200); err != nil {
			return nil, err
		}
		t.Label = *ch.Label
	}
	t.Settings, t.Credentials = settings, creds
	if err := c.ValidateTerminal(t, a); err != nil {
		return nil, err
	}
	read := append([]byte{}, t.Sealed...)
	if t.Sealed, err = e.sealCredentials("terminal", t.ID, t.Credentials); err != nil {
		return nil, err
	}
	if err := e.store.UpdateTerminal(ctx, t, read); err != nil {
		return nil, err
	}
	return t, nil
}

// merge returns base with change applied: a non-empty value sets its key,
// an empty one deletes it.
func merge(base, change map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(change))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range change {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// liveEndpoints refuses a live account whose settings send provider calls
// (or the shopper's browser) to a literal non-public address or localhost:
// a live provider is on the internet. Outside sandbox mode the dial check
// (PublicOnlyTransport) stops such calls anyway; this says so at once.
func liveEndpoints(a *tender.Account) error {
	if a.Environment != tender.EnvLive {
		return nil
	}
	keys := make([]string, 0, len(a.Settings))
	for k := range a.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		u, err := url.Parse(a.Settings[k])
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
		if ip, ok := literalAddr(host); ok && !PublicAddr(ip) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return tender.Invalid("settings."+k, "%s must be on a public host for a live account, not %s", k, host)
		}
	}
	return nil
}
