package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender/webhook"
)

// Figures is the result of one run against one database. Every figure but
// Payments, Kills and Concurrency must be 0; Concurrency must be 1.
type Figures struct {
	Database string
	Payments int // payments Tender has
	Kills    int // SIGKILLs of an instance
	// Lost: a payment id a client got a 2xx for that Tender has no
	// record of, or money at a provider for a payment Tender does not know.
	Lost int
	// ChargedTwice: more provider money movements than Tender recorded
	// (two authorizations, more captured or refunded at the provider).
	ChargedTwice int
	// WrongState: a settled payment whose status or amounts the provider's
	// ledger (or a 2xx the client got) contradicts, not counted above.
	WrongState int
	// Unresolved: still pending, processing, requires_action or unknown
	// after the bounded wait for reconciliation.
	Unresolved int
	// WebhooksMissing: a settled payment whose final status never came as
	// a signed webhook (payment.<status>).
	WebhooksMissing int
	// Concurrency: provider calls made for 50 concurrent identical
	// requests with one Idempotency-Key.
	Concurrency int
	// Examples holds a few payments per non-zero figure, with why.
	Examples map[string][]string
	// Notes are facts about the run worth reading (faults done, odd answers).
	Notes []string
}

// OK says whether every figure is as it must be.
func (f *Figures) OK() bool {
	return f.Lost == 0 && f.ChargedTwice == 0 && f.WrongState == 0 && f.Unresolved == 0 && f.WebhooksMissing == 0 && f.Concurrency == 1
}

func (f *Figures) example(figure, format string, args ...any) {
	if f.Examples == nil {
		f.Examples = map[string][]string{}
	}
	if len(f.Examples[figure]) < 5 {
		f.Examples[figure] = append(f.Examples[figure], fmt.Sprintf(format, args...))
	}
}

// PrintTable writes the figures of every database as a table.
func PrintTable(w io.Writer, figs []*Figures) {
	fmt.Fprintf(w, "%-22s %9s %6s %5s %14s %12s %11s %17s %12s  %s\n",
		"database", "payments", "kills", "lost", "charged twice", "wrong state", "unresolved", "webhooks missing", "concurrency", "result")
	for _, f := range figs {
		res := "OK"
		if !f.OK() {
			res = "FAIL"
		}
		fmt.Fprintf(w, "%-22s %9d %6d %5d %14d %12d %11d %17d %12d  %s\n", f.Database, f.Payments, f.Kills, f.Lost,
			f.ChargedTwice, f.WrongState, f.Unresolved, f.WebhooksMissing, f.Concurrency, res)
	}
	for _, f := range figs {
		names := make([]string, 0, len(f.Examples))
		for k := range f.Examples {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			for _, e := range f.Examples[k] {
				fmt.Fprintf(w, "  %s %s: %s\n", f.Database, k, e)
			}
		}
	}
}

// hooks receives Tender's webhooks and keeps the verified ones.
type hooks struct {
	mu     sync.Mutex
	secret string
	types  map[string]map[string]bool // payment id → event types
	bad    int
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	h.mu.Lock()
	secret := h.secret
	h.mu.Unlock()
	ev, err := webhook.ParseStandard(secret, r.Header, body, webhook.DefaultTolerance, time.Now())
	if err != nil {
		h.mu.Lock()
		h.bad++
		h.mu.Unlock()
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var obj struct {
		ID string `json:"id"`
	}
	json.Unmarshal(ev.Data.Object, &obj)
	h.mu.Lock()
	if h.types[obj.ID] == nil {
		h.types[obj.ID] = map[string]bool{}
	}
	h.types[obj.ID][ev.Type] = true
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hooks) got(id, typ string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.types[id][typ]
}

// listPayments reads every payment Tender has, paging.
func listPayments(ctx context.Context, c *client) ([]*apiPayment, error) {
	var out []*apiPayment
	after := ""
	for range 10000 {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("starting_after", after)
		}
		a := c.do(ctx, http.MethodGet, "/v1/payments?"+q.Encode(), nil, "")
		if !a.ok() {
			return nil, fmt.Errorf("list payments: %s", a)
		}
		var page struct {
			Data    []*apiPayment `json:"data"`
			HasMore bool          `json:"has_more"`
		}
		if err := json.Unmarshal(a.body, &page); err != nil {
			return nil, fmt.Errorf("list payments: %w", err)
		}
		out = append(out, page.Data...)
		if !page.HasMore || len(page.Data) == 0 {
			return out, nil
		}
		after = page.Data[len(page.Data)-1].ID
	}
	return nil, fmt.Errorf("list payments: too many pages")
}

// waitReconciled waits, at most limit, until no payment is unresolved.
func waitReconciled(ctx context.Context, c *client, limit time.Duration) ([]*apiPayment, error) {
	end := time.Now().Add(limit)
	for {
		ps, err := listPayments(ctx, c)
		if err != nil {
			return nil, err
		}
		open := 0
		for _, p := range ps {
			if !p.settled() {
				open++
			}
		}
		if open == 0 || time.Now().After(end) || ctx.Err() != nil {
			return ps, nil
		}
		time.Sleep(2 * time.Second)
	}
}

// waitWebhooks waits, at most limit, until every settled payment's final
// webhook has come.
func waitWebhooks(ps []*apiPayment, h *hooks, limit time.Duration) {
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		missing := 0
		for _, p := range ps {
			if p.settled() && !h.got(p.ID, "payment."+p.Status) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		time.Sleep(time.Second)
	}
}

