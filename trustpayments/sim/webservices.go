package sim

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	tp "github.com/tenderpay/tender/trustpayments"
)

const unauthorizedHTML = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head><title>401 Authorization Required</title></head><body><h1>Authorization Required</h1></body></html>
`

// serveJSON is the Webservices JSON API (notes §6): Basic auth, the
// envelope, REQUESTREFERENCE echoed, one result per request object.
func (s *Sim) serveJSON(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	site := s.byWSUser[user]
	s.mu.Unlock()
	if !ok || site == nil || subtle.ConstantTimeCompare([]byte(pass), []byte(site.WSPassword)) != 1 {
		// notes §6.3: bad credentials → HTTP 401 with an HTML body.
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Header().Set("WWW-Authenticate", `Basic realm="webservices"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, unauthorizedHTML)
		return
	}
	ref := r.Header.Get("REQUESTREFERENCE")
	if ref == "" {
		ref = requestReference()
	}
	reply := func(elems ...map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"requestreference": ref, "version": tp.WSVersion, "response": elems, "secrand": randAlnum(6)})
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var env struct {
		Alias   string                       `json:"alias"`
		Version string                       `json:"version"`
		Request []map[string]json.RawMessage `json:"request"`
	}
	if err != nil || json.Unmarshal(body, &env) != nil {
		reply(errMap("ERROR", "10205", "Malformed JSON", "invalid json"))
		return
	}
	if env.Alias != user {
		reply(errMap("ERROR", "30008", "Unknown user", "alias"))
		return
	}
	if env.Version != tp.WSVersion {
		reply(errMap("ERROR", "30007", "Invalid version number", "version"))
		return
	}
	if len(env.Request) == 0 {
		reply(errMap("ERROR", "60018", "Invalid requesttype"))
		return
	}
	rule := s.wsRule(env.Request)
	if rule == 61 {
		hijackDrop(w) // sandbox rule 61: the first request fails before anything is done
		return
	}
	var out []map[string]any
	for _, req := range env.Request {
		out = append(out, s.wsRequest(site, req))
	}
	if rule == 55 {
		hijackDrop(w) // sandbox rule 55: done, but the answer never comes
		return
	}
	reply(out...)
}

func errMap(typ, code, msg string, data ...string) map[string]any {
	m := map[string]any{"requesttypedescription": typ, "errorcode": code, "errormessage": msg, "transactionstartedtimestamp": ""}
	if len(data) > 0 {
		m["errordata"] = data
	}
	return m
}

