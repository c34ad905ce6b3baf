package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tenderpay/tender/epay"
)

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /impact/PosTransactions/signpos", s.signpos)
	m.HandleFunc("POST /impact/PosTransactions/validate", s.validate)
	// ePay serves at the root; Mellon-style hosts under /api/v2.2 and
	// /api (token); serve all (notes §7.1, §10.2).
	for _, p := range []string{"/webecr", "/webecr/api/v2.2", "/webecr/api"} {
		m.HandleFunc("POST "+p+"/token/{$}", s.token)
		m.HandleFunc("POST "+p+"/token/refresh/{$}", s.tokenRefresh)
		m.HandleFunc("POST "+p+"/authorization/redeem/{$}", s.redeem)
		m.HandleFunc("GET "+p+"/terminal/{$}", s.listTerminals)
		m.HandleFunc("POST "+p+"/terminal/{id}/txninit/{$}", s.txninit)
		m.HandleFunc("POST "+p+"/terminal/{id}/txnvoid/{$}", s.txnvoid)
		m.HandleFunc("GET "+p+"/transactionintent/{$}", s.listIntents)
		m.HandleFunc("GET "+p+"/transactionintent/{id}/{$}", s.getIntent)
		m.HandleFunc("GET "+p+"/transaction/{$}", s.listTransactions)
	}
	// Simulator controls (notes §10.4, §10.5).
	m.HandleFunc("POST /webecr/_sim/terminals/{tid}/otp", func(w http.ResponseWriter, r *http.Request) {
		code, err := s.ShowOTP(r.PathValue("tid"))
		if err != nil {
			detail(w, http.StatusNotFound, "Not found.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"Code": code})
	})
	m.HandleFunc("POST /webecr/_sim/terminals/{tid}/press", func(w http.ResponseWriter, r *http.Request) {
		if !s.Press(r.PathValue("tid")) {
			detail(w, http.StatusConflict, "No pending intent.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /webecr/_sim/terminals/{tid}/cancel", func(w http.ResponseWriter, r *http.Request) {
		if !s.CancelAtTerminal(r.PathValue("tid")) {
			detail(w, http.StatusConflict, "No intent on the terminal.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /webecr/_sim/terminals/{tid}/close-batch", func(w http.ResponseWriter, r *http.Request) {
		if !s.CloseBatch(r.PathValue("tid")) {
			detail(w, http.StatusNotFound, "Not found.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /webecr/_sim/terminals", s.serveAddTerminals)
	m.HandleFunc("GET /webecr/_sim/ledger", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Ledger())
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { detail(w, http.StatusNotFound, "Not found.") })
	s.mux = m
}

// page writes a DRF page of items with limit/offset pagination.
func page[T any](s *Sim, w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 || limit > 100 {
		limit = 100
	}
	offset, err := strconv.Atoi(q.Get("offset"))
	if err != nil || offset < 0 {
		offset = 0
	}
	p := epay.Page[T]{Count: len(items), Results: []T{}}
	if offset < len(items) {
		end := min(offset+limit, len(items))
		p.Results = items[offset:end]
		if end < len(items) {
			q.Set("limit", strconv.Itoa(limit))
			q.Set("offset", strconv.Itoa(end))
			base := s.opts.BaseURL
			if base == "" {
				base = "http://" + r.Host
			}
			next := base + r.URL.Path + "?" + q.Encode()
			p.Next = &next
		}
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Sim) listTerminals(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.keyed(w, r)
	if !ok {
		return
	}
	var out []epay.TerminalRecord
	if f := r.URL.Query().Get("TerminalID"); f == "" || f == t.TID {
		out = append(out, t.record())
	}
	page(s, w, r, out)
}

func (t *terminal) record() epay.TerminalRecord {
	return epay.TerminalRecord{ID: epay.NumID(strconv.FormatInt(t.ID, 10)), TerminalID: t.TID, FriendlyName: t.Name,
		TerminalType: 100, Merchant: "11719", Acquirer: 11, CurrentBatchNumber: t.batch}
}

// keyedTerminal authenticates and checks the key is scoped to {id}.
func (s *Sim) keyedTerminal(w http.ResponseWriter, r *http.Request) (*terminal, bool) {
	t, ok := s.keyed(w, r)
	if !ok {
		return nil, false
	}
	if strconv.FormatInt(t.ID, 10) != r.PathValue("id") {
		detail(w, http.StatusNotFound, "Not found.")
		return nil, false
	}
	return t, true
}

// POST /terminal/{id}/txninit/ (notes §10.3 validation order).
func (s *Sim) txninit(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	locked := true
	defer func() {
		if locked {
			s.mu.Unlock()
		}
	}()
	t, ok := s.keyedTerminal(w, r)
	if !ok {
		return
	}
	var req epay.TxnInitRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		fieldError(w, "non_field_errors", "Invalid JSON.")
		return
	}
	// Sandbox rule 61: the first request for a payment is dropped before
	// anything is done.
	if req.Amount%100 == 61 && !s.dropped[req.CustomerReference] {
		s.dropped[req.CustomerReference] = true
		dropConnection(w)
		return
	}
	switch {
	case req.CustomerReference == "" || len(req.CustomerReference) > 50:
		fieldError(w, "CustomerReference", "Ensure this field has between 1 and 50 characters.")
		return
	case req.CurrencyCode != epay.CurrencyEUR:
		fieldError(w, "CurrencyCode", "Only 978 (EUR) is supported.")
		return
	case req.Amount <= 0:
		fieldError(w, "Amount", "Ensure this value is greater than 0.")
		return
	case req.Timeout < 0 || req.Timeout > 180:
		fieldError(w, "Timeout", "Ensure this value is between 0 and 180.")
		return
	case req.TxnType < 0 || req.TxnType > 49:
		fieldError(w, "TxnType", "Invalid transaction type.")
		return
	}
	// A sale, pre-authorization or pre-payment needs the provider's
	// signature (notes §10.3); a refund carries one only when the credit
	// note's series requires it (notes §8.4), and is then checked; a
	// completion is covered by its pre-authorization's.
	needsSig := req.TxnType == epay.TxnSale || req.TxnType == epay.TxnPreAuth || req.TxnType == 9
	if needsSig && req.ProviderData == nil {
		fieldError(w, "ProviderData", "This field is required.")
		return
	}
	if req.ProviderData != nil {
		if msg := s.checkSignature(req, t); msg != "" {
			fieldError(w, "ProviderData", msg)
			return
		}
	}
	if field, msg := s.checkFollowUp(req, t); msg != "" {
		fieldError(w, field, msg)
		return
	}
	in := &intent{tid: t.TID, created: s.clock.Now(), noResponse: req.Amount%100 == 55}
	in.Intent = epay.Intent{ID: epay.NumID(strconv.FormatInt(s.nextID(), 10)), Status: epay.StatusPending,
		TxnType: req.TxnType, Amount: req.Amount, TipAmount: req.TipAmount, CurrencyCode: req.CurrencyCode,
		Instalments: req.Instalments, CustomerReference: req.CustomerReference,
		Terminal: epay.NumID(strconv.FormatInt(t.ID, 10)), InitialTransaction: req.InitialTransaction}
	if req.ProviderData != nil {
		in.signature = req.ProviderData.Signature
	}
	s.addIntent(in)
	s.advance()
	if in.noResponse {
		// Sandbox rule 55: the payment goes ahead, the answer never comes.
		s.mu.Unlock()
		locked = false
		select {
		case <-r.Context().Done():
		case <-s.closed:
			dropConnection(w)
		}
		return
	}
	writeJSON(w, http.StatusOK, in.Intent)
}

// checkSignature verifies ProviderData as the backend does (notes §7.4):
// it rebuilds the clear text with the intent's Amount and the terminal's
// TID. It returns "" when the signature is acceptable.
func (s *Sim) checkSignature(req epay.TxnInitRequest, t *terminal) string {
	pd := req.ProviderData
	pub := s.providers[string(pd.ProviderId)]
	if pub == nil {
		return "Unknown provider."
	}
	ts, err := time.ParseInLocation(epay.TimestampLayout, pd.SignatureTimestamp, athens)
	if err != nil {
		return "SignatureTimestamp is not YYYYMMDDhhmmss."
	}
	now := s.clock.Now()
	// The validity the signature was made for (H_2 or H_24); one this
	// simulator's Impact did not make counts as H_24.
	if now.Sub(ts) > epay.SignatureValidity(s.sigTypes[pd.Signature]) {
		return "The provider signature has expired."
	}
	if ts.Sub(now) > 5*time.Minute {
		return "The provider signature is dated in the future."
	}
	if pd.NetAmount+pd.VatAmount != pd.TotalAmount {
		return "TotalAmount must equal NetAmount + VatAmount."
	}
	if req.Amount > pd.TotalAmount {
		return "Amount exceeds TotalAmount."
	}
	if epay.Verify(pub, pd.ClearText(req.Amount, t.TID).String(), pd.Signature) != nil {
		return "Invalid provider signature."
	}
	if s.usedSigs[pd.Signature] {
		return "The provider signature has already been used."
	}
	return ""
}

var athens, _ = time.LoadLocation("Europe/Athens")

func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// POST /terminal/{id}/txnvoid/ (notes §7.8).
func (s *Sim) txnvoid(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.keyedTerminal(w, r)
	if !ok {
		return
	}
	var req epay.VoidRequest
	if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<14)).Decode(&req) != nil || req.OriginalIdentifier == "" {
		fieldError(w, "OriginalIdentifier", "This field is required.")
		return
	}
	s.advance()
	var orig *intent
	for _, in := range s.intents {
		if in.tid != t.TID || in.CustomerReference == "" {
			continue
		}
		if req.OriginalIdentifierType == epay.VoidByIntentID && string(in.ID) == req.OriginalIdentifier ||
			req.OriginalIdentifierType == epay.VoidByTransactionID && in.TransactionId == req.OriginalIdentifier {
			orig = in
		}
	}
	if req.OriginalIdentifierType != epay.VoidByIntentID && req.OriginalIdentifierType != epay.VoidByTransactionID {
		fieldError(w, "OriginalIdentifierType", "Must be 1 (INTENTID) or 2 (TRANSACTIONID).")
		return
	}
	if orig == nil {
		detail(w, http.StatusNotFound, "Not found.")
		return
	}
	now := s.clock.Now()
	void := &intent{tid: t.TID, created: now}
	void.Intent = epay.Intent{ID: epay.NumID(strconv.FormatInt(s.nextID(), 10)), Status: epay.StatusCompleted,
		TxnType: orig.TxnType, Amount: orig.Amount, CurrencyCode: orig.CurrencyCode, Terminal: orig.Terminal}
	switch orig.Status {
	case epay.StatusPending: // withdrawn before the terminal took it
		s.finish(orig, epay.ResultCancelled)
		void.Result = intp(epay.ResultApproved)
	case epay.StatusSent:
		fieldError(w, "OriginalIdentifier", "The transaction is in progress on the terminal.")
		return
	default:
		rec := s.txnOf(orig)
		switch {
		case rec == nil || !rec.Approved:
			fieldError(w, "OriginalIdentifier", "The transaction was not approved and cannot be voided.")
			return
		case rec.Voided:
			fieldError(w, "OriginalIdentifier", "The transaction is already voided.")
			return
		case rec.BatchNumber != t.batch:
			// A void reverses a transaction of the open batch only; after
			// the batch is closed, a refund is the way back (notes §8.4).
			fieldError(w, "OriginalIdentifier", "The transaction's batch is closed; it can only be refunded.")
			return
		}
		rec.Voided = true
		vt := now.UTC().Format(time.RFC3339)
		rec.VoidTimestamp = &vt
		delete(s.usedSigs, orig.signature)
		id := epay.NumID(rec.ID)
		void.InitialTransaction = &id
		void.Result = intp(epay.ResultApproved)
		t.stan++
		void.TransactionId = fmt.Sprintf("075%06d%06d%s", t.batch, t.stan, randomDigits(6)) // a void gets a new id (notes §4.2)
	}
	s.addIntent(void)
	writeJSON(w, http.StatusOK, void.Intent)
}

// txnOf returns the host record of an intent (also for Result UNKNOWN,
// where the intent lost the link). Call with s.mu held.
func (s *Sim) txnOf(in *intent) *txn {
	for _, t := range s.txns {
		if t.intentID == string(in.ID) {
			return t
		}
	}
	return nil
}

func intp(v int) *int { return &v }

func (s *Sim) listIntents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.keyed(w, r)
	if !ok {
		return
	}
	s.advance()
	q := r.URL.Query()
	out := []epay.Intent{}
	from := s.intents
	if q.Has("CustomerReference") {
		from = s.byRef[q.Get("CustomerReference")]
	}
	for _, in := range from {
		if in.tid != t.TID ||
			q.Has("CustomerReference") && in.CustomerReference != q.Get("CustomerReference") ||
			q.Has("TransactionId") && in.TransactionId != q.Get("TransactionId") {
			continue
		}
		out = append(out, in.Intent)
	}
	page(s, w, r, out)
}

func (s *Sim) getIntent(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.keyed(w, r)
	if !ok {
		return
	}
	s.advance()
	for _, in := range s.intents {
		if in.tid == t.TID && string(in.ID) == r.PathValue("id") {
			writeJSON(w, http.StatusOK, in.Intent)
			return
		}
	}
	detail(w, http.StatusNotFound, "Not found.")
}

func (s *Sim) listTransactions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.keyed(w, r)
	if !ok {
		return
	}
	s.advance()
	q := r.URL.Query()
	var since, until time.Time
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"Timestamp_min", &since}, {"Timestamp_max", &until}} {
		if v := q.Get(f.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				fieldError(w, f.name, "Enter a valid date/time.")
				return
			}
			*f.dst = tm
		}
	}
	out := []epay.Transaction{}
	for _, x := range s.txns {
		if x.TID != t.TID || q.Has("TID") && q.Get("TID") != x.TID ||
			q.Has("RRN") && q.Get("RRN") != x.RRN ||
			!since.IsZero() && x.at.Before(since) || !until.IsZero() && x.at.After(until) {
			continue
		}
		out = append(out, x.Transaction)
	}
	page(s, w, r, out)
}
