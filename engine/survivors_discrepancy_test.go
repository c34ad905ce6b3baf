package engine

// The note of a resolution at its bound (see ENGINE_SURVIVORS2.md).

import (
	"context"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

// TestResolveNoteUpToTheLimit: a note of exactly maxResolveNote characters
// (counted as characters, not bytes) resolves the discrepancy; one more is
// refused and leaves it.
func TestResolveNoteUpToTheLimit(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusCaptured, Captured: 1150}, nil // a tip nobody asked for
	})
	p, err := e.CreatePayment(ctx, terminalPayment, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	if w.get(p.ID).Discrepancy == "" {
		t.Fatal("setup: a tip nobody asked for raised no discrepancy")
	}
	if _, err := e.ResolveDiscrepancy(ctx, p.ID, strings.Repeat("é", maxResolveNote+1), ""); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("a note of %d characters: %v, want invalid", maxResolveNote+1, err)
	}
	if got := w.get(p.ID); got.Discrepancy == "" {
		t.Fatal("a refused note cleared the discrepancy")
	}
	got, err := e.ResolveDiscrepancy(ctx, p.ID, strings.Repeat("é", maxResolveNote), "")
	if err != nil {
		t.Fatalf("a note of %d characters (%d bytes): %v", maxResolveNote, 2*maxResolveNote, err)
	}
	if got.Discrepancy != "" || w.get(p.ID).Discrepancy != "" {
		t.Fatalf("the note at the limit left the discrepancy %q", got.Discrepancy)
	}
}
