// Package sim simulates Sepay's WECR v2 service: the SOAP endpoint with its
// signatures, validation and status codes, a queue per terminal (SID) that a
// simulated terminal picks up, long-polling, cancel rules, callbacks and a
// ledger of what Sepay believes happened. See the notes
// (protocols/sepay-wecr.md §9) and the README.
package sim

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/sepay"
)

// ServicePath is where the SOAP service and its WSDL are served.
const ServicePath = "/v2/wecr.asmx"

// Options configure a simulator.
type Options struct {
	// Key is the simulated Sepay's signing key and Certificate its PEM
	// certificate; both are generated when Key is nil.
	Key         *rsa.PrivateKey
	Certificate []byte
	Clock       tender.Clock
	Logger      *slog.Logger
	// BaseURL is where the handler is reachable (for the WSDL's address);
	// when "", the address is taken from the request.
	BaseURL string
	// PickupAfter is how long a queued transaction waits before the terminal
	// picks it up by itself; 0 means only on command (Pickup).
	PickupAfter time.Duration
	// ProcessFor is how long the terminal works before the outcome.
	ProcessFor time.Duration
	// QueueExpiry cancels a transaction never picked up; 0 = never.
	QueueExpiry time.Duration
	// LongPollMax caps GetTransactionStatus's timeout (default 30 s).
	LongPollMax time.Duration
	// PollEvery is how often a long-poll looks for changes (default 20 ms).
	PollEvery time.Duration
	// ZeroPortSignedEmpty makes the simulator sign a zero terminalport as
	// "" (cardboard's rendering, notes §4.4) while writing <terminalport>0
	// (an unsignedShort is always present, §2.3). It is off by default:
	// the simulator signs exactly the text it writes, so a client that
	// builds the string from the XML text (the notes' Go client rule)
	// verifies every answer. Turn it on to test a client's tolerance of a
	// server that signs otherwise; whether the real one does is unknown.
	ZeroPortSignedEmpty bool
	// UnknownRefStatus is the status for an unknown transactionref
	// (default "04"; the real code is unknown).
	UnknownRefStatus string
	// CancelFinishedStatus is the answer to CancelTransaction of a
	// transaction that has already finished: "13" (default) or "00" with
	// message "already finished" (notes §3.4, §9.3: either is possible).
	CancelFinishedStatus string
	// HTTPClient posts callbacks; CallbackRetries and CallbackBackoff govern
	// retries on failure (defaults 3 and 200 ms).
	HTTPClient      *http.Client
	CallbackRetries int
	CallbackBackoff time.Duration
}

// Sim is the simulator. It is an http.Handler.
type Sim struct {
	opts  Options
	clock tender.Clock
	log   *slog.Logger
	cert  []byte

	mu        sync.Mutex
	logins    map[string]*login
	terminals map[string]*terminal // by SID
	txns      map[string]*txn      // by login + "\x00" + transactionref
	order     []*txn
	dropped   map[string]bool   // refs whose first request was dropped (rule 61)
	changed   chan struct{}     // closed and replaced on every state change
	answers   map[string]string // refs whose next status answer is forced (AnswerNext)

	stats stats

	wg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
}

type login struct {
	keys map[int]*rsa.PublicKey
	sids map[string]bool
}

type terminal struct {
	sid     string
	enabled bool
	ip      string
	port    int
	open    *txn
}

// New returns a simulator with no logins; add them with AddLogin.
func New(opts Options) (*Sim, error) {
	if opts.Key == nil {
		k, err := sepay.GenerateKey()
		if err != nil {
			return nil, err
		}
		opts.Key = k
		opts.Certificate = nil
	}
	if opts.Certificate == nil {
		c, err := sepay.NewCertificate(opts.Key, "wecr.sim.tender", time.Now())
		if err != nil {
			return nil, err
		}
		opts.Certificate = c
	}
	cert, err := sepay.ParseCertificate(opts.Certificate)
	if err != nil {
		return nil, err
	}
	if !opts.Key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("sepay sim: certificate does not match key")
	}
	if opts.Clock == nil {
		opts.Clock = tender.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LongPollMax <= 0 {
		opts.LongPollMax = 30 * time.Second
	}
	if opts.PollEvery <= 0 {
		opts.PollEvery = 20 * time.Millisecond
	}
	if opts.UnknownRefStatus == "" {
		opts.UnknownRefStatus = sepay.StatusUnknownRef
	}
	if opts.CancelFinishedStatus == "" {
		opts.CancelFinishedStatus = sepay.StatusFailed
	}
	if opts.HTTPClient == nil {
		// A fleet's terminals finish many at a time: keep connections to
		// the callback host for them instead of Go's default two, which
		// made nearly every callback dial anew.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if opts.CallbackRetries <= 0 {
		opts.CallbackRetries = 3
	}
	if opts.CallbackBackoff <= 0 {
		opts.CallbackBackoff = 200 * time.Millisecond
	}
	return &Sim{
		opts: opts, clock: opts.Clock, log: opts.Logger.With("sim", "sepay"), cert: opts.Certificate,
		logins: map[string]*login{}, terminals: map[string]*terminal{}, txns: map[string]*txn{},
		dropped: map[string]bool{}, answers: map[string]string{}, changed: make(chan struct{}), closed: make(chan struct{}),
	}, nil
}

