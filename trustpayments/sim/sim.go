// Package sim simulates Trust Payments' side for tests and the sandbox: the
// /jwt/ gateway the JavaScript library and SDKs call, a stand-in st.js and
// 3-D Secure challenge, and the Webservices /json/ API, with a ledger of
// what the gateway believes happened.
package sim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// Site is one merchant site with its JWT user and Webservices user.
type Site struct {
	Reference  string // sitereference, e.g. test_tender12345
	JWTUser    string
	JWTSecret  []byte
	WSUser     string
	WSPassword string
}

// Options configure a Sim.
type Options struct {
	BaseURL string // where the handler is reachable (for acsurl); no trailing slash
	Clock   tender.Clock
	Logger  *slog.Logger
	MaxAge  time.Duration // request JWT validity; 0: 1h
}

// Tx is one transaction in the simulator's ledger.
type Tx struct {
	Reference      string
	Type           string // THREEDQUERY, AUTH, REFUND
	Site           string
	OrderReference string
	Parent         string
	BaseAmount     int64
	Currency       string
	ErrorCode      string
	ErrorMessage   string
	SettleStatus   string
	SettleAmount   int64 // settlebaseamount: what will be (or was) settled
	SettleDueDate  string
	MaskedPAN      string
	PaymentType    string
	AuthCode       string
	Enrolled       string
	Status         string
	Started        time.Time

	AccountType       string // accounttypedescription; "" is ECOM
	CredentialsOnFile string // "1": the card is stored for later charges
	InitiationReason  string
	Sub               *Schedule // a SUBSCRIPTION's schedule; an instalment's number in Sub.Number
	pan               string    // the stored card (credentialsonfile 1), never shown
}

// Sim is the simulated Trust Payments gateway.
type Sim struct {
	opts Options
	log  *slog.Logger

	mu         sync.Mutex
	sites      map[string]*Site // by sitereference
	byJWTUser  map[string]*Site
	byWSUser   map[string]*Site
	txs        []*Tx
	byRef      map[string]*Tx
	seq        int
	dropped    map[string]bool // rule 61: orders whose first request was dropped
	challenges map[string]*challenge
	errKey     []byte // signs answers for unknown JWT users (nobody can verify them)
}

// New returns a simulator with no sites.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = tender.SystemClock{}
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Hour
	}
	s := &Sim{
		opts: opts, log: opts.Logger,
		sites: map[string]*Site{}, byJWTUser: map[string]*Site{}, byWSUser: map[string]*Site{},
		byRef: map[string]*Tx{}, dropped: map[string]bool{}, challenges: map[string]*challenge{},
		errKey: []byte(randHex(16)),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// AddSite registers a site.
func (s *Sim) AddSite(site Site) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := site
	s.sites[st.Reference] = &st
	s.byJWTUser[st.JWTUser] = &st
	s.byWSUser[st.WSUser] = &st
}

// ServeHTTP routes the simulator's endpoints.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/jwt/", "/jwt":
		s.cors(w, r, s.serveJWT)
	case "/json/", "/json":
		s.serveJSON(w, r)
	case "/js/v3/st.js":
		w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write([]byte(stJS))
	case "/acs/challenge":
		s.cors(w, r, s.serveChallenge)
	case "/_sim/subscriptions/run", "/_sim/money":
		s.serveControl(w, r)
	case "/":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Trust Payments simulator: POST /jwt/ (JS library, SDKs), POST /json/ (Webservices), GET /js/v3/st.js")
	default:
		http.NotFound(w, r)
	}
}

// cors lets the hosted checkout (served by Tender on another origin) call
// the gateway from the browser, as the real gateway allows st.js to.
func (s *Sim) cors(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h(w, r)
}

// Ledger returns a copy of every transaction, oldest first.
func (s *Sim) Ledger() []Tx {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Tx, len(s.txs))
	for i, t := range s.txs {
		out[i] = *t
	}
	return out
}

// Approved returns the approved AUTHs for an orderreference.
func (s *Sim) Approved(order string) []Tx {
	var out []Tx
	for _, t := range s.Ledger() {
		if t.Type == "AUTH" && t.OrderReference == order && t.ErrorCode == "0" {
			out = append(out, t)
		}
	}
	return out
}

// Refunded returns the sum of approved refunds of a transaction.
func (s *Sim) Refunded(parent string) int64 {
	var sum int64
	for _, t := range s.Ledger() {
		if t.Type == "REFUND" && t.Parent == parent && t.ErrorCode == "0" {
			sum += t.SettleAmount
		}
	}
	return sum
}

// Settle moves transactions pending settlement (0, 1) whose due date has
// come to settled (100), as the nightly settlement does.
func (s *Sim) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	today := s.today()
	for _, t := range s.txs {
		if (t.SettleStatus == "0" || t.SettleStatus == "1") && t.SettleDueDate <= today && t.ErrorCode == "0" {
			t.SettleStatus = "100"
		}
	}
}

func (s *Sim) today() string { return s.opts.Clock.Now().UTC().Format("2006-01-02") }

// newTx appends a transaction with a fresh reference; s.mu is held.
func (s *Sim) newTx(t Tx) *Tx {
	s.seq++
	t.Reference = fmt.Sprintf("56-9-%d", 100000+s.seq)
	t.Started = s.opts.Clock.Now().UTC()
	if t.SettleDueDate == "" {
		t.SettleDueDate = s.today()
	}
	tx := &t
	s.txs = append(s.txs, tx)
	s.byRef[tx.Reference] = tx
	return tx
}

// record renders a transaction as a TRANSACTIONQUERY record or response element.
func (t *Tx) record() map[string]string {
	acct := t.AccountType
	if acct == "" {
		acct = "ECOM"
	}
	m := map[string]string{
		"requesttypedescription":      t.Type,
		"transactionreference":        t.Reference,
		"sitereference":               t.Site,
		"accounttypedescription":      acct,
		"errorcode":                   t.ErrorCode,
		"errormessage":                t.ErrorMessage,
		"transactionstartedtimestamp": t.Started.Format("2006-01-02 15:04:05"),
		"livestatus":                  "0",
		"interface":                   "PASS-JWT-JWT",
	}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("orderreference", t.OrderReference)
	set("parenttransactionreference", t.Parent)
	set("currencyiso3a", t.Currency)
	set("maskedpan", t.MaskedPAN)
	set("paymenttypedescription", t.PaymentType)
	set("authcode", t.AuthCode)
	set("enrolled", t.Enrolled)
	set("status", t.Status)
	set("credentialsonfile", t.CredentialsOnFile)
	set("initiationreason", t.InitiationReason)
	t.Sub.fields(m)
	if t.Type != "THREEDQUERY" {
		m["baseamount"] = fmt.Sprint(t.BaseAmount)
		m["settlestatus"] = t.SettleStatus
		m["settleduedate"] = t.SettleDueDate
		m["settlebaseamount"] = fmt.Sprint(t.SettleAmount)
	}
	return m
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randAlnum(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// requestReference is the gateway's own reference: W<digits>-<8 chars>.
func requestReference() string { return "W56-" + randAlnum(8) }

// hijackDrop closes the client's connection without an answer: the
// sandbox's transport errors (rules 55 and 61).
func hijackDrop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
