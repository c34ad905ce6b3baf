package engine

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/tenderpay/tender"
)

// EvDiscrepancyResolved records that a person looked at a payment's
// discrepancy and cleared it, with what they wrote.
const EvDiscrepancyResolved = "payment.discrepancy_resolved"

// maxResolveNote bounds the note of a resolution (it is stored in the
// payment's event log and sent in webhooks).
const maxResolveNote = 500

// ResolveDiscrepancy clears the discrepancy of payment id once a person
// has looked at it, recording their note and the discrepancy it cleared
// in a payment.discrepancy_resolved event (and webhook).
//
// For a settled payment nothing about the money changes: it keeps the
// status and amounts the provider reported, and status must be "". A
// payment still pending, processing or unknown keeps its discrepancy
// until it settles (the discrepancy is what frees its terminal and tells a
// person it is stuck), unless the person settles it: status is what they
// found at the provider (its back office, the terminal's own journal),
// failed (no money taken) or captured (the whole amount taken). That is
// the way out for a payment the provider can neither tell about nor
// cancel. It goes through the state machine with a status event of source
// "person" (and its webhook), in the same transaction. Tender cannot check
// the person's word; if the provider later reports otherwise, a new
// discrepancy is raised. A cancel still in doubt is ended, not confirmed.
// If the provider settles the payment first, the person's status is
// refused.
func (e *Engine) ResolveDiscrepancy(ctx context.Context, id, note string, status tender.Status) (*tender.Payment, error) {
	// Another merchant's payment is not found, whatever the note.
	if _, err := e.ownPayment(ctx, id); err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	switch {
	case note == "":
		return nil, tender.Invalid("note", "note is required: say what was found and done")
	case !utf8.ValidString(note):
		return nil, tender.Invalid("note", "note must be UTF-8 text")
	case utf8.RuneCountInString(note) > maxResolveNote:
		return nil, tender.Invalid("note", "note must be at most %d characters", maxResolveNote)
	case status != "" && !statusIn(status, settableByHand):
		return nil, tender.Invalid("status", "status must be failed or captured: what the provider shows happened to a payment in doubt")
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	return e.mutate(ctx, id, func(p *tender.Payment, past []tender.Event) ([]tender.Event, bool, error) {
		if p.Discrepancy == "" {
			return nil, false, tender.Errorf(tender.EConflict, "payment %s has no discrepancy to resolve", p.ID)
		}
		open := statusIn(p.Status, []tender.Status{tender.StatusPending, tender.StatusProcessing, tender.StatusUnknown})
		switch {
		case open && status == "":
			return nil, false, tender.Errorf(tender.EConflict, "payment %s is still %s: its discrepancy stays until the payment settles, "+
				"or give the status the provider shows (failed or captured)", p.ID, p.Status)
		case !open && status != "":
			return nil, false, tender.Errorf(tender.EConflict, "payment %s is %s: only a payment in doubt (pending, processing or unknown) "+
				"is settled by hand", p.ID, p.Status)
		}
		was, from := p.Discrepancy, p.Status
		var events []tender.Event
		if status != "" {
			u := tender.Update{Status: status, Note: "set by a person: " + note}
			if status == tender.StatusFailed {
				u.Failure = &tender.Failure{Code: tender.FailProvider, Message: "a person found that the provider did not carry out the payment"}
			}
			ev, _, err := e.applyUpdate(p, u, sourcePerson)
			if err != nil {
				return nil, false, err
			}
			events = ev
			// The cancel Tender sent of itself (or a person's) is moot
			// now: what the person found decides, and it is not asked about
			// again.
			for _, o := range readOps(past).open {
				events = append(events, e.endOp(p, past, o.kind, o.id, false, "the payment was settled by a person as "+string(status))...)
			}
		}
		p.Discrepancy = ""
		e.log.Info("payment discrepancy resolved", "payment", p.ID, "connector", p.Connector, "status", p.Status, "previous_status", from)
		data := map[string]any{"status": p.Status, "discrepancy": was, "note": note}
		if status != "" {
			data["previous_status"] = from
		}
		return append(events, e.newEvent(EvDiscrepancyResolved, data)), true, nil
	})
}

// settableByHand are the statuses a person may give a payment in doubt:
// what a provider's back office shows of a sale, none or all of it.
// (Authorized is left out: capturing or cancelling it later would need the
// provider's reference, which a payment in doubt may not have.)
var settableByHand = []tender.Status{tender.StatusFailed, tender.StatusCaptured}

// sourcePerson is the source of a status a person set.
const sourcePerson = "person"
