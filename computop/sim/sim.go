// Package sim simulates Computop Paygate for Wero as the notes describe it
// (../shared/protocols/computop-paygate.md §7): WERO.aspx with a shopper
// page, the encrypted notify and browser return, capture.aspx, reverse.aspx
// and inquire.aspx with ReqId de-duplication and the 10-day capture window,
// and a ledger of what Paygate believes happened.
package sim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
)

// MerchantConfig is one merchant Paygate knows.
type MerchantConfig struct {
	ID              string
	Algorithm       computop.Algorithm // blowfish (default) or aes
	EncryptionKey   []byte
	HMACKey         []byte
	PartialCaptures bool // "Multiple partial captures ... if activated in MAT"
}

// Options configure the simulator.
type Options struct {
	Clock      tender.Clock // capture window, ledger times; system clock if nil
	HTTPClient *http.Client // delivers notifies; a 10s-timeout client if nil
	Logger     *slog.Logger
	// AllowHTTP accepts http:// result URLs on any port (sandbox, tests);
	// Paygate itself requires https on port 443.
	AllowHTTP bool
	// Padding and LowerHex shape the simulator's own Data (notes §7.1).
	Padding  computop.Padding
	LowerHex bool
	// RetryUnit scales the notify retry schedule: attempts after 1, 8, 27,
	// 64, 125, 216, 343 and 512 units (notes §3.2). Default one minute.
	RetryUnit time.Duration
}

// Sim is the simulated Paygate; it is an http.Handler.
type Sim struct {
	opts      Options
	clock     tender.Clock
	log       *slog.Logger
	hc        *http.Client
	merchants map[string]*merchant

	mu       sync.Mutex
	payments map[string]*payment   // by PayID
	byTrans  map[string][]*payment // by MerchantID|TransID, oldest first
	reqIDs   map[string]string     // MerchantID|ReqId → stored S2S response, or "wero:"+PayID
	dropped  map[string]bool       // endpoint|MerchantID|TransID: rule 61 used
	order    []*payment

	done chan struct{}
	wg   sync.WaitGroup
}

type merchant struct {
	computop.Merchant
	partial bool
}

// New returns a simulator that knows the merchants.
func New(opts Options, merchants ...MerchantConfig) (*Sim, error) {
	s := &Sim{opts: opts, clock: opts.Clock, log: opts.Logger, hc: opts.HTTPClient,
		merchants: map[string]*merchant{}, payments: map[string]*payment{}, byTrans: map[string][]*payment{},
		reqIDs: map[string]string{}, dropped: map[string]bool{}, done: make(chan struct{})}
	if s.clock == nil {
		s.clock = tender.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.hc == nil {
		// Notifies of many payments go to one merchant host at once:
		// net/http's default of 2 idle connections per host made most of
		// them a new TCP connection, on both sides (tender serve runs the
		// simulator in its own process).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		s.hc = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if s.opts.RetryUnit <= 0 {
		s.opts.RetryUnit = time.Minute
	}
	for _, mc := range merchants {
		alg := mc.Algorithm
		if alg == "" {
			alg = computop.Blowfish
		}
		c, err := computop.NewCipher(alg, mc.EncryptionKey)
		if err != nil {
			return nil, err
		}
		c.LowerHex = opts.LowerHex
		if mc.ID == "" || len(mc.HMACKey) == 0 {
			return nil, errors.New("sim: a merchant needs an ID and an HMAC key")
		}
		s.merchants[mc.ID] = &merchant{Merchant: computop.Merchant{ID: mc.ID, Cipher: c, HMACKey: mc.HMACKey}, partial: mc.PartialCaptures}
	}
	return s, nil
}

// Close stops pending notify retries.
func (s *Sim) Close() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.wg.Wait()
}

// ServeHTTP routes Paygate's pages; paths are case-insensitive, as on IIS.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch strings.ToLower(strings.Trim(r.URL.Path, "/")) {
	case "wero.aspx":
		s.wero(w, r)
	case "capture.aspx":
		s.action(w, r, kindCapture)
	case "reverse.aspx":
		s.action(w, r, kindReverse)
	case "inquire.aspx":
		s.action(w, r, kindInquire)
	case "credit.aspx":
		s.action(w, r, kindCredit)
	case "":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Tender's Computop Paygate simulator: WERO.aspx, capture.aspx, reverse.aspx, credit.aspx, inquire.aspx")
	default:
		http.NotFound(w, r)
	}
}

