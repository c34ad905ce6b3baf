package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// record is what the clients know of one payment Tender answered 2xx for.
type record struct {
	ID, Provider, Plan string
	Amount             int64
	Keyed              bool
	// What 2xx answers to captures, refunds and cancels said.
	CapturedAcked, RefundedAcked int64
	CanceledAcked                bool
	// GaveUp: a shopper whose attempt failed pressed the checkout's cancel.
	GaveUp bool
}

// driver runs the clients.
type driver struct {
	run       string // unique per run: keys and references
	sims      map[string]*Sim
	front     string
	newClient func(seed uint64) *client
	total     int64 // payments to start
	// share is each provider's part of total: terminals are slow (a
	// cashier waits seconds for the card), so without quotas the online
	// providers would take nearly every payment.
	share    map[string]float64
	deadline time.Time
	noKey    float64 // share of requests sent without an Idempotency-Key

	started   atomic.Int64
	startedBy sync.Map // provider → *atomic.Int64
	mu        sync.Mutex
	records   map[string]*record
	// unanswered counts requests that never got an answer (by kind).
	unanswered map[string]int
	// odd counts answers the harness did not expect (by kind), for the log.
	odd map[string]int
	// acked counts 2xx answers by provider and operation.
	acked map[string]int
}

func (d *driver) note(m map[string]int, kind string) {
	d.mu.Lock()
	m[kind]++
	d.mu.Unlock()
}

func (d *driver) keep(r *record) {
	d.mu.Lock()
	if _, ok := d.records[r.ID]; !ok {
		d.records[r.ID] = r
	}
	d.mu.Unlock()
}

func (d *driver) update(id string, f func(r *record)) {
	d.mu.Lock()
	if r, ok := d.records[id]; ok {
		f(r)
	}
	d.mu.Unlock()
}

// runClients runs one client per terminal and a few per online provider
// until total payments are started or the deadline passes.
func (d *driver) runClients(ctx context.Context, online int, exclude map[string]bool) {
	var wg sync.WaitGroup
	seed := uint64(1)
	for _, s := range d.sims {
		if len(s.Sandbox.Terminals) > 0 {
			for _, t := range s.Terminals {
				if exclude[t.ID] {
					continue
				}
				c := d.newClient(seed)
				seed++
				wg.Go(func() { d.loop(ctx, c, s, t.ID) })
			}
			continue
		}
		for range online {
			c := d.newClient(seed)
			seed++
			wg.Go(func() { d.loop(ctx, c, s, "") })
		}
	}
	wg.Wait()
}

func (d *driver) loop(ctx context.Context, c *client, s *Sim, terminal string) {
	quota := int64(float64(d.total)*d.share[s.Name] + 0.5)
	v, _ := d.startedBy.LoadOrStore(s.Name, new(atomic.Int64))
	mine := v.(*atomic.Int64)
	// Late in the load, a provider past its quota makes up for those
	// (terminals left in doubt) that are behind, so that the run reaches
	// its total.
	late := time.Now().Add(time.Until(d.deadline) * 6 / 10)
	for ctx.Err() == nil && time.Now().Before(d.deadline) {
		if d.started.Load() >= d.total {
			return
		}
		if mine.Load() >= quota && time.Now().Before(late) {
			time.Sleep(time.Second)
			continue
		}
		n := d.started.Add(1)
		if n > d.total {
			return
		}
		mine.Add(1)
		d.payment(ctx, c, s, terminal, n)
	}
}

// amount picks an amount; its last two digits are the sandbox outcome
// rules: 51 declined, 54 canceled by the customer, else approved. Rules 55
// and 61 (the simulators' own lost answers) are left out: the proxy makes
// those faults here.
func amount(c *client) int64 {
	a := int64(100 + c.intn(200)*100)
	switch x := c.float(); {
	case x < 0.08:
		return a + 51
	case x < 0.12:
		return a + 54
	}
	for {
		r := int64(c.intn(100))
		if r != 51 && r != 54 && r != 55 && r != 61 {
			return a + r
		}
	}
}

// plan picks what is done with a payment, by what the provider supports.
func plan(c *client, provider string) string {
	x := c.float()
	pick := func(plans ...string) string { return plans[int(x*float64(len(plans)))] }
	switch provider {
	case "sepay":
		return pick("sale", "sale", "sale", "sale", "sale", "cancel-open")
	case "epay":
		return pick("sale", "sale", "sale", "refund", "refund", "cancel-open")
	case "trustpayments":
		return pick("sale", "refund-part", "refund", "capture-part", "capture", "capture-refund", "cancel-auth", "cancel-open")
	case "computop":
		return pick("sale", "sale", "capture-part", "capture-twice", "capture", "cancel-auth")
	}
	return "sale"
}

