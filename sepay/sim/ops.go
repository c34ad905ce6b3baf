package sim

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/sepay"
)

// echo copies the header fields of a request into a result.
func echo(m *sepay.Message) sepay.Values {
	v := sepay.Values{}
	for _, f := range []string{"key_index", "version", "login", "sid", "transactionref"} {
		if x, ok := m.Values[f]; ok {
			v[f] = strings.TrimSpace(x)
		}
	}
	if v["key_index"] == "" {
		v["key_index"] = "0"
	}
	return v
}

func withStatus(v sepay.Values, code, message string) sepay.Values {
	v["status"] = code
	if message != "" {
		v["message"] = message
	}
	return v
}

// validate runs steps 2–5 of the notes' validation order (§9.3) and returns
// a result to send when the request fails one of them.
func (s *Sim) validate(op *sepay.Operation, m *sepay.Message, v sepay.Values) sepay.Values {
	// 2. required fields.
	var missing []string
	for _, f := range []string{"version", "login", "sid", "transactionref"} {
		if strings.TrimSpace(m.Values[f]) == "" {
			missing = append(missing, f)
		}
	}
	if m.Signature == "" {
		missing = append(missing, "signature")
	}
	if op == sepay.StartTransaction && strings.TrimSpace(m.Values["amount"]) == "" {
		missing = append(missing, "amount")
	}
	if len(missing) > 0 {
		return withStatus(v, sepay.StatusMissing, strings.Join(missing, ", "))
	}
	// 3. version, login, key index.
	if strings.TrimSpace(m.Values["version"]) != sepay.ProtocolVersion {
		return withStatus(v, sepay.StatusInvalid, "Unsupported version")
	}
	l := s.logins[strings.TrimSpace(m.Values["login"])]
	if l == nil {
		return withStatus(v, sepay.StatusNotEnabled, "Unknown login")
	}
	idx, _ := strconv.Atoi(strings.TrimSpace(m.Values["key_index"]))
	pub := l.keys[idx]
	if pub == nil {
		return withStatus(v, sepay.StatusInvalid, "Unknown key_index")
	}
	// 4. signature over the canonical string of what was sent.
	s.stats.checked.Add(1)
	if err := sepay.VerifyMessage(pub, op.Request, m); err != nil {
		return withStatus(v, sepay.StatusBadSig, "")
	}
	// 5. the SID is this login's and enabled.
	sid := strings.TrimSpace(m.Values["sid"])
	if t := s.terminals[sid]; !l.sids[sid] || t == nil || !t.enabled {
		return withStatus(v, sepay.StatusNotEnabled, "")
	}
	return nil
}

func (s *Sim) start(w http.ResponseWriter, r *http.Request, m *sepay.Message) sepay.Values {
	v := echo(m)
	if x := m.Values["merchantref"]; x != "" {
		v["merchantref"] = x
	}
	v["amount"] = m.Values["amount"]
	key := strings.TrimSpace(m.Values["login"]) + "\x00" + strings.TrimSpace(m.Values["transactionref"])

	s.mu.Lock()
	s.advance()
	if bad := s.validate(sepay.StartTransaction, m, v); bad != nil {
		s.mu.Unlock()
		if bad["amount"] != "" {
			bad["amount"] = normalize(bad["amount"])
		}
		return bad
	}
	// "At most 2 decimals" (notes §9.3) is the value's: amount is an
	// xs:decimal, and 12.340 is 12.34, as sepay.ParseAmount reads it; a
	// fraction of a cent (12.345) is refused.
	cents, err := sepay.ParseAmount(m.Values["amount"])
	if err != nil || cents <= 0 {
		s.mu.Unlock()
		return withStatus(v, sepay.StatusInvalid, "Invalid amount")
	}
	v["amount"] = sepay.FormatAmount(cents)
	// Sandbox rule 61: the first request for a payment is dropped before
	// anything is done.
	if cents%100 == 61 && !s.dropped[key] {
		s.dropped[key] = true
		s.mu.Unlock()
		s.log.Info("dropping first request (rule 61)", "ref", m.Values["transactionref"])
		panic(http.ErrAbortHandler)
	}
	if s.txns[key] != nil {
		s.mu.Unlock()
		return withStatus(v, sepay.StatusDuplicate, "Duplicate request")
	}
	sid := v["sid"]
	t := s.terminals[sid]
	if t.open != nil {
		s.mu.Unlock()
		return withStatus(v, sepay.StatusPending, "Pending request for this terminal")
	}
	tx := &txn{
		key: key, login: v["login"], sid: sid, ref: v["transactionref"], keyIndex: v["key_index"],
		merchantRef: m.Values["merchantref"], cents: cents, callbackURL: strings.TrimSpace(m.Values["callbackurl"]),
		state: Queued, created: s.clock.Now(), outcome: outcomeFor(cents),
	}
	s.txns[key] = tx
	s.order = append(s.order, tx)
	t.open = tx
	s.notify()
	s.log.Info("transaction queued", "sid", sid, "ref", tx.ref, "amount", v["amount"])
	ip, port := t.ip, t.port
	s.mu.Unlock()

	if tx.outcome == outcomeNoAnswer {
		// Sandbox rule 55: the payment goes ahead, its answer never comes.
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		panic(http.ErrAbortHandler)
	}
	v = withStatus(v, sepay.StatusOK, "")
	v["terminalip"] = ip
	v["terminalport"] = strconv.Itoa(port)
	return v
}

