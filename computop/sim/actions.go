package sim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenderpay/tender/computop"
)

type actionKind int

const (
	kindCapture actionKind = iota
	kindReverse
	kindInquire
	kindCredit
)

func (k actionKind) spec() *computop.Spec {
	switch k {
	case kindCapture:
		return &computop.SpecCapture
	case kindReverse:
		return &computop.SpecReverse
	case kindCredit:
		return &computop.SpecCredit
	}
	return &computop.SpecInquire
}

func (k actionKind) String() string {
	return [...]string{"capture", "reverse", "inquire", "credit"}[k]
}

func inquiryMAC(ps computop.Params, mid string) []string {
	return []string{ps.Get("PayID"), ps.Get("TransID"), mid}
}

// action serves capture.aspx, reverse.aspx, inquire.aspx and credit.aspx
// (notes §7.4-7.6, §13).
func (s *Sim) action(w http.ResponseWriter, r *http.Request, kind actionKind) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	macf := requestMAC
	if kind == kindInquire {
		macf = inquiryMAC
	}
	req, f := s.decode(r, kind.spec(), macf)
	if f != nil {
		if req == nil || req.m == nil || req.ps == nil {
			// Before decryption: the fields in clear (notes §3.3, §12.9).
			mid := ""
			if req != nil {
				mid = req.outer
			}
			s.reply(w, "MID="+mid+"&Status=FAILED&Description="+f.desc+"&Code="+f.code)
			return
		}
		s.reply(w, s.seal(req.m, s.failure(req, f)))
		return
	}
	ps := req.ps
	s.mu.Lock()
	p := s.find(req.m, ps)
	s.mu.Unlock()
	if p != nil && s.drop(w, kind.String(), req.m.ID, p.TransID, p.Amount) {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	reqKey := ""
	if id := ps.Get("ReqId"); id != "" && kind != kindInquire {
		reqKey = req.m.ID + "|" + id
		if prev, ok := s.reqIDs[reqKey]; ok && !strings.HasPrefix(prev, "wero:") {
			s.reply(w, prev) // byte for byte, no side effects (seed, ReqId)
			return
		}
	}
	var out computop.Params
	switch {
	case p == nil:
		out = s.failure(req, &fault{code('2', computop.ModuleUnknown, rowOf(kind.spec(), "PayID")), "PAYMENT NOT FOUND"})
	case kind == kindInquire:
		out = s.inquire(p)
	default:
		out = s.change(req, p, kind)
	}
	body := s.seal(req.m, out)
	if reqKey != "" {
		s.reqIDs[reqKey] = body
	}
	if kind == kindCredit && out.Get("Code") == computop.CodeOK && creditAmount(ps)%100 == 55 {
		// Sandbox rule 55 for a credit: carried out, never answered.
		// Inquiry's AmountCred shows it; a retry with the ReqId gets the
		// stored answer.
		s.log.Info("sim computop: rule 55, credit carried out without an answer", "trans_id", p.TransID)
		s.mu.Unlock()
		defer s.mu.Lock() // the deferred Unlock above
		s.hangUp(w)
		return
	}
	s.reply(w, body)
}

// find returns the payment by PayID, or for an inquiry without PayID the
// latest with the TransID. Call with s.mu held.
func (s *Sim) find(m *merchant, ps computop.Params) *payment {
	if id := ps.Get("PayID"); id != "" {
		p := s.payments[id]
		if p == nil || p.MerchantID != m.ID {
			return nil
		}
		return p
	}
	list := s.byTrans[m.ID+"|"+ps.Get("TransID")]
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1]
}

func (s *Sim) failure(req *request, f *fault) computop.Params {
	var out computop.Params
	out.Add("mid", req.m.ID)
	out.AddIf("PayID", req.ps.Get("PayID"))
	out.Add("XID", newID())
	out.AddIf("TransID", req.ps.Get("TransID"))
	out.Add("Status", computop.StatusFailed)
	out.Add("Description", f.desc)
	out.Add("Code", f.code)
	return out
}

