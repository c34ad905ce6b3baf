// Package sim simulates both services a Greek terminal payment goes
// through: Impact's POS signing service (under /impact) and ePay's WebECR
// backend with its virtual EFT-POS terminals (under /webecr), as described
// in the protocol notes epay-webecr.md §6.3 and §10.
package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
)

// TerminalConfig is a virtual EFT-POS.
type TerminalConfig struct {
	TID  string // 8 characters
	ID   int64  // backend id, used in /terminal/{id}/
	Name string
}

// Options configure a simulator. Zero values give sensible defaults.
type Options struct {
	Clock  tender.Clock
	Logger *slog.Logger
	// BaseURL is where the handler is reachable (for pagination links).
	BaseURL string

	Users         map[string]string // ePay user → password
	Terminals     []TerminalConfig
	ImpactAPIKeys []string
	// ImpactKey signs at Impact; generated when nil. Its public key is
	// registered with the ePay side as provider ProviderID.
	ImpactKey  *ecdsa.PrivateKey
	ProviderID string // default "3"

	AccessTTL  time.Duration // default 8 h
	RefreshTTL time.Duration // default 24 h
	// PressDelay is how long after txninit the operator "presses the
	// button" so the terminal takes the intent; negative: only Press does.
	PressDelay time.Duration
	// ProcessDelay is how long the terminal works on an intent.
	ProcessDelay time.Duration
	// PendingExpiry fails intents no terminal took (default 10 min).
	PendingExpiry time.Duration
	// OTPTTL is how long a one-time code is redeemable (default 5 min).
	OTPTTL time.Duration
}

// Sim is the simulator. Its state advances lazily, from the clock, whenever
// it is asked anything, so tests with a fake clock need no goroutines.
type Sim struct {
	opts   Options
	clock  tender.Clock
	log    *slog.Logger
	secret []byte
	mux    *http.ServeMux

	mu        sync.Mutex
	terminals []*terminal
	providers map[string]*ecdsa.PublicKey
	otps      map[string]*otp
	apiKeys   map[string]*apiKey
	intents   []*intent
	byRef     map[string][]*intent // intents by CustomerReference, for the POS's polls
	// firstOpen is the index in intents of the oldest intent not yet
	// completed: advance starts there, not at the first intent ever made
	// (a fleet makes thousands, and every request advances).
	firstOpen int
	txns      []*txn
	dropped   map[string]bool   // CustomerReference whose first txninit was dropped (rule 61)
	usedSigs  map[string]bool   // signatures consumed by an approved transaction
	sigTypes  map[string]string // signatureDurationType of each signature Impact made
	seq       int64
	refreshes int
	logins    int
	closed    chan struct{}
	closeOnce sync.Once
}

type terminal struct {
	TerminalConfig
	batch int
	stan  int
}

type otp struct {
	tid     string
	expires time.Time
	used    bool
}

type apiKey struct {
	tid     string
	revoked bool
}

type intent struct {
	epay.Intent
	tid        string
	created    time.Time
	sent       time.Time
	signature  string
	noResponse bool   // rule 55
	hostAmount *int64 // HostAmount: what the host record shows, not the intent's Amount
}

type txn struct {
	epay.Transaction
	transactionID string // AADE unique payment id
	intentID      string
	initial       *epay.NumID // the intent a refund or completion follows up
	at            time.Time
}

// New builds a simulator.
func New(o Options) (*Sim, error) {
	if o.Clock == nil {
		o.Clock = tender.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.ProviderID == "" {
		o.ProviderID = epay.DefaultProviderID
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.AccessTTL, 8*time.Hour)
	def(&o.RefreshTTL, 24*time.Hour)
	def(&o.PendingExpiry, 10*time.Minute)
	def(&o.OTPTTL, 5*time.Minute)
	if o.ImpactKey == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		o.ImpactKey = k
	}
	s := &Sim{opts: o, clock: o.Clock, log: o.Logger, secret: make([]byte, 32),
		providers: map[string]*ecdsa.PublicKey{o.ProviderID: &o.ImpactKey.PublicKey},
		otps:      map[string]*otp{}, apiKeys: map[string]*apiKey{}, dropped: map[string]bool{},
		usedSigs: map[string]bool{}, sigTypes: map[string]string{}, seq: 1000, closed: make(chan struct{})}
	if _, err := rand.Read(s.secret); err != nil {
		return nil, err
	}
	for _, t := range o.Terminals {
		s.terminals = append(s.terminals, &terminal{TerminalConfig: t, batch: 1})
	}
	s.routes()
	return s, nil
}

