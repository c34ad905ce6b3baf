package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tenderpay/tender/sepay"
)

// State is where a simulated transaction is (notes §5.2).
type State string

// Transaction states.
const (
	Queued     State = "queued"      // status 15
	InProgress State = "in_progress" // status 17
	Succeeded  State = "succeeded"   // status 00
	Failed     State = "failed"      // status 13
	Canceled   State = "canceled"    // status 14
)

func (s State) final() bool { return s == Succeeded || s == Failed || s == Canceled }

type outcome int

const (
	outcomeApprove   outcome = iota
	outcomeDecline           // 51
	outcomeCardholer         // 54: canceled at the terminal
	outcomeNoAnswer          // 55: approved, but Start is never answered and no callback sent
)

// outcomeFor applies the sandbox rules of DESIGN.md to cents modulo 100
// (61 is handled where the request arrives).
func outcomeFor(cents int64) outcome {
	switch cents % 100 {
	case 51:
		return outcomeDecline
	case 54:
		return outcomeCardholer
	case 55:
		return outcomeNoAnswer
	}
	return outcomeApprove
}

type txn struct {
	key, login, sid, ref, keyIndex string
	merchantRef, callbackURL       string
	cents                          int64
	outcome                        outcome
	state                          State
	created, pickedUp, finished    time.Time
	brand, ticket, message         string
	transactionError, termResult   string
}

// result builds the GetTransactionStatusResult for the transaction.
func (tx *txn) result(v sepay.Values) sepay.Values {
	v["key_index"] = tx.keyIndex
	if tx.merchantRef != "" {
		v["merchantref"] = tx.merchantRef
	}
	v["amount"] = sepay.FormatAmount(tx.cents)
	if !tx.pickedUp.IsZero() {
		v["transactiontime"] = amsterdam(tx.pickedUp)
		v["brand"] = tx.brand
	}
	switch tx.state {
	case Queued:
		v["status"] = sepay.StatusQueued
	case InProgress:
		v["status"] = sepay.StatusInProgress
	case Succeeded:
		v["status"] = sepay.StatusOK
		v["ticket"] = tx.ticket
	case Failed:
		v["status"] = sepay.StatusFailed
		v["transactionerror"] = tx.transactionError
		v["transactionresult"] = tx.termResult
		v["ticket"] = tx.ticket
	case Canceled:
		v["status"] = sepay.StatusCanceled
		v["message"] = tx.message
		v["ticket"] = tx.ticket // only when the card was presented
	}
	for k, x := range v {
		if x == "" {
			delete(v, k)
		}
	}
	return v
}

var amsterdamZone = func() *time.Location {
	l, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return l
}()

// amsterdam formats a time as the simulator's transactiontime (§9.4 [PROP]).
func amsterdam(t time.Time) string { return t.In(amsterdamZone).Format("2006-01-02T15:04:05") }

// notify wakes long-polls; s.mu must be held.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Advance moves every transaction on by the clock: automatic pick-up,
// outcome, queue expiry. Requests do this too; Run does it periodically.
func (s *Sim) Advance() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
}

func (s *Sim) advance() {
	now := s.clock.Now()
	for _, t := range s.terminals {
		tx := t.open
		if tx == nil {
			continue
		}
		if tx.state == Queued {
			if s.opts.PickupAfter > 0 && !now.Before(tx.created.Add(s.opts.PickupAfter)) {
				s.pickup(tx, tx.created.Add(s.opts.PickupAfter))
			} else if s.opts.QueueExpiry > 0 && !now.Before(tx.created.Add(s.opts.QueueExpiry)) {
				s.finish(tx, Canceled, tx.created.Add(s.opts.QueueExpiry), "Not picked up by the terminal in time")
				continue
			}
		}
		if tx.state == InProgress && !now.Before(tx.pickedUp.Add(s.opts.ProcessFor)) {
			s.complete(tx, tx.pickedUp.Add(s.opts.ProcessFor))
		}
	}
}

func (s *Sim) pickup(tx *txn, at time.Time) {
	tx.state, tx.pickedUp = InProgress, at
	tx.brand = brands[int(tx.cents/100)%len(brands)]
	s.notify()
	s.log.Info("terminal picked up", "sid", tx.sid, "ref", tx.ref)
}

var brands = []string{"Maestro", "V PAY", "Visa", "Mastercard"}

// complete ends a transaction the terminal worked on, per its outcome.
func (s *Sim) complete(tx *txn, at time.Time) {
	switch tx.outcome {
	case outcomeDecline:
		tx.transactionError, tx.termResult = "116", "2627"
		tx.ticket = s.ticket(tx, at, "GEWEIGERD")
		s.finish(tx, Failed, at, "")
	case outcomeCardholer:
		// The card was presented, so the terminal prints its ticket; a
		// transaction canceled while queued never reached it and has none.
		tx.ticket = s.ticket(tx, at, "GEANNULEERD")
		s.finish(tx, Canceled, at, "Canceled by the cardholder")
	default:
		tx.ticket = s.ticket(tx, at, "AKKOORD")
		s.finish(tx, Succeeded, at, "")
	}
}