// Certificate returns the simulated Sepay's certificate (PEM): what a
// client must verify responses with (the account's sepay_certificate).
func (s *Sim) Certificate() []byte { return s.cert }

// AddLogin registers an integrator certificate (PEM) for login under
// keyIndex, as Sepay does when an integrator sends its certificate.
func (s *Sim) AddLogin(name string, keyIndex int, certPEM []byte) error {
	cert, err := sepay.ParseCertificate(certPEM)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logins[name]
	if l == nil {
		l = &login{keys: map[int]*rsa.PublicKey{}, sids: map[string]bool{}}
		s.logins[name] = l
	}
	l.keys[keyIndex] = cert.PublicKey.(*rsa.PublicKey)
	return nil
}

// AddTerminal links SID sid to login, enabled for WECR, with the LAN
// address returned in terminalip/terminalport.
func (s *Sim) AddTerminal(loginName, sid, ip string, port int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logins[loginName]
	if l == nil {
		return fmt.Errorf("sepay sim: no login %q", loginName)
	}
	l.sids[sid] = true
	if s.terminals[sid] == nil {
		s.terminals[sid] = &terminal{sid: sid, enabled: true, ip: ip, port: port}
	}
	return nil
}

// SetTerminalEnabled enables or disables a terminal for WECR (07 when not).
func (s *Sim) SetTerminalEnabled(sid string, enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.terminals[sid]; t != nil {
		t.enabled = enabled
	}
}

// Close stops background work and waits for callbacks in flight.
func (s *Sim) Close() {
	s.once.Do(func() { close(s.closed) })
	s.wg.Wait()
}

// Run advances the simulator every interval until Close: terminals pick
// up, finish, and callbacks go out without anyone asking.
func (s *Sim) Run(interval time.Duration) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.closed:
				return
			case <-t.C:
				s.Advance()
			}
		}
	}()
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	if !strings.EqualFold(r.URL.Path, ServicePath) {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		for k := range r.URL.Query() {
			if strings.EqualFold(k, "wsdl") {
				s.serveWSDL(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "SEPAY Wireless ECR v2 (Tender simulator). Operations: StartTransaction, GetTransactionStatus, CancelTransaction. WSDL: ?WSDL")
	case http.MethodPost:
		s.serveSOAP(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (s *Sim) serveSOAP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fault(w, "soap:Client", "Server was unable to read request.")
		return
	}
	action := strings.Trim(strings.TrimSpace(r.Header.Get("SOAPAction")), `"`)
	name, ok := strings.CutPrefix(action, sepay.Namespace+"/")
	op := sepay.Operations[name]
	if !ok || op == nil {
		fault(w, "soap:Client", "Server did not recognize the value of HTTP Header SOAPAction: "+action+".")
		return
	}
	m, err := op.ParseRequest(body)
	if err != nil {
		fault(w, "soap:Client", "Server was unable to read request. ---> There is an error in XML document.")
		return
	}
	s.stats.request(op)
	var res sepay.Values
	switch op {
	case sepay.StartTransaction:
		res = s.start(w, r, m)
	case sepay.GetTransactionStatus:
		res = s.status(r, m)
	case sepay.CancelTransaction:
		res = s.cancel(m)
	}
	if res == nil {
		return // the handler already dealt with the connection
	}
	s.reply(w, op, res)
}

func (s *Sim) reply(w http.ResponseWriter, op *sepay.Operation, v sepay.Values) {
	v = op.Result.Filled(v)
	sig, err := s.sign(s.canonical(op.Result, v))
	if err != nil {
		fault(w, "soap:Server", "Server was unable to process request.")
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(op.MarshalResponse(v, sig))
}

// canonical is the string the simulator signs: the text it marshals, with
// a zero terminalport rendered "0" as written (or "" with
// ZeroPortSignedEmpty).
func (s *Sim) canonical(sc sepay.Schema, v sepay.Values) string {
	c := sepay.Values{}
	for k, x := range v {
		c[k] = x
	}
	for _, f := range sc.Fields {
		if f.Name == "terminalport" && (c[f.Name] == "" || c[f.Name] == "0") {
			c[f.Name] = "0"
			if s.opts.ZeroPortSignedEmpty {
				c[f.Name] = ""
			}
		}
	}
	return sc.Canonical(c)
}

func fault(w http.ResponseWriter, code, text string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(sepay.MarshalFault(code, text))
}
