package trustpayments_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// TestLostAttemptVoidedByFollowUp: the shopper's first attempt is approved
// at the gateway but its response JWT never reaches Tender (the browser's
// post is lost); back on the still-open checkout the shopper pays again,
// and that answer arrives and settles the payment, asking for a follow-up.
// The follow-up's Status, CheckoutFollowUp later, finds the first AUTH and
// voids it (cancelled while unsettled, refunded once settled) and, the
// checkout's JWT still usable, asks for one more follow-up once it is
// not, which voids an attempt made meanwhile: the shopper is charged
// once, and the payment stays captured with the AUTH whose answer settled
// it.
func TestLostAttemptVoidedByFollowUp(t *testing.T) {
	for _, settled := range []bool{false, true} {
		e := newEnv(t)
		p := e.start(3000, false)
		jwt := p.NextAction.Data["jwt"]
		if _, err := e.gateway(jwt, card("4111111111111111")); err != nil {
			t.Fatal(err)
		}
		raw, err := e.gateway(jwt, card("5200000000001005"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.ret(p, url.Values{"jwt": {raw}, "orderreference": {p.ID}})
		if err != nil {
			t.Fatal(err)
		}
		auths := e.sim.Approved(p.ID)
		if p.Status != tender.StatusCaptured || len(auths) != 2 || p.ProviderReference != auths[1].Reference {
			t.Fatalf("after the second attempt: %s reference %s, ledger %+v; want captured with the second AUTH", p.Status, p.ProviderReference, auths)
		}
		if res.Update == nil || res.Update.FollowUp != tp.CheckoutFollowUp {
			t.Fatalf("the answer that settles the checkout asks for no follow-up: %+v", res.Update)
		}
		first, second := auths[0].Reference, auths[1].Reference
		if settled {
			e.sim.Settle()
		}

		// The engine's follow-up: Status once more, its answer applied
		// (twice here: a second instance's, or a retry, changes nothing).
		// The checkout's JWT can still be used, so it asks for one more
		// once it cannot.
		e.clock.Add(res.Update.FollowUp)
		var last tender.Update
		for range 2 {
			u, err := e.conn.Status(context.Background(), e.op(p, 0))
			if err != nil {
				t.Fatal(err)
			}
			if u.Status != tender.StatusCaptured || u.ProviderReference != second || u.FollowUp < 45*time.Minute {
				t.Fatalf("settled=%v: follow-up answer %s %s (follow-up %v); want captured %s and one more follow-up at the checkout's end", settled, u.Status, u.ProviderReference, u.FollowUp, second)
			}
			e.apply(p, u)
			last = u
		}
		auths = e.sim.Approved(p.ID)
		if p.Status != tender.StatusCaptured || p.ProviderReference != second || len(auths) != 2 {
			t.Fatalf("settled=%v: after the follow-up %s %s, ledger %+v", settled, p.Status, p.ProviderReference, auths)
		}
		if settled {
			if e.sim.Refunded(first) != 3000 || e.sim.Refunded(second) != 0 {
				t.Fatalf("refunded %d of the first AUTH and %d of the second; want 3000 and 0", e.sim.Refunded(first), e.sim.Refunded(second))
			}
		} else if auths[0].SettleStatus != "3" || auths[1].SettleStatus != "0" {
			t.Fatalf("settlestatus %s (first) and %s (second); want 3 and 0", auths[0].SettleStatus, auths[1].SettleStatus)
		}

		// Later still, before the JWT runs out, the shopper's old tab pays
		// a third time, its answer lost too: the last follow-up voids it,
		// and asks nothing more.
		e.clock.Add(30 * time.Minute)
		if _, err := e.gateway(jwt, card("4111111111111111")); err != nil {
			t.Fatal(err)
		}
		if n := len(e.sim.Approved(p.ID)); n != 3 {
			t.Fatalf("settled=%v: the late attempt was not approved (%d AUTHs)", settled, n)
		}
		e.clock.Add(last.FollowUp - 30*time.Minute)
		u, err := e.conn.Status(context.Background(), e.op(p, 0))
		if err != nil || u.Status != tender.StatusCaptured || u.ProviderReference != second || u.FollowUp != 0 {
			t.Fatalf("settled=%v: last follow-up %s %s (follow-up %v), %v; want captured %s and no more", settled, u.Status, u.ProviderReference, u.FollowUp, err, second)
		}
		e.apply(p, u)
		charges := 0
		for _, a := range e.sim.Approved(p.ID) {
			if a.SettleStatus != "3" && e.sim.Refunded(a.Reference) < a.BaseAmount {
				charges++
			}
		}
		if charges != 1 {
			t.Fatalf("settled=%v: the shopper is charged %d times: ledger %+v", settled, charges, e.sim.Approved(p.ID))
		}
	}
}

// TestOnlyApprovalsAskForFollowUp: a declined attempt leaves the checkout
// open and asks nothing more; an off-session charge has no checkout, so
// nothing was paid on one that Tender did not hear of.
func TestOnlyApprovalsAskForFollowUp(t *testing.T) {
	e := newEnv(t)
	p := e.start(3100, false)
	raw, err := e.gateway(p.NextAction.Data["jwt"], card("4000000000000812"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.ret(p, url.Values{"jwt": {raw}})
	if err != nil || res.Update == nil || !res.Update.Retry || res.Update.FollowUp != 0 {
		t.Fatalf("decline: %v, %+v; want an attempt failed with no follow-up", err, res.Update)
	}
	method := e.saveCard()
	q := e.mit(1200, method)
	u, err := e.conn.Start(context.Background(), e.op(q, 0))
	if err != nil || u.Status != tender.StatusCaptured || u.FollowUp != 0 {
		t.Fatalf("off-session charge: %v, %s, follow-up %v; want captured with none", err, u.Status, u.FollowUp)
	}
}
