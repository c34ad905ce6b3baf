package computop_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
)

// TestInquiryUnansweredInDoubtOnlyWhileOpen: when Paygate's status inquiry
// does not answer after the notify grace, a payment still undecided
// (pending, processing, requires_action) is in doubt; one already decided
// keeps its status.
func TestInquiryUnansweredInDoubtOnlyWhileOpen(t *testing.T) {
	for _, tc := range []struct {
		status tender.Status
		want   tender.Status
	}{
		{tender.StatusRequiresAction, tender.StatusUnknown},
		{tender.StatusPending, tender.StatusUnknown},
		{tender.StatusProcessing, tender.StatusUnknown},
		{tender.StatusAuthorized, ""},
		{tender.StatusCaptured, ""},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
			p := h.start(1400, tender.CaptureManual)
			h.mu.Lock()
			h.payments[p.ID].Status = tc.status
			h.mu.Unlock()
			h.clock.Add(computop.NotifyGrace)
			h.acct.Settings["base_url"] = "http://127.0.0.1:1" // Paygate unreachable
			u, err := h.conn.Status(context.Background(), h.op(h.get(p.ID), "", 0))
			if err != nil || u.Status != tc.want {
				t.Fatalf("unanswered inquiry for a %s payment: %+v, %v; want status %q", tc.status, u, err, tc.want)
			}
		})
	}
}

// TestAbandonedAtTheDeadline: a payment Paygate never saw is canceled as
// expired once AbandonAfter has passed since its start, to the instant.
func TestAbandonedAtTheDeadline(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.start(1300, tender.CaptureAutomatic)
	h.clock.Add(computop.AbandonAfter - time.Nanosecond)
	u, err := h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status == tender.StatusCanceled {
		t.Fatalf("just before the deadline: %+v %v; want still open", u, err)
	}
	h.clock.Add(time.Nanosecond)
	u, err = h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status != tender.StatusCanceled || u.Failure == nil || u.Failure.Code != tender.FailExpired {
		t.Fatalf("at the deadline: %+v %v; want canceled, expired", u, err)
	}
}