func manual(plan string) bool {
	switch plan {
	case "capture-part", "capture", "capture-twice", "capture-refund", "cancel-auth":
		return true
	}
	return false
}

var billing = json.RawMessage(`{"billing":{"first_name":"Eva","last_name":"de Vries","street":"Damrak 1","city":"Amsterdam","zip":"1012LG","country_code":"NL"}}`)

// paymentBody is the create request of payment n.
func (d *driver) paymentBody(s *Sim, terminal string, amt int64, pl string, n int64) map[string]any {
	b := map[string]any{"amount": amt, "currency": "EUR", "connector": s.Name, "account": s.Sandbox.Account.ID,
		"reference": fmt.Sprintf("%s-%d", d.run, n), "return_url": "https://shop.example/done"}
	if terminal != "" {
		b["terminal"] = terminal
	}
	if manual(pl) {
		b["capture"] = "manual"
	}
	switch s.Name {
	case "trustpayments":
		b["currency"] = "GBP"
	case "computop":
		b["computop"] = billing
	case "epay":
		b["invoice"] = greekInvoice(amt, fmt.Sprintf("%d%d", time.Now().Unix()%100000, n))
	}
	return b
}

// greekInvoice is a Greek invoice of amount (24% VAT included).
func greekInvoice(amount int64, number string) json.RawMessage {
	net := amount * 100 / 124
	return json.RawMessage(fmt.Sprintf(`{"issuer_vat":"EL123456789","date":%q,"branch":0,"type":"11.1","series":"F","number":%q,"net_amount":%d,"vat_amount":%d,"total_amount":%d}`,
		time.Now().Format("2006-01-02"), number, net, amount-net, amount))
}

// key is the Idempotency-Key of one request, or "" for the share sent
// without one.
func (d *driver) key(c *client, n int64, op string) string {
	if c.float() < d.noKey {
		return ""
	}
	return fmt.Sprintf("%s-%d-%s", d.run, n, op)
}

// payment makes payment n and does its plan: create, the shopper's part,
// then captures, refunds or cancels.
func (d *driver) payment(ctx context.Context, c *client, s *Sim, terminal string, n int64) {
	amt := amount(c)
	pl := plan(c, s.Name)
	body := d.paymentBody(s, terminal, amt, pl, n)
	key := d.key(c, n, "create")
	var a answer
	for try := 0; ; try++ {
		a = c.do(ctx, http.MethodPost, "/v1/payments", body, key)
		// A terminal still busy with an earlier payment (one left in
		// doubt): the cashier waits and tries again, as a new request.
		if a.status == http.StatusConflict && a.code() == "terminal_busy" && try < 20 && time.Now().Before(d.deadline) {
			time.Sleep(2 * time.Second)
			if key != "" {
				key = fmt.Sprintf("%s-%d-create%d", d.run, n, try+1)
			}
			continue
		}
		break
	}
	if a.err != nil {
		d.note(d.unanswered, "create")
		return
	}
	if !a.ok() {
		if a.status != http.StatusBadGateway {
			d.note(d.odd, fmt.Sprintf("create %s: HTTP %d %s", s.Name, a.status, a.code()))
		}
		return
	}
	p, err := a.payment()
	if err != nil {
		d.note(d.odd, "create: "+err.Error())
		return
	}
	d.keep(&record{ID: p.ID, Provider: s.Name, Plan: pl, Amount: amt, Keyed: key != ""})
	d.note(d.acked, s.Name+" create")

	if pl == "cancel-open" {
		d.cancel(ctx, c, p.ID, n)
	} else if p.Status == "requires_action" {
		if err := s.shop(ctx, p, d.front, postForm); err != nil {
			d.note(d.odd, "shopper: "+err.Error())
		}
		d.giveUpAfterFailure(ctx, c, p.ID)
	}
	p = d.wait(ctx, c, p.ID, 150*time.Second)
	if p == nil || !p.settled() {
		return
	}
	switch {
	case pl == "cancel-auth" && p.Status == "authorized":
		d.cancel(ctx, c, p.ID, n)
	case (pl == "capture" || pl == "capture-refund") && p.Status == "authorized":
		p = d.capture(ctx, c, p.ID, n, 1, 0)
		if pl == "capture-refund" && p != nil && p.Status == "captured" {
			d.refund(ctx, c, p.ID, n, p.CapturedAmount/2)
		}
	case pl == "capture-part" && p.Status == "authorized":
		d.capture(ctx, c, p.ID, n, 1, amt/2)
	case pl == "capture-twice" && p.Status == "authorized":
		if p = d.capture(ctx, c, p.ID, n, 1, amt/3); p != nil && p.Status == "partially_captured" {
			d.capture(ctx, c, p.ID, n, 2, amt-amt/3)
		}
	case pl == "refund" && p.Status == "captured":
		d.refund(ctx, c, p.ID, n, 0)
	case pl == "refund-part" && p.Status == "captured":
		d.refund(ctx, c, p.ID, n, amt/3)
	}
}