func (s *Sim) wsRequest(site *Site, req map[string]json.RawMessage) map[string]any {
	_, hasList := req["requesttypedescriptions"]
	_, hasOne := req["requesttypedescription"]
	var types []string
	switch {
	case hasList && hasOne:
		return errMap("ERROR", "60040", "Can not specify both requesttypedescription and requesttypedescriptions on a single request")
	case hasList:
		types, _ = list(req["requesttypedescriptions"])
	case hasOne:
		if t := str(req["requesttypedescription"]); t != "" {
			types = []string{t}
		}
	}
	if len(types) == 0 {
		return errMap("ERROR", "60018", "Invalid requesttype")
	}
	if len(types) > 1 {
		return errMap(types[0], "30000", "Invalid field", "requesttypedescriptions")
	}
	typ := types[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	switch typ {
	case "TRANSACTIONQUERY":
		return s.query(site, req)
	case "TRANSACTIONUPDATE":
		return s.update(site, req)
	case "REFUND":
		return s.refund(site, req)
	case "AUTH":
		return s.mitAuth(site, req)
	}
	return errMap(typ, "60018", "Invalid requesttype")
}

var filterKeys = []string{"sitereference", "transactionreference", "orderreference", "parenttransactionreference", "requesttypedescription", "currencyiso3a"}

// match returns the site's transactions that match a filter; ok is false
// when the filter has no searchable field. s.mu is held.
func (s *Sim) match(site *Site, raw json.RawMessage) ([]*Tx, bool, string) {
	var f map[string]json.RawMessage
	if json.Unmarshal(raw, &f) != nil || f == nil {
		return nil, false, ""
	}
	want := map[string][]string{}
	for k, v := range f {
		if !slices.Contains(filterKeys, k) {
			continue
		}
		vals, ok := tp.FilterValues(v)
		if !ok {
			return nil, false, ""
		}
		want[k] = vals
	}
	if len(want) == 0 {
		return nil, false, ""
	}
	if sites, ok := want["sitereference"]; ok && !slices.Contains(sites, site.Reference) {
		return nil, true, "sitereference"
	}
	var out []*Tx
	for _, t := range s.txs {
		if t.Site != site.Reference {
			continue
		}
		rec := t.record()
		all := true
		for k, vals := range want {
			if !slices.Contains(vals, rec[k]) {
				all = false
			}
		}
		if all {
			out = append(out, t)
		}
	}
	return out, true, ""
}

func (s *Sim) query(site *Site, req map[string]json.RawMessage) map[string]any {
	txs, ok, bad := s.match(site, req["filter"])
	if !ok {
		return errMap("TRANSACTIONQUERY", "60019", "No searchable filter specified")
	}
	if bad != "" {
		return errMap("TRANSACTIONQUERY", "30006", "Invalid sitereference for alias", bad)
	}
	records := []map[string]string{}
	for _, t := range txs {
		records = append(records, t.record())
	}
	return map[string]any{"requesttypedescription": "TRANSACTIONQUERY", "errorcode": "0", "errormessage": "Ok", "found": strconv.Itoa(len(records)), "records": records}
}

// update is TRANSACTIONUPDATE (notes §6.4): AUTH or REFUND, only while
// settlestatus is 0, 1 or 2; settlebaseamount may only go down; or a
// SUBSCRIPTION's subscription fields (updateSubscription).
func (s *Sim) update(site *Site, req map[string]json.RawMessage) map[string]any {
	const typ = "TRANSACTIONUPDATE"
	txs, ok, bad := s.match(site, req["filter"])
	if !ok {
		return errMap(typ, "60019", "No searchable filter specified")
	}
	if bad != "" {
		return errMap(typ, "30006", "Invalid sitereference for alias", bad)
	}
	var updates map[string]string
	if json.Unmarshal(req["updates"], &updates) != nil || len(updates) == 0 {
		return errMap(typ, "60024", "No updates performed", "updates")
	}
	if len(txs) != 1 {
		return errMap(typ, "60024", "No updates performed", "filter")
	}
	t := txs[0]
	if t.Type == "SUBSCRIPTION" {
		return s.updateSubscription(t, updates)
	}
	if (t.Type != "AUTH" && t.Type != "REFUND") || t.ErrorCode != "0" || !slices.Contains([]string{"0", "1", "2"}, t.SettleStatus) {
		return errMap(typ, "60017", "Transaction not updatable")
	}
	next := *t
	for k, v := range updates {
		switch k {
		case "settlestatus":
			if !slices.Contains([]string{"0", "1", "2", "3"}, v) {
				return errMap(typ, "30000", "Invalid field", "settlestatus")
			}
			next.SettleStatus = v
		case "settlebaseamount", "settlemainamount":
			var amt int64
			var ok bool
			if k == "settlebaseamount" {
				n, err := strconv.ParseInt(v, 10, 64)
				amt, ok = n, err == nil && n >= 0
			} else {
				amt, ok = tp.AmountOf(tp.Result{Fields: map[string]string{"mainamount": v}}, t.Currency)
			}
			if !ok {
				return errMap(typ, "30000", "Invalid field", k)
			}
			if amt > t.SettleAmount {
				return errMap(typ, "60016", "Settle amount too great", k)
			}
			next.SettleAmount = amt
		case "settleduedate", "orderreference":
			if k == "settleduedate" {
				next.SettleDueDate = v
			} else {
				next.OrderReference = v
			}
		default:
			return errMap(typ, "30000", "Invalid field", k)
		}
	}
	*t = next
	return map[string]any{"requesttypedescription": typ, "errorcode": "0", "errormessage": "Ok"}
}

// updateSubscription is TRANSACTIONUPDATE of a SUBSCRIPTION. The notes
// say its "subscription fields" may be updated (§6.4) without saying
// which; the simulator takes transactionactive (0, 1 or 2, the values of
// the seed's field table; else 30000 naming it), the one Tender sends,
// and refuses every other field with 30000 naming it: the settlement
// fields are an AUTH's or REFUND's, and a schedule field Tender would
// start sending should be checked against the gateway first. Only a
// SUBSCRIPTION the gateway accepted is updatable (60017 otherwise), at
// any settlestatus (the notes restrict only AUTH and REFUND by it). Also
// unwritten: what a schedule does with the dates that passed while it was
// inactive. Here they are skipped, not caught up: a schedule made active
// again next charges on its first due date after today, with the
// subscriptionnumber it stopped at. The whole update is refused if one
// field is. s.mu is held.
func (s *Sim) updateSubscription(t *Tx, updates map[string]string) map[string]any {
	const typ = "TRANSACTIONUPDATE"
	if t.ErrorCode != "0" || t.Sub == nil {
		return errMap(typ, "60017", "Transaction not updatable")
	}
	active := t.Sub.Active
	for k, v := range updates {
		if k != "transactionactive" {
			return errMap(typ, "30000", "Invalid field", k)
		}
		if !slices.Contains([]string{"0", "1", "2"}, v) {
			return errMap(typ, "30000", "Invalid field", k)
		}
		active = v
	}
	if t.Sub.Active == "0" && active != "0" {
		today, _ := time.Parse(time.DateOnly, s.today())
		for !t.Sub.Next.After(today) {
			t.Sub.Next = t.Sub.advance(t.Sub.Next)
		}
	}
	t.Sub.Active = active
	return map[string]any{"requesttypedescription": typ, "errorcode": "0", "errormessage": "Ok"}
}

// refund is REFUND (notes §6.4): on an approved AUTH that is settled, or
// due to settle today; at most what was settled minus earlier refunds.
func (s *Sim) refund(site *Site, req map[string]json.RawMessage) map[string]any {
	const typ = "REFUND"
	if sr := str(req["sitereference"]); sr != site.Reference {
		return errMap(typ, "30006", "Invalid sitereference for alias", "sitereference")
	}
	parent := s.byRef[str(req["parenttransactionreference"])]
	if parent == nil || parent.Site != site.Reference {
		return errMap(typ, "20004", "Missing parent", "parenttransactionreference")
	}
	if parent.Type != "AUTH" || parent.ErrorCode != "0" {
		return errMap(typ, "20011", "Cannot refund a decline transaction")
	}
	settled := parent.SettleStatus == "100" || ((parent.SettleStatus == "0" || parent.SettleStatus == "1") && parent.SettleDueDate <= s.today())
	if !settled {
		return errMap(typ, "20005", "Refund requires settled parent or parent thats due to settle today")
	}
	var already int64
	for _, t := range s.txs {
		if t.Type == "REFUND" && t.Parent == parent.Reference && t.ErrorCode == "0" {
			already += t.SettleAmount
		}
	}
	amount := parent.SettleAmount - already
	if raw, ok := req["baseamount"]; ok {
		n, err := strconv.ParseInt(tp.ScalarField(map[string]json.RawMessage{"baseamount": raw}, "baseamount"), 10, 64)
		if err != nil || n <= 0 {
			return errMap(typ, "30000", "Invalid field", "baseamount")
		}
		amount = n
	} else if raw, ok := req["mainamount"]; ok {
		n, ok := tp.AmountOf(tp.Result{Fields: map[string]string{"mainamount": str(raw)}}, parent.Currency)
		if !ok || n <= 0 {
			return errMap(typ, "30000", "Invalid field", "mainamount")
		}
		amount = n
	}
	if amount <= 0 || already+amount > parent.SettleAmount {
		return errMap(typ, "20007", "Refund amount too great", "baseamount")
	}
	if amount%100 == 51 {
		// Sandbox rule 51 for refunds: online refunds can decline (70000,
		// notes §6.4); the declined REFUND is on record like any other.
		t := s.newTx(Tx{Type: typ, Site: site.Reference, OrderReference: str(req["orderreference"]), Parent: parent.Reference,
			BaseAmount: amount, Currency: parent.Currency, ErrorCode: "70000", ErrorMessage: "Decline", SettleStatus: "3",
			MaskedPAN: parent.MaskedPAN, PaymentType: parent.PaymentType, AuthCode: "DECLINED"})
		out := map[string]any{}
		for k, v := range t.record() {
			out[k] = v
		}
		out["acquirerresponsecode"] = "05"
		return out
	}
	t := s.newTx(Tx{Type: typ, Site: site.Reference, OrderReference: str(req["orderreference"]), Parent: parent.Reference,
		BaseAmount: amount, SettleAmount: amount, Currency: parent.Currency, ErrorCode: "0", ErrorMessage: "Ok", SettleStatus: "0",
		MaskedPAN: parent.MaskedPAN, PaymentType: parent.PaymentType, AuthCode: "TEST REFUND ACCEPTED"})
	out := map[string]any{}
	for k, v := range t.record() {
		out[k] = v
	}
	out["acquirerresponsecode"] = "00"
	return out
}
