package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	tp "github.com/tenderpay/tender/trustpayments"
)

// Saved cards (credentials on file), merchant-initiated AUTHs through the
// Webservices API, ACCOUNTCHECK and the subscription module, with test
// controls to run a subscription's next charge now.

// Schedule is a SUBSCRIPTION's schedule (seed field table), or, on a
// charge it made, the schedule with that charge's Number.
type Schedule struct {
	Type      string // RECURRING or INSTALLMENT
	Unit      string // DAY or MONTH
	Frequency int
	Final     int // subscriptionfinalnumber; 0: no end
	Number    int // the next charge's subscriptionnumber (a charge's own number)
	Begin     string
	Next      time.Time // when the next charge is due
	Active    string    // transactionactive: 0 inactive, 1 active, 2 pending until the AUTH settles
}

func (sc *Schedule) fields(m map[string]string) {
	if sc == nil {
		return
	}
	m["subscriptiontype"] = sc.Type
	m["subscriptionunit"] = sc.Unit
	m["subscriptionfrequency"] = strconv.Itoa(sc.Frequency)
	m["subscriptionfinalnumber"] = strconv.Itoa(sc.Final)
	m["subscriptionnumber"] = strconv.Itoa(sc.Number)
	if sc.Begin != "" {
		m["subscriptionbegindate"] = sc.Begin
	}
	if sc.Active != "" {
		m["transactionactive"] = sc.Active
	}
}

func (s *Sim) elemOf(t *Tx) elem {
	e := elem{}
	for k, v := range t.record() {
		e[k] = v
	}
	delete(e, "interface")
	return e
}

// accountCheck verifies a card without reserving funds (notes §6.5: like
// AUTH with baseamount 0); with credentialsonfile 1 it stores the card.
// s.mu is held.
func (s *Sim) accountCheck(site *Site, o order, c card, parent string) elem {
	t := Tx{Type: "ACCOUNTCHECK", Site: site.Reference, OrderReference: o.ref, Parent: parent, Currency: o.currency,
		MaskedPAN: mask(c.pan), PaymentType: paymentType(c.pan), ErrorCode: "0", ErrorMessage: "Ok", SettleStatus: "0",
		CredentialsOnFile: o.cof, AuthCode: "TEST ACCOUNTCHECK"}
	if declineCards[c.pan] || (c.cvv != "123" && c.cvv != "1234") {
		t.ErrorCode, t.ErrorMessage, t.SettleStatus, t.AuthCode = "70000", "Decline", "3", "DECLINED"
	}
	if o.cof == "1" && t.ErrorCode == "0" {
		t.pan = c.pan
	}
	e := s.elemOf(s.newTx(t))
	e["customeroutput"] = "RESULT"
	return e
}