func normalize(a string) string {
	c, err := sepay.ParseAmount(a)
	if err != nil {
		return "0.00"
	}
	return sepay.FormatAmount(c)
}

func (s *Sim) status(r *http.Request, m *sepay.Message) sepay.Values {
	v := echo(m)
	s.mu.Lock()
	s.advance()
	if bad := s.validate(sepay.GetTransactionStatus, m, v); bad != nil {
		s.mu.Unlock()
		return bad
	}
	tx := s.txns[v["login"]+"\x00"+v["transactionref"]]
	if tx == nil || tx.sid != v["sid"] {
		s.mu.Unlock()
		return withStatus(v, s.opts.UnknownRefStatus, "Unknown transaction")
	}
	// Long-poll: hold the answer while nothing changes, up to the timeout.
	wait, _ := strconv.Atoi(strings.TrimSpace(m.Values["timeout"]))
	if wait > 0 && !tx.state.final() {
		d := time.Duration(wait) * sepay.LongPollUnit
		if d > s.opts.LongPollMax {
			d = s.opts.LongPollMax
		}
		deadline := time.NewTimer(d)
		defer deadline.Stop()
		before := tx.state
		for tx.state == before {
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-ch:
			case <-time.After(s.opts.PollEvery):
			case <-deadline.C:
				s.mu.Lock()
				goto answer
			case <-r.Context().Done():
				return nil
			case <-s.closed:
				s.mu.Lock()
				goto answer
			}
			s.mu.Lock()
			s.advance()
		}
	}
answer:
	res := tx.result(v)
	if code, ok := s.answers[tx.key]; ok {
		delete(s.answers, tx.key)
		res["status"] = code
	}
	s.mu.Unlock()
	return res
}

func (s *Sim) cancel(m *sepay.Message) sepay.Values {
	v := echo(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	if bad := s.validate(sepay.CancelTransaction, m, v); bad != nil {
		return bad
	}
	tx := s.txns[v["login"]+"\x00"+v["transactionref"]]
	if tx == nil || tx.sid != v["sid"] {
		return withStatus(v, s.opts.UnknownRefStatus, "Unknown transaction")
	}
	switch tx.state {
	case Queued:
		s.finish(tx, Canceled, s.clock.Now(), "Canceled by the cash register")
		return withStatus(v, sepay.StatusOK, "")
	case InProgress:
		return withStatus(v, sepay.StatusInProgress, "Transaction already in progress, cannot be canceled anymore")
	case Canceled:
		return withStatus(v, sepay.StatusCanceled, tx.message)
	}
	if s.opts.CancelFinishedStatus == sepay.StatusOK {
		return withStatus(v, sepay.StatusOK, "already finished")
	}
	return withStatus(v, sepay.StatusFailed, "Transaction already finished")
}
