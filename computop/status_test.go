package computop_test

import (
	"context"
	"encoding/json"
	"net/http"
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

// TestInquiryReadsTheAmounts: the status inquiry's amounts decide the
// status: nothing authorized yet is still open (and the PayID Paygate
// gave is kept for the next question); an authorization of a manual
// capture payment with nothing captured is authorized, not captured or
// partially captured.
func TestInquiryReadsTheAmounts(t *testing.T) {
	h := newHarness(t, sim.Options{}, computop.Blowfish, testBF)
	ctx := context.Background()
	p := h.start(1055, tender.CaptureManual) // x55: Paygate never sends the notify
	resp, err := http.Get(p.NextAction.URL)  // the shopper opens the page, and leaves it open
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, err := h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status != "" || u.ProviderReference == "" || u.State == nil {
		t.Fatalf("inquiry of a payment open at Paygate: %+v %v; want no status, its PayID kept in the state", u, err)
	}
	if err := h.apply(p.ID, u); err != nil {
		t.Fatal(err)
	}
	h.shopper(h.get(p.ID), "approve")
	h.clock.Add(computop.NotifyGrace + time.Minute)
	u, err = h.conn.Status(ctx, h.op(h.get(p.ID), "", 0))
	if err != nil || u.Status != tender.StatusAuthorized {
		t.Fatalf("inquiry of an authorization, nothing captured: %+v %v; want authorized", u, err)
	}
	// The result is accepted as if notified: a later notify must agree
	// with it, and the 10-day capture window starts now.
	var st struct {
		Outcome      string    `json:"outcome"`
		AuthorizedAt time.Time `json:"authorized_at"`
	}
	if err := json.Unmarshal(u.State, &st); err != nil || st.Outcome != "ok" || !st.AuthorizedAt.Equal(h.clock.Now()) {
		t.Fatalf("state after the inquiry found the authorization: %s (%v); want outcome ok, authorized now", u.State, err)
	}
}