// Close releases requests the simulator holds unanswered (rule 55).
func (s *Sim) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// ServeHTTP serves Impact under /impact and ePay under /webecr.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ImpactPublicKey is the public key of the Impact simulator's signing key.
func (s *Sim) ImpactPublicKey() *ecdsa.PublicKey { return &s.opts.ImpactKey.PublicKey }

// RegisterProvider registers an e-invoicing provider's public key with the
// ePay side (as AADE publishes them).
func (s *Sim) RegisterProvider(id string, pub *ecdsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.providers[id] = pub
}

// ShowOTP makes the virtual terminal tid show a one-time pairing code
// ("Link with 3rd party services") and returns it.
func (s *Sim) ShowOTP(tid string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.terminalByTID(tid) == nil {
		return "", tender.Errorf(tender.ENotFound, "no terminal %s", tid)
	}
	code := randomDigits(10)
	s.otps[code] = &otp{tid: tid, expires: s.clock.Now().Add(s.opts.OTPTTL)}
	return code, nil
}

// AddAPIKey installs an API key for terminal tid (sandbox restarts).
func (s *Sim) AddAPIKey(key, tid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKeys[key] = &apiKey{tid: tid}
}

// RevokeAPIKey revokes a key, as a merchant can on the terminal.
func (s *Sim) RevokeAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.apiKeys[key]; k != nil {
		k.revoked = true
	}
}

// Refreshes reports how many access tokens were renewed with a refresh token.
func (s *Sim) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Logins reports how many logins succeeded.
func (s *Sim) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Entry is one transaction as the provider's ledger records it.
type Entry struct {
	TransactionID     string // AADE unique payment id
	IntentID          string
	CustomerReference string
	TID               string
	Amount            int64
	Approved          bool
	Voided            bool
	RRN               string
	TxnType           int
	TipAmount         int64
	// Of is the CustomerReference of the sale or pre-authorization a
	// refund or completion follows up ("" for those themselves).
	Of string
}

// Ledger returns the host transactions the backend knows (sales,
// pre-authorizations, their completions and refunds), oldest first.
func (s *Sim) Ledger() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	var out []Entry
	for _, t := range s.txns {
		e := Entry{TransactionID: t.transactionID, IntentID: t.intentID,
			CustomerReference: t.CustomerReference, TID: t.TID, Amount: t.Amount,
			Approved: t.Approved, Voided: t.Voided, RRN: t.RRN, TxnType: t.TxnType, TipAmount: t.TipAmount}
		if t.initial != nil {
			if orig := s.intentByID(string(*t.initial)); orig != nil {
				e.Of = s.rootOf(orig).CustomerReference
			}
		}
		out = append(out, e)
	}
	return out
}

// Intent returns the intent with CustomerReference ref as the backend has it.
func (s *Sim) Intent(ref string) (epay.Intent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	for _, in := range s.intents {
		if in.CustomerReference == ref {
			return in.Intent, true
		}
	}
	return epay.Intent{}, false
}

func (s *Sim) terminalByTID(tid string) *terminal {
	for _, t := range s.terminals {
		if t.TID == tid {
			return t
		}
	}
	return nil
}

func (s *Sim) nextID() int64 { s.seq++; return s.seq }

func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func detail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

func fieldError(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string][]string{field: {msg}})
}

func sortIntents(in []*intent) {
	sort.Slice(in, func(i, j int) bool { return in[i].created.Before(in[j].created) })
}