// newID returns 32 lower-case hex characters, as real PayIDs look (notes §6).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// code builds an A4 code: kind digit, module, and the field's row in its
// table (+1) as 4 hex digits (notes §5.1; the parameter digits are ours).
func code(kind byte, module string, row int) string {
	return fmt.Sprintf("%c%s%04X", kind, module, row+1)
}

// fieldCode maps a validation fault to its A4 code.
func fieldCode(fe *computop.FieldError) string {
	kind, module := byte('2'), computop.ModuleFormat
	switch fe.Rule {
	case computop.RuleMissing:
		kind, module = '4', computop.ModuleMissing // "fatal error (e.g. mandatory parameter missing)"
	case computop.RuleEmpty:
		module = computop.ModuleEmpty
	case computop.RuleTooShort:
		module = computop.ModuleTooShort
	case computop.RuleTooLong:
		module = computop.ModuleTooLong
	case computop.RuleDuplicate:
		module = computop.ModuleDuplicate
	}
	return code(kind, module, fe.Index)
}

func rowOf(spec *computop.Spec, key string) int {
	for i, f := range spec.Fields {
		if strings.EqualFold(f.Key, key) {
			return i
		}
	}
	return -1
}

// fault is a refusal: code and Description.
type fault struct {
	code, desc string
}

func (f *fault) Error() string { return f.code + " " + f.desc }

// request is a decoded inbound request.
type request struct {
	m     *merchant
	outer string // MerchantID in clear
	ps    computop.Params
}

// decode reads MerchantID, Len and Data (query and form, keys in any case),
// decrypts, parses, checks the inner MerchantID and the table, and the MAC
// (notes §7.2 steps 1-7). A nil merchant in the fault's request means the
// merchant is unknown (answer in clear).
func (s *Sim) decode(r *http.Request, spec *computop.Spec, macFields func(computop.Params, string) []string) (*request, *fault) {
	if err := r.ParseForm(); err != nil {
		return nil, &fault{code('2', computop.ModuleFormat, -1), "REQUEST MALFORMED"}
	}
	mid, _ := computop.FormValue(r.Form, "MerchantID")
	req := &request{outer: mid}
	m := s.merchants[mid]
	if m == nil {
		return req, &fault{code('2', computop.ModuleUnknown, 0), "UNKNOWN MERCHANTID"}
	}
	req.m = m
	if _, ok := computop.FormValue(r.Form, "Data"); !ok {
		return req, &fault{code('4', computop.ModuleMissing, -1), "DATA MISSING"}
	}
	ps, err := m.Open(r.Form)
	if err != nil {
		return req, &fault{code('2', computop.ModuleCrypto, -1), "DECRYPTION FAILED"}
	}
	req.ps = ps
	if err := spec.Validate(ps, false); err != nil {
		var fe *computop.FieldError
		errors.As(err, &fe)
		return req, &fault{fieldCode(fe), "FORMAT ERROR " + strings.ToUpper(fe.Field)}
	}
	if ps.Get("MerchantID") != mid { // exact, case-sensitive (notes §2.2)
		return req, &fault{code('2', computop.ModuleInvalid, rowOf(spec, "MerchantID")), "MAC INVALID"}
	}
	if !computop.VerifyMAC(m.HMACKey, ps.Get("MAC"), macFields(ps, mid)...) {
		return req, &fault{code('2', computop.ModuleCrypto, rowOf(spec, "MAC")), "MAC INVALID"}
	}
	return req, nil
}

// drop implements sandbox rule 61: the first request of this kind for such
// a payment loses its connection before anything is done.
func (s *Sim) drop(w http.ResponseWriter, endpoint, mid, transID string, amount int64) bool {
	if amount%100 != 61 {
		return false
	}
	key := endpoint + "|" + mid + "|" + transID
	s.mu.Lock()
	first := !s.dropped[key]
	s.dropped[key] = true
	s.mu.Unlock()
	if !first {
		return false
	}
	s.log.Info("sim computop: rule 61, dropping the connection", "endpoint", endpoint, "trans_id", transID)
	s.hangUp(w)
	return true
}

// hangUp closes the connection without an answer.
func (s *Sim) hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