// giveUpAfterFailure plays the shopper who, shown that their attempt
// failed (a declined card: the checkout stays open for another try),
// does not try again and presses the page's cancel. A payment that
// settles, or shows no failed attempt within a few seconds, is left alone.
func (d *driver) giveUpAfterFailure(ctx context.Context, c *client, id string) {
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) && ctx.Err() == nil {
		a := c.do(ctx, http.MethodGet, "/v1/payments/"+id, nil, "")
		if a.ok() {
			p, err := a.payment()
			if err != nil || p.settled() || p.Status != "requires_action" {
				return
			}
			if p.Failure != nil {
				d.update(id, func(r *record) { r.GaveUp = true })
				d.pressCancel(ctx, c, id, p.Connector)
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pressCancel presses the checkout's cancel until the payment is settled,
// as a shopper does who sees the page still open (Tender may not have
// reached the provider to make sure nothing was taken), ten times at most.
func (d *driver) pressCancel(ctx context.Context, c *client, id, connector string) {
	for range 10 {
		if err := postForm(ctx, d.front+"/pay/"+id+"/cancel", url.Values{}); err != nil {
			d.note(d.odd, "shopper cancel: "+err.Error())
		}
		if a := c.do(ctx, http.MethodGet, "/v1/payments/"+id, nil, ""); a.ok() {
			if p, err := a.payment(); err == nil && p.settled() {
				d.note(d.acked, connector+" shopper gave up")
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// wait long-polls until the payment is settled or limit passes.
func (d *driver) wait(ctx context.Context, c *client, id string, limit time.Duration) *apiPayment {
	end := time.Now().Add(limit)
	var last *apiPayment
	for time.Now().Before(end) && ctx.Err() == nil {
		a := c.do(ctx, http.MethodGet, "/v1/payments/"+id+"?wait=20s", nil, "")
		if a.ok() {
			if p, err := a.payment(); err == nil {
				last = p
				if p.settled() {
					return p
				}
			}
		} else if a.status == http.StatusNotFound {
			d.note(d.odd, "a payment answered 2xx is not found")
			time.Sleep(time.Second)
		} else {
			time.Sleep(time.Second)
		}
	}
	return last
}

func (d *driver) op(ctx context.Context, c *client, id, path string, body any, key string) *apiPayment {
	a := c.do(ctx, http.MethodPost, "/v1/payments/"+id+path, body, key)
	if a.err != nil {
		d.note(d.unanswered, path)
		return nil
	}
	if !a.ok() {
		d.note(d.odd, fmt.Sprintf("%s: HTTP %d %s", path, a.status, a.code()))
		return nil
	}
	p, err := a.payment()
	if err != nil {
		d.note(d.odd, path+": "+err.Error())
		return nil
	}
	d.note(d.acked, p.Connector+" "+strings.TrimPrefix(path, "/"))
	return p
}

func (d *driver) cancel(ctx context.Context, c *client, id string, n int64) {
	if p := d.op(ctx, c, id, "/cancel", map[string]any{}, d.key(c, n, "cancel")); p != nil && p.Status == "canceled" {
		d.update(id, func(r *record) { r.CanceledAcked = true })
	}
}

func (d *driver) capture(ctx context.Context, c *client, id string, n int64, i int, amt int64) *apiPayment {
	body := map[string]any{}
	if amt > 0 {
		body["amount"] = amt
	}
	p := d.op(ctx, c, id, "/capture", body, d.key(c, n, fmt.Sprint("capture", i)))
	if p != nil {
		d.update(id, func(r *record) { r.CapturedAcked = max(r.CapturedAcked, p.CapturedAmount) })
	}
	return p
}

func (d *driver) refund(ctx context.Context, c *client, id string, n int64, amt int64) {
	body := map[string]any{}
	if amt > 0 {
		body["amount"] = amt
	}
	if p := d.op(ctx, c, id, "/refunds", body, d.key(c, n, "refund")); p != nil {
		d.update(id, func(r *record) { r.RefundedAcked = max(r.RefundedAcked, p.RefundedAmount) })
	}
}