// change applies a capture or reversal. Call with s.mu held.
func (s *Sim) change(req *request, p *payment, kind actionKind) computop.Params {
	ps := req.ps
	spec := kind.spec()
	refuse := func(field, module, desc string) computop.Params {
		return s.failure(req, &fault{code('2', module, rowOf(spec, field)), desc})
	}
	amount, _ := strconv.ParseInt(ps.Get("Amount"), 10, 64)
	if ps.Get("Currency") != p.Currency {
		return refuse("Currency", computop.ModuleInvalid, "CURRENCY MISMATCH")
	}
	if !p.NotifyAcked {
		// "the first Notify must have been answered by the shop"
		return refuse("PayID", computop.ModuleInvalid, "NOTIFY NOT ANSWERED")
	}
	xid := newID()
	now := s.clock.Now()
	switch kind {
	case kindCapture:
		switch {
		case !p.ED:
			return refuse("PayID", computop.ModuleInvalid, "CAPTURE NOT ALLOWED")
		case p.State != StateAuthorized && p.State != StatePartiallyCaptured:
			return refuse("PayID", computop.ModuleInvalid, "INVALID STATE "+p.State)
		case now.After(p.AuthorizedAt.Add(computop.CaptureWindow)):
			return refuse("PayID", computop.ModuleExpired, "AUTHORIZATION EXPIRED")
		case amount <= 0 || amount > p.AmountAuth-p.AmountCap:
			return refuse("Amount", computop.ModuleInvalid, "AMOUNT EXCEEDS AUTHORIZATION")
		case !p.m.partial && (amount != p.AmountAuth || len(p.Captures) > 0):
			return refuse("Amount", computop.ModuleInvalid, "PARTIAL CAPTURE NOT ACTIVATED")
		}
		p.Captures = append(p.Captures, Capture{XID: xid, Amount: amount, ReqID: ps.Get("ReqId"), At: now})
		p.steps = append(p.steps, step{kind: "capture", xid: xid, amount: amount})
		p.AmountCap += amount
		p.State = StatePartiallyCaptured
		if p.AmountCap == p.AmountAuth {
			p.State = StateCaptured
		}
	case kindCredit:
		// notes §13: "credit only on a captured amount, total credits
		// never above it"; sandbox rule 51 declines the credit.
		switch {
		case p.State != StateCaptured && p.State != StatePartiallyCaptured:
			return refuse("PayID", computop.ModuleInvalid, "INVALID STATE "+p.State)
		case amount <= 0 || amount > p.AmountCap-p.AmountCred:
			return refuse("Amount", computop.ModuleInvalid, "AMOUNT EXCEEDS CAPTURE")
		case amount%100 == 51:
			return refuse("Amount", computop.ModuleInvalid, "CREDIT DECLINED")
		}
		p.Credits = append(p.Credits, Credit{XID: xid, Amount: amount, ReqID: ps.Get("ReqId"), At: now})
		p.steps = append(p.steps, step{kind: "credit", xid: xid, amount: amount})
		p.AmountCred += amount
	case kindReverse:
		// "Reverse.aspx reverses ... ALWAYS THE LAST TRANSACTION STEP".
		switch {
		case len(p.steps) > 0 && p.steps[len(p.steps)-1].kind == "credit":
			// A credit is sent at once (SEPA Instant, notes §13): it is
			// not reversed here.
			return refuse("PayID", computop.ModuleInvalid, "LAST STEP IS A CREDIT")
		case len(p.steps) > 0:
			last := p.steps[len(p.steps)-1]
			if amount != last.amount {
				return refuse("Amount", computop.ModuleInvalid, "AMOUNT DOES NOT MATCH LAST STEP")
			}
			p.steps = p.steps[:len(p.steps)-1]
			for i := range p.Captures {
				if p.Captures[i].XID == last.xid {
					p.Captures[i].Reversed = true
				}
			}
			p.AmountCap -= amount
			p.State = StatePartiallyCaptured
			if p.AmountCap == 0 {
				p.State = StateAuthorized
			}
		case p.State == StateAuthorized || (p.State == StateCaptured && !p.ED && p.AmountCred == 0):
			if amount != p.Amount {
				return refuse("Amount", computop.ModuleInvalid, "AMOUNT DOES NOT MATCH")
			}
			p.State, p.AmountAuth, p.AmountCap = StateCancelled, 0, 0
		default:
			return refuse("PayID", computop.ModuleInvalid, "INVALID STATE "+p.State)
		}
		p.Reversals++
	}
	var out computop.Params
	out.Add("mid", p.MerchantID)
	out.Add("PayID", p.PayID)
	out.Add("XID", xid)
	out.Add("TransID", ps.Get("TransID"))
	out.Add("Status", computop.StatusOK)
	out.Add("Description", "success")
	out.Add("Code", computop.CodeOK)
	out.AddIf("refnr", ps.Get("refnr"))
	return out
}

// inquire reports the payment (assumed shape, notes §7.6). Call with s.mu held.
func (s *Sim) inquire(p *payment) computop.Params {
	last := p.State
	switch p.State {
	case StatePartiallyCaptured:
		last = computop.LastCaptured
	case StateCancelled:
		last = computop.LastCanceled
	}
	var out computop.Params
	out.Add("mid", p.MerchantID)
	out.Add("PayID", p.PayID)
	out.Add("TransID", p.TransID)
	out.Add("Status", computop.StatusOK)
	out.Add("Description", "success")
	out.Add("Code", computop.CodeOK)
	out.Add("LastStatus", last)
	if p.State == StateFailed {
		out.Add("LastCode", p.Code)
	}
	out.Add("AmountAuth", strconv.FormatInt(p.AmountAuth, 10))
	out.Add("AmountCap", strconv.FormatInt(p.AmountCap, 10))
	out.Add("AmountCred", strconv.FormatInt(p.AmountCred, 10))
	out.Add("Currency", p.Currency)
	return out
}

func creditAmount(ps computop.Params) int64 {
	n, _ := strconv.ParseInt(ps.Get("Amount"), 10, 64)
	return n
}

func (s *Sim) seal(m *merchant, ps computop.Params) string {
	plain, _ := ps.Encode()
	n, data, _ := m.Cipher.EncryptPadded(plain, s.opts.Padding)
	return url.Values{"Len": {strconv.Itoa(n)}, "Data": {data}}.Encode()
}

func (s *Sim) reply(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(body))
}