// subscribe is SUBSCRIPTION chained on an approved AUTH or ACCOUNTCHECK
// (notes §6.5; 20019 without one). The first scheduled charge has
// subscriptionnumber + 1 and is due at subscriptionbegindate, or one
// interval from today. s.mu is held.
func (s *Sim) subscribe(site *Site, o order, p map[string]json.RawMessage, parent string) elem {
	const typ = "SUBSCRIPTION"
	par := s.byRef[parent]
	if par == nil || par.ErrorCode != "0" || (par.Type != "AUTH" && par.Type != "ACCOUNTCHECK") {
		return errElem(typ, "20019", "Subscription requires successful parent", "parenttransactionreference")
	}
	sc := &Schedule{Type: tp.ScalarField(p, "subscriptiontype"), Unit: tp.ScalarField(p, "subscriptionunit"),
		Begin: tp.ScalarField(p, "subscriptionbegindate"), Active: tp.ScalarField(p, "transactionactive")}
	var err1, err2 error
	sc.Frequency, err1 = strconv.Atoi(tp.ScalarField(p, "subscriptionfrequency"))
	sc.Final, err2 = strconv.Atoi(tp.ScalarField(p, "subscriptionfinalnumber"))
	if err1 != nil || sc.Frequency < 1 {
		return errElem(typ, "30000", "Invalid field", "subscriptionfrequency")
	}
	if err2 != nil {
		return errElem(typ, "30000", "Invalid field", "subscriptionfinalnumber")
	}
	first := 1
	if n := tp.ScalarField(p, "subscriptionnumber"); n != "" {
		first, _ = strconv.Atoi(n)
	}
	sc.Number = first + 1
	if sc.Active == "" {
		sc.Active = "2"
	}
	today, _ := time.Parse(time.DateOnly, s.today())
	sc.Next = sc.advance(today)
	if sc.Begin != "" {
		b, err := time.Parse(time.DateOnly, sc.Begin)
		if err != nil {
			return errElem(typ, "30000", "Invalid field", "subscriptionbegindate")
		}
		sc.Next = b
	}
	t := s.newTx(Tx{Type: typ, Site: site.Reference, OrderReference: o.ref, Parent: parent, BaseAmount: o.amount, Currency: o.currency,
		MaskedPAN: par.MaskedPAN, PaymentType: par.PaymentType, ErrorCode: "0", ErrorMessage: "Ok", AccountType: "RECUR", Sub: sc})
	return s.elemOf(t)
}

func (sc *Schedule) advance(t time.Time) time.Time {
	if sc.Unit == "DAY" {
		return t.AddDate(0, 0, sc.Frequency)
	}
	return t.AddDate(0, sc.Frequency, 0)
}

// stored returns the card a credential-on-file transaction stored, and
// the transaction that stored it, following parents (a SUBSCRIPTION's
// parent stored it). s.mu is held.
func (s *Sim) stored(ref string) (*Tx, string) {
	for t := s.byRef[ref]; t != nil; t = s.byRef[t.Parent] {
		if t.pan != "" {
			return t, t.pan
		}
		if t.Parent == "" {
			break
		}
	}
	return nil, ""
}

// mitAuth is an AUTH through the Webservices API on a stored credential:
// the merchant-initiated charge (credentialsonfile 2 with an
// initiationreason, parent = the transaction that stored the card). An
// ECOM AUTH through the Webservices API that is not merchant-initiated is
// refused: e-commerce needs 3-D Secure through the JavaScript library
// (notes §6.5), and a merchant-initiated one is out of its scope. s.mu is
// held.
func (s *Sim) mitAuth(site *Site, req map[string]json.RawMessage) map[string]any {
	const typ = "AUTH"
	fail := func(code, msg string, data ...string) map[string]any { return errMap(typ, code, msg, data...) }
	if str(req["sitereference"]) != site.Reference {
		return fail("30006", "Invalid sitereference for alias", "sitereference")
	}
	if a := str(req["accounttypedescription"]); a != "ECOM" {
		return fail("30000", "Invalid field", "accounttypedescription")
	}
	if tp.ScalarField(req, "credentialsonfile") != "2" {
		return fail("30000", "Invalid field", "credentialsonfile")
	}
	if r := str(req["initiationreason"]); !slices.Contains([]string{"A", "C", "D", "S", "X"}, r) {
		return fail("30000", "Invalid field", "initiationreason")
	}
	parent := s.byRef[str(req["parenttransactionreference"])]
	if parent == nil || parent.Site != site.Reference {
		return fail("20004", "Missing parent", "parenttransactionreference")
	}
	storedBy, pan := s.stored(parent.Reference)
	if pan == "" || storedBy.ErrorCode != "0" {
		return fail("30000", "Invalid field", "parenttransactionreference")
	}
	o, err := s.order(req)
	if err != nil || o.amount <= 0 {
		return fail("30000", "Invalid field", "baseamount")
	}
	if o.currency != storedBy.Currency && storedBy.Type == "AUTH" || o.currency == "" {
		return fail("30000", "Invalid field", "currencyiso3a")
	}
	if !slices.Contains([]string{"0", "1", "2"}, o.settle) {
		return fail("30000", "Invalid field", "settlestatus")
	}
	o.cof = "2"
	e := s.auth(site, o, card{pan: pan, cvv: "123"}, parent.Reference, "", "", "")
	t := s.byRef[e["transactionreference"].(string)]
	t.InitiationReason = str(req["initiationreason"])
	e["initiationreason"] = t.InitiationReason
	delete(e, "customeroutput")
	return e
}

