package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCheck checks that each figure counts a real discrepancy, and only
// that: a world where Tender, the providers, the clients and the webhooks
// agree gives zeros; each broken payment raises exactly its figure.
func TestCheck(t *testing.T) {
	// Tender's API for the clients' ids not in the list: unknown.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"code":"not_found"}}`, http.StatusNotFound)
	}))
	defer api.Close()
	c := &client{http: api.Client(), instances: []*Instance{{Addr: api.Listener.Addr().String()}}, patience: time.Second, rnd: rand.New(rand.NewPCG(1, 2))}

	good := func() ([]*apiPayment, map[string]map[string]Ledger, map[string]*record, *hooks) {
		ps := []*apiPayment{
			{ID: "p1", Connector: "sepay", Status: "captured", Amount: 1000, CapturedAmount: 1000},
			{ID: "p2", Connector: "trustpayments", Status: "partially_refunded", Amount: 1000, CapturedAmount: 1000, RefundedAmount: 300},
			{ID: "p3", Connector: "computop", Status: "authorized", Amount: 1000},
			{ID: "p4", Connector: "epay", Status: "failed", Amount: 1051},
			{ID: "p5", Connector: "computop", Status: "canceled", Amount: 1000},
		}
		ledgers := map[string]map[string]Ledger{
			"sepay":         {"p1": {Authorized: 1, Captured: 1000}},
			"trustpayments": {"p2": {Authorized: 1, Captured: 1000, Refunded: 300}},
			"computop":      {"p3": {Authorized: 1}, "p5": {Authorized: 1}},
			"epay":          {"p4": {}},
		}
		records := map[string]*record{
			"p1": {ID: "p1", Provider: "sepay"},
			"p2": {ID: "p2", Provider: "trustpayments", CapturedAcked: 1000, RefundedAcked: 300},
			"p5": {ID: "p5", Provider: "computop", CanceledAcked: true},
		}
		h := &hooks{types: map[string]map[string]bool{}}
		for _, p := range ps {
			h.types[p.ID] = map[string]bool{"payment." + p.Status: true}
		}
		return ps, ledgers, records, h
	}
	for _, tc := range []struct {
		name    string
		breakIt func(ps []*apiPayment, l map[string]map[string]Ledger, r map[string]*record, h *hooks) []*apiPayment
		want    Figures
	}{
		{"agree", nil, Figures{}},
		{"2xx id unknown to Tender", func(ps []*apiPayment, _ map[string]map[string]Ledger, r map[string]*record, _ *hooks) []*apiPayment {
			r["p9"] = &record{ID: "p9", Provider: "sepay"}
			return ps
		}, Figures{Lost: 1}},
		{"provider money for an unknown payment", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			l["epay"]["p8"] = Ledger{Authorized: 1, Captured: 500}
			return ps
		}, Figures{Lost: 1}},
		{"provider record without money for an unknown payment", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			l["epay"]["p8"] = Ledger{}
			return ps
		}, Figures{}},
		{"two authorizations", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			l["sepay"]["p1"] = Ledger{Authorized: 2, Captured: 1000}
			return ps
		}, Figures{ChargedTwice: 1}},
		{"captured at the provider, authorized at Tender", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			l["computop"]["p3"] = Ledger{Authorized: 1, Captured: 400}
			return ps
		}, Figures{ChargedTwice: 1}},
		{"refunded twice at the provider", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			l["trustpayments"]["p2"] = Ledger{Authorized: 1, Captured: 1000, Refunded: 600}
			return ps
		}, Figures{ChargedTwice: 1}},
		{"captured at Tender, nothing at the provider", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			l["sepay"]["p1"] = Ledger{}
			return ps
		}, Figures{WrongState: 1}},
		{"failed at Tender, authorized at the provider", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			l["epay"]["p4"] = Ledger{Authorized: 1}
			return ps
		}, Figures{WrongState: 1}},
		{"a 2xx cancel, captured in the end", func(ps []*apiPayment, l map[string]map[string]Ledger, _ map[string]*record, h *hooks) []*apiPayment {
			ps[4].Status, ps[4].CapturedAmount = "captured", 1000
			l["computop"]["p5"] = Ledger{Authorized: 1, Captured: 1000}
			h.types["p5"]["payment.captured"] = true
			return ps
		}, Figures{WrongState: 1}},
		{"a 2xx refund Tender forgot", func(ps []*apiPayment, _ map[string]map[string]Ledger, r map[string]*record, _ *hooks) []*apiPayment {
			r["p2"].RefundedAcked = 500
			return ps
		}, Figures{WrongState: 1}},
		{"unknown", func(ps []*apiPayment, _ map[string]map[string]Ledger, _ map[string]*record, _ *hooks) []*apiPayment {
			ps[0].Status = "unknown"
			return ps
		}, Figures{Unresolved: 1}},
		{"an open checkout after a failed attempt", func(ps []*apiPayment, _ map[string]map[string]Ledger, r map[string]*record, h *hooks) []*apiPayment {
			ps = append(ps, &apiPayment{ID: "p7", Connector: "trustpayments", Status: "requires_action", Amount: 1051})
			r["p7"] = &record{ID: "p7", Provider: "trustpayments"}
			h.types["p7"] = map[string]bool{}
			return ps
		}, Figures{Unresolved: 1}},
		{"an open checkout whose shopper gave up", func(ps []*apiPayment, _ map[string]map[string]Ledger, r map[string]*record, h *hooks) []*apiPayment {
			ps = append(ps, &apiPayment{ID: "p7", Connector: "trustpayments", Status: "requires_action", Amount: 1051})
			r["p7"] = &record{ID: "p7", Provider: "trustpayments", GaveUp: true}
			h.types["p7"] = map[string]bool{}
			return ps
		}, Figures{}},
		{"final webhook missing", func(ps []*apiPayment, _ map[string]map[string]Ledger, _ map[string]*record, h *hooks) []*apiPayment {
			h.types["p2"] = map[string]bool{"payment.captured": true}
			return ps
		}, Figures{WebhooksMissing: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, l, r, h := good()
			if tc.breakIt != nil {
				ps = tc.breakIt(ps, l, r, h)
			}
			var f Figures
			check(context.Background(), c, &f, ps, l, r, h)
			got := fmt.Sprintf("lost %d, charged twice %d, wrong state %d, unresolved %d, webhooks missing %d",
				f.Lost, f.ChargedTwice, f.WrongState, f.Unresolved, f.WebhooksMissing)
			want := fmt.Sprintf("lost %d, charged twice %d, wrong state %d, unresolved %d, webhooks missing %d",
				tc.want.Lost, tc.want.ChargedTwice, tc.want.WrongState, tc.want.Unresolved, tc.want.WebhooksMissing)
			if got != want {
				t.Errorf("%s, want %s; examples %v", got, want, f.Examples)
			}
		})
	}
}
