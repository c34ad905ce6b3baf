package sim

import (
	"errors"
	"time"

	"github.com/tenderpay/tender/epay"
)

// Faults a real terminal or backend may show that the sandbox rules do not
// produce: a terminal that takes another amount or adds a tip (notes §5.5:
// WebECR has a separate TipAmount), and intents that complete with no
// result, an unlisted one, or a result the host record contradicts.

// Record says which host transaction record Complete writes.
type Record int

// Host records for Complete.
const (
	NoRecord       Record = iota // the host has no record of the sale
	ApprovedRecord               // the host approved the sale (money moved)
	DeclinedRecord               // the host declined it
	// Two host records under the payment's reference, one declined and
	// one approved, in either order: the terminal tried the card again
	// after a lost answer (money moved once).
	DeclinedThenApprovedRecord
	ApprovedThenDeclinedRecord
)

// TakeAmount makes the terminal take amount (0: the intent's own) plus tip
// for the intent with CustomerReference ref, when it completes it.
func (s *Sim) TakeAmount(ref string, amount, tip int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intentByRef(ref)
	if in == nil || in.Status == epay.StatusCompleted {
		return errors.New("epay sim: no open intent " + ref)
	}
	if amount > 0 {
		in.Amount = amount
	}
	in.TipAmount = tip
	return nil
}

// HostAmount makes the host record of the open intent with
// CustomerReference ref show amount when the intent completes, while the
// intent keeps reporting the amount it was sent with: the record is what
// the acquirer settles. 0 is a record that does not give its amount.
func (s *Sim) HostAmount(ref string, amount int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intentByRef(ref)
	if in == nil || in.Status == epay.StatusCompleted {
		return errors.New("epay sim: no open intent " + ref)
	}
	in.hostAmount = &amount
	return nil
}

// Complete ends the open intent with CustomerReference ref now: with
// Result result (nil: COMPLETED with no result) and the host record rec.
func (s *Sim) Complete(ref string, result *int, rec Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	in := s.intentByRef(ref)
	if in == nil || in.Status == epay.StatusCompleted {
		return errors.New("epay sim: no open intent " + ref)
	}
	s.completeWith(in, result, rec, true)
	return nil
}

// CompleteFollowUp ends the newest open follow-up intent (a refund or a
// pre-authorization completion) of the sale with CustomerReference ref, as
// Complete does. An intent that ends UNKNOWN or with no result carries
// neither the host record's link nor its AADE transaction id (the terminal
// lost track of it): only the host record, found by its CustomerReference
// and type, tells what happened.
func (s *Sim) CompleteFollowUp(ref string, result *int, rec Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	in := s.followUpOf(ref)
	if in == nil {
		return errors.New("epay sim: no open follow-up of " + ref)
	}
	s.completeWith(in, result, rec, result != nil && *result != epay.ResultUnknown)
	return nil
}

// FollowUpHostAmount is HostAmount for the newest open follow-up of the
// sale or pre-authorization with CustomerReference ref.
func (s *Sim) FollowUpHostAmount(ref string, amount int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.followUpOf(ref)
	if in == nil {
		return errors.New("epay sim: no open follow-up of " + ref)
	}
	in.hostAmount = &amount
	return nil
}

// followUpOf returns the newest follow-up intent of the sale or
// pre-authorization with CustomerReference ref if it is open; s.mu is
// held.
func (s *Sim) followUpOf(ref string) *intent {
	sale := s.intentByRef(ref)
	var in *intent
	for _, x := range s.intents {
		if sale != nil && x.TxnType != epay.TxnSale && x.InitialTransaction != nil && *x.InitialTransaction == sale.ID {
			in = x
		}
	}
	if in == nil || in.Status == epay.StatusCompleted {
		return nil
	}
	return in
}

// completeWith ends in with result and the host record rec; tell says whether
// the intent carries the record's AADE transaction id. s.mu is held.
func (s *Sim) completeWith(in *intent, result *int, rec Record, tell bool) {
	now := s.clock.Now()
	switch rec {
	case ApprovedRecord:
		r := s.record(in, now, true, "000")
		if tell {
			in.TransactionId = r.transactionID
		}
	case DeclinedRecord:
		s.record(in, now, false, "051")
	case DeclinedThenApprovedRecord:
		s.record(in, now, false, "051")
		if r := s.record(in, now.Add(time.Second), true, "000"); tell {
			in.TransactionId = r.transactionID
		}
	case ApprovedThenDeclinedRecord:
		r := s.record(in, now, true, "000")
		s.record(in, now.Add(time.Second), false, "051")
		if tell {
			in.TransactionId = r.transactionID
		}
	}
	in.Status, in.Result = epay.StatusCompleted, result
	if in.sent.IsZero() {
		in.sent = now.Add(-time.Second)
	}
}

// intentByRef returns the newest sale or pre-authorization with
// CustomerReference ref; s.mu must be held.
func (s *Sim) intentByRef(ref string) *intent {
	var found *intent
	for _, in := range s.intents {
		if in.CustomerReference == ref && (in.TxnType == epay.TxnSale || in.TxnType == epay.TxnPreAuth) {
			found = in
		}
	}
	return found
}