// wsRule is the sandbox rule (55 or 61) for a Webservices request of one
// AUTH, else 0. Rule 61 drops only the first request for an order.
func (s *Sim) wsRule(reqs []map[string]json.RawMessage) int {
	if len(reqs) != 1 {
		return 0
	}
	types, _ := list(reqs[0]["requesttypedescriptions"])
	if !slices.Equal(types, []string{"AUTH"}) {
		return 0
	}
	n, err := strconv.ParseInt(tp.ScalarField(reqs[0], "baseamount"), 10, 64)
	if err != nil {
		return 0
	}
	switch n % 100 {
	case 55:
		return 55
	case 61:
		key := "ws:" + tp.ScalarField(reqs[0], "orderreference")
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.dropped[key] {
			s.dropped[key] = true
			return 61
		}
	}
	return 0
}

// RunSubscriptions makes the subscription module run: every active
// schedule charges what is due by until (after the nightly settlement,
// which a pending schedule waits for), or, with next, its next charge now
// whatever its date. It returns how many charges it made.
func (s *Sim) RunSubscriptions(until time.Time, next bool) int {
	s.Settle()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sub := range slices.Clone(s.txs) {
		sc := sub.Sub
		if sub.Type != "SUBSCRIPTION" || sub.ErrorCode != "0" || sc == nil || sc.Active == "0" {
			continue
		}
		storedBy, pan := s.stored(sub.Parent)
		if pan == "" {
			continue
		}
		if sc.Active == "2" && storedBy.Type == "AUTH" && storedBy.SettleStatus != "100" {
			continue // pending until the first AUTH is settled (seed: transactionactive 2)
		}
		for (next || !sc.Next.After(until)) && (sc.Final == 0 || sc.Number <= sc.Final) {
			o := order{ref: sub.OrderReference, amount: sub.BaseAmount, currency: sub.Currency, settle: "0", cof: "2"}
			e := s.auth(s.sites[sub.Site], o, card{pan: pan, cvv: "123"}, sub.Reference, "", "", "")
			t := s.byRef[e["transactionreference"].(string)]
			t.AccountType = "RECUR"
			t.Sub = &Schedule{Type: sc.Type, Unit: sc.Unit, Frequency: sc.Frequency, Final: sc.Final, Number: sc.Number, Begin: sc.Begin}
			sc.Number++
			sc.Next = sc.advance(sc.Next)
			n++
			if next {
				break
			}
		}
	}
	return n
}

// serveControl is the simulator's test control, outside Trust Payments'
// protocol: POST /_sim/subscriptions/run ({"next": true} or {"until":
// "YYYY-MM-DD"}) runs the subscription module; GET /_sim/money returns
// Money().
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/money") {
		_ = json.NewEncoder(w).Encode(s.Money())
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var req struct {
		Next  bool   `json:"next"`
		Until string `json:"until"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	if len(body) > 0 && json.Unmarshal(body, &req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	until := s.opts.Clock.Now().UTC()
	if req.Until != "" {
		t, err := time.Parse(time.DateOnly, req.Until)
		if err != nil {
			http.Error(w, "until must be YYYY-MM-DD", http.StatusBadRequest)
			return
		}
		until = t
	}
	_ = json.NewEncoder(w).Encode(map[string]int{"charges": s.RunSubscriptions(until, req.Next)})
}