// check compares what Tender has (ps), what the providers have and what
// the clients were told.
// ledgers holds each provider's ledger, by connector name.
func check(ctx context.Context, c *client, f *Figures, ps []*apiPayment, ledgers map[string]map[string]Ledger, records map[string]*record, h *hooks) {
	byID := map[string]*apiPayment{}
	for _, p := range ps {
		byID[p.ID] = p
	}
	f.Payments = len(ps)
	// Lost: answered 2xx, unknown to Tender.
	ids := make([]string, 0, len(records))
	for id := range records {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if byID[id] != nil {
			continue
		}
		a := c.do(ctx, http.MethodGet, "/v1/payments/"+id, nil, "")
		if a.status == http.StatusNotFound {
			f.Lost++
			f.example("lost", "%s (%s) was answered 2xx to a client; Tender: %s", id, records[id].Provider, a)
		} else if a.ok() {
			if p, err := a.payment(); err == nil {
				byID[id] = p
				ps = append(ps, p)
			}
		}
	}
	// Lost: money at a provider for a payment Tender does not know.
	for name, l := range ledgers {
		keys := make([]string, 0, len(l))
		for id := range l {
			keys = append(keys, id)
		}
		sort.Strings(keys)
		for _, id := range keys {
			if e := l[id]; byID[id] == nil && e != (Ledger{}) {
				f.Lost++
				f.example("lost", "%s has %+v for %s, which Tender does not know", name, e, id)
			}
		}
	}
	for _, p := range ps {
		l := ledgers[p.Connector][p.ID]
		r := records[p.ID]
		if !p.settled() && abandoned(p, r, l) {
			// A checkout no shopper was sent to, whose cancel the provider
			// refused before doing anything: it stays open, rightly, until
			// the provider's checkout expires.
			f.Notes = append(f.Notes, fmt.Sprintf("%s (%s) is an open checkout nobody paid whose cancel was refused; it expires at the provider", p.ID, p.Connector))
			continue
		}
		if !p.settled() {
			f.Unresolved++
			f.example("unresolved", "%s (%s, %d) is still %s; the provider has %+v", p.ID, p.Connector, p.Amount, p.Status, l)
			continue
		}
		if !h.got(p.ID, "payment."+p.Status) {
			f.WebhooksMissing++
			f.example("webhooks missing", "%s (%s) is %s; no payment.%s webhook came", p.ID, p.Connector, p.Status, p.Status)
		}
		// A canceled payment may be a sale the provider approved and then
		// voided in its batch (a cancel that raced the terminal): what
		// counts is that nothing stayed taken.
		voided := p.Status == "canceled" && l.Captured == l.Refunded
		if l.Authorized > 1 || !voided && (l.Captured > p.CapturedAmount || l.Refunded > p.RefundedAmount) {
			f.ChargedTwice++
			f.example("charged twice", "%s (%s) is %s at Tender, captured %d, refunded %d; the provider has %+v", p.ID, p.Connector, p.Status, p.CapturedAmount, p.RefundedAmount, l)
			continue
		}
		if why := wrongState(p, l, r); why != "" {
			f.WrongState++
			f.example("wrong state", "%s (%s, %d, plan %s) %s", p.ID, p.Connector, p.Amount, planOf(r), why)
		}
	}
}

func planOf(r *record) string {
	if r == nil {
		return "?"
	}
	return r.Plan
}

// wrongState says what contradicts a settled payment's status, or "".
func wrongState(p *apiPayment, l Ledger, r *record) string {
	is := fmt.Sprintf("is %s at Tender (captured %d, refunded %d); the provider has %+v", p.Status, p.CapturedAmount, p.RefundedAmount, l)
	switch p.Status {
	case "captured", "partially_captured", "refunded", "partially_refunded":
		if l.Authorized != 1 || l.Captured != p.CapturedAmount || l.Refunded != p.RefundedAmount {
			return is
		}
	case "authorized":
		if l.Authorized != 1 || l.Captured != 0 || l.Refunded != 0 {
			return is
		}
	case "failed":
		if l != (Ledger{}) {
			return is
		}
	case "canceled":
		if l.Captured != l.Refunded {
			return is
		}
	}
	if r != nil {
		var told []string
		if r.CapturedAcked > p.CapturedAmount {
			told = append(told, fmt.Sprintf("a capture was answered with captured_amount %d", r.CapturedAcked))
		}
		if r.RefundedAcked > p.RefundedAmount {
			told = append(told, fmt.Sprintf("a refund was answered with refunded_amount %d", r.RefundedAcked))
		}
		if r.CanceledAcked && p.Status != "canceled" {
			told = append(told, "a cancel was answered canceled")
		}
		if len(told) > 0 {
			return fmt.Sprintf("is %s (captured %d, refunded %d), but %s", p.Status, p.CapturedAmount, p.RefundedAmount, strings.Join(told, "; "))
		}
	}
	return ""
}

// abandoned reports whether p is an online checkout that the driver meant
// to cancel before any shopper acted, whose cancel was never acknowledged,
// or whose shopper gave up after a failed attempt and whose cancel did not
// get through, and of which the provider knows nothing: not in doubt, just
// open until the provider's checkout expires.
func abandoned(p *apiPayment, r *record, l Ledger) bool {
	return p.Status == "requires_action" && r != nil && (r.Plan == "cancel-open" && !r.CanceledAcked || r.GaveUp) && l == (Ledger{})
}