func (s *Sim) ticket(tx *txn, at time.Time, verdict string) string {
	amount := strings.Replace(sepay.FormatAmount(tx.cents), ".", ",", 1)
	return "@RS@AM@SLSEPAY SIMULATOR@LF@RS@SSTerminal " + tx.sid + "@LF" +
		"@RS" + at.In(amsterdamZone).Format("02-01-2006 15:04") + "@LF" +
		"@RS" + tx.brand + "@LF@RSRef " + tx.ref + "@LF" +
		"@RSBetaling@AREUR " + amount + "@LF@RS@AM@SL" + verdict + "@LF"
}

// finish moves a transaction to a final state, frees its terminal and sends
// its callback; s.mu must be held.
func (s *Sim) finish(tx *txn, st State, at time.Time, message string) {
	tx.state, tx.finished, tx.message = st, at, message
	if t := s.terminals[tx.sid]; t != nil && t.open == tx {
		t.open = nil
	}
	s.notify()
	s.log.Info("transaction finished", "sid", tx.sid, "ref", tx.ref, "state", st)
	if tx.callbackURL != "" && tx.outcome != outcomeNoAnswer {
		v := sepay.GetTransactionStatus.Result.Filled(tx.result(sepay.Values{"version": sepay.ProtocolVersion, "login": tx.login, "sid": tx.sid, "transactionref": tx.ref}))
		s.sendCallback(tx.callbackURL, v)
	}
}

// sendCallback signs v and posts it to url, off the simulator's lock: an
// RSA signature takes a millisecond or two, and under the lock it would
// hold up every other terminal's requests.
func (s *Sim) sendCallback(url string, v sepay.Values) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sig, err := s.sign(s.canonical(sepay.GetTransactionStatus.Result, v))
		if err != nil {
			s.log.Error("sign callback", "err", err)
			return
		}
		s.stats.callbacks.Add(1)
		body := sepay.GetTransactionStatus.MarshalResult(v, sig)
		for i := 0; i < s.opts.CallbackRetries; i++ {
			if i > 0 {
				select {
				case <-s.closed:
					return
				case <-time.After(s.opts.CallbackBackoff << (i - 1)):
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				cancel()
				return
			}
			req.Header.Set("Content-Type", sepay.CallbackContentType)
			resp, err := s.opts.HTTPClient.Do(req)
			cancel()
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					return
				}
			}
			s.log.Warn("callback failed", "url", url, "attempt", i+1, "err", err)
		}
	}()
}

// Pickup makes terminal sid pick up its queued transaction now, as a
// cashier pressing a key would.
func (s *Sim) Pickup(sid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	t := s.terminals[sid]
	if t == nil || t.open == nil || t.open.state != Queued {
		return errors.New("sepay sim: no queued transaction on terminal " + sid)
	}
	s.pickup(t.open, s.clock.Now())
	s.advance()
	return nil
}

// Entry is one transaction as the simulated Sepay sees it.
type Entry struct {
	Login          string    `json:"login"`
	SID            string    `json:"sid"`
	TransactionRef string    `json:"transactionref"`
	MerchantRef    string    `json:"merchantref,omitempty"`
	Amount         int64     `json:"amount"` // cents
	State          State     `json:"state"`
	Charged        bool      `json:"charged"` // money moved (approved)
	Created        time.Time `json:"created"`
	Finished       time.Time `json:"finished,omitzero"`
}

// Ledger returns every transaction in the order they were started.
func (s *Sim) Ledger() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	out := make([]Entry, len(s.order))
	for i, tx := range s.order {
		out[i] = Entry{Login: tx.login, SID: tx.sid, TransactionRef: tx.ref, MerchantRef: tx.merchantRef,
			Amount: tx.cents, State: tx.state, Charged: tx.state == Succeeded,
			Created: tx.created, Finished: tx.finished}
	}
	return out
}

// serveControl is the simulator's own test API (never Sepay's):
// POST /_sim/terminals/{sid}/pickup, POST /_sim/terminals (bulk
// registration, fleet.go), GET /_sim/ledger and GET /_sim/stats.
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_sim/")
	switch {
	case r.Method == http.MethodGet && path == "ledger":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Ledger())
	case r.Method == http.MethodGet && path == "stats":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Stats())
	case r.Method == http.MethodPost && path == "terminals":
		s.serveAddTerminals(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "terminals/") && strings.HasSuffix(path, "/pickup"):
		sid := strings.TrimSuffix(strings.TrimPrefix(path, "terminals/"), "/pickup")
		if err := s.Pickup(sid); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}
