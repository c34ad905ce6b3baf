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
// in a payment.discrepancy_resolved event (and webhook). Nothing about the
// money changes: the payment keeps the status and amounts the provider
// reported. A payment still pending, processing or unknown is refused:
// its discrepancy is what frees its terminal and what tells a person it
// is stuck, so it stays until the payment settles. If the provider later
// contradicts the record again, a new discrepancy is raised.
func (e *Engine) ResolveDiscrepancy(ctx context.Context, id, note string) (*tender.Payment, error) {
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
	}
	unlock := e.locks.Lock("payment:" + id)
	defer unlock()
	return e.mutate(ctx, id, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
		if p.Discrepancy == "" {
			return nil, false, tender.Errorf(tender.EConflict, "payment %s has no discrepancy to resolve", p.ID)
		}
		if statusIn(p.Status, []tender.Status{tender.StatusPending, tender.StatusProcessing, tender.StatusUnknown}) {
			return nil, false, tender.Errorf(tender.EConflict, "payment %s is still %s: its discrepancy stays until the payment settles", p.ID, p.Status)
		}
		was := p.Discrepancy
		p.Discrepancy = ""
		e.log.Info("payment discrepancy resolved", "payment", p.ID, "connector", p.Connector, "status", p.Status)
		return []tender.Event{e.newEvent(EvDiscrepancyResolved, map[string]any{"status": p.Status, "discrepancy": was, "note": note})}, true, nil
	})
}
