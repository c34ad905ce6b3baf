package sim

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender/computop"
)

func requestMAC(ps computop.Params, mid string) []string {
	return []string{ps.Get("PayID"), ps.Get("TransID"), mid, ps.Get("Amount"), ps.Get("Currency")}
}

// wero serves WERO.aspx: a new request (GET or POST with MerchantID, Len,
// Data) shows the shopper page; a POST with action=approve|decline decides.
func (s *Sim) wero(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Method == http.MethodPost {
		r.ParseForm()
		if a := r.PostForm.Get("action"); a != "" {
			s.decide(w, r, a)
			return
		}
	}
	req, f := s.decode(r, &computop.SpecWero, requestMAC)
	if f == nil {
		f = s.checkURLs(req.ps)
	}
	if f != nil {
		s.log.Info("sim computop: WERO.aspx refused", "code", f.code, "description", f.desc)
		s.page(w, http.StatusBadRequest, errorPage, map[string]string{"Code": f.code, "Description": f.desc})
		return
	}
	ps := req.ps
	amount, _ := strconv.ParseInt(ps.Get("Amount"), 10, 64)
	if s.drop(w, "wero", req.m.ID, ps.Get("TransID"), amount) {
		return
	}
	p, replay := s.openPayment(req.m, ps, amount)
	if replay != "" {
		http.Redirect(w, r, replay, http.StatusSeeOther)
		return
	}
	s.page(w, http.StatusOK, shopperPage, map[string]string{
		"MerchantID": req.m.ID, "PayID": p.PayID, "TransID": p.TransID,
		"Amount": computopAmount(p.Amount, p.Currency), "ED": fmt.Sprint(p.ED),
		"OrderDesc": ps.Get("OrderDesc"),
	})
}

// checkURLs enforces "Complete URL ... only via port 443 ... may not contain
// parameters" (seed, URLSuccess).
func (s *Sim) checkURLs(ps computop.Params) *fault {
	for _, k := range []string{"URLSuccess", "URLFailure", "URLNotify"} {
		u, err := url.Parse(ps.Get(k))
		ok := err == nil && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
		if ok && !s.opts.AllowHTTP {
			ok = u.Scheme == "https" && (u.Port() == "" || u.Port() == "443")
		}
		if ok && s.opts.AllowHTTP {
			ok = u.Scheme == "https" || u.Scheme == "http"
		}
		if !ok {
			return &fault{code('2', computop.ModuleInvalid, rowOf(&computop.SpecWero, k)), "INVALID " + strings.ToUpper(k)}
		}
	}
	return nil
}

// openPayment creates the payment, or returns the open one of a repeated
// request (same ReqId), or, for a ReqId whose payment is final, the URL to
// replay its result to instead of a new payment (seed, ReqId).
func (s *Sim) openPayment(m *merchant, ps computop.Params, amount int64) (*payment, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reqID := ps.Get("ReqId")
	if reqID != "" {
		if v, ok := s.reqIDs[m.ID+"|"+reqID]; ok && strings.HasPrefix(v, "wero:") {
			if p := s.payments[strings.TrimPrefix(v, "wero:")]; p != nil {
				if p.result == "" {
					return p, "" // open: show the same page again
				}
				if !p.Silent {
					return p, s.returnURL(p)
				}
				return p, ""
			}
		}
	}
	p := &payment{m: m, Entry: Entry{
		PayID: newID(), TransID: ps.Get("TransID"), MerchantID: m.ID, Amount: amount,
		Currency: ps.Get("Currency"), ED: strings.EqualFold(ps.Get("PayType"), "ED"), ReqID: reqID,
		State: StatePending, CreatedAt: s.clock.Now(),
	}, urlSuccess: ps.Get("URLSuccess"), urlFailure: ps.Get("URLFailure"), urlNotify: ps.Get("URLNotify"),
		encrypt: strings.EqualFold(ps.Get("Response"), "encrypt"), userData: ps.Get("UserData"),
		refnr: ps.Get("refnr"), custom: ps.Get("Custom"), plain: ps.Get("Plain")}
	s.payments[p.PayID] = p
	key := m.ID + "|" + p.TransID
	s.byTrans[key] = append(s.byTrans[key], p)
	s.order = append(s.order, p)
	if reqID != "" {
		s.reqIDs[m.ID+"|"+reqID] = "wero:" + p.PayID
	}
	return p, ""
}

// decide applies the shopper's choice and the sandbox outcome rules.
func (s *Sim) decide(w http.ResponseWriter, r *http.Request, action string) {
	s.mu.Lock()
	p := s.payments[r.PostForm.Get("PayID")]
	if p == nil || p.MerchantID != r.PostForm.Get("MerchantID") || (action != "approve" && action != "decline") {
		s.mu.Unlock()
		s.page(w, http.StatusBadRequest, errorPage, map[string]string{"Code": code('2', computop.ModuleUnknown, 1), "Description": "UNKNOWN PAYMENT"})
		return
	}
	if p.result != "" || p.Silent {
		s.mu.Unlock()
		s.page(w, http.StatusConflict, errorPage, map[string]string{"Code": code('2', computop.ModuleInvalid, 1), "Description": "PAYMENT ALREADY DECIDED"})
		return
	}
	now := s.clock.Now()
	p.XID = newID()
	status, c, desc := computop.StatusFailed, computop.CodeCanceledByShopper, "CANCELED BY SHOPPER"
	if action == "approve" {
		switch p.Amount % 100 {
		case 51:
			c, desc = computop.CodeDeclined, "REJECTED"
		case 54:
			// canceled by the shopper, as above
		default:
			status, c, desc = computop.StatusOK, computop.CodeOK, "success"
			if p.ED {
				status = computop.StatusAuthorizeRequest
			}
		}
	}
	p.Code = c
	if c == computop.CodeOK {
		p.State, p.AmountAuth, p.AuthorizedAt = StateAuthorized, p.Amount, now
		if !p.ED {
			p.State, p.AmountCap = StateCaptured, p.Amount
		}
	} else {
		p.State = StateFailed
	}
	if action == "approve" && p.Amount%100 == 55 {
		// Rule 55: the payment is done, its result never delivered.
		p.Silent = true
		s.mu.Unlock()
		s.log.Info("sim computop: rule 55, result withheld", "pay_id", p.PayID)
		s.page(w, http.StatusOK, waitPage, nil)
		return
	}
	p.result = s.resultPlain(p, status, c, desc)
	s.mu.Unlock()

	s.deliverNotify(r.Context(), p)
	s.mu.Lock()
	to := s.returnURL(p)
	s.mu.Unlock()
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// resultPlain builds the result parameter string (notes §4.2, §7.3).
func (s *Sim) resultPlain(p *payment, status, c, desc string) string {
	var ps computop.Params
	ps.Add("mid", p.MerchantID)
	ps.Add("PayID", p.PayID)
	ps.Add("XID", p.XID)
	ps.Add("TransID", p.TransID)
	ps.AddIf("refnr", p.refnr)
	ps.Add("Status", status)
	ps.Add("Description", desc)
	ps.Add("Code", c)
	ps.Add("MAC", computop.ResultMAC(p.m.HMACKey, p.PayID, p.TransID, p.MerchantID, status, c))
	ps.AddIf("UserData", p.userData)
	ps.Add("TransactionId", strings.ToUpper(p.XID[:20]))
	plain, _ := ps.Encode()
	return plain
}

// sealed returns Len and Data of the payment result plus the clear Custom
// pairs and Plain.
func (s *Sim) sealed(p *payment) url.Values {
	n, data, _ := p.m.Cipher.EncryptPadded(p.result, s.opts.Padding)
	vs := url.Values{"Len": {strconv.Itoa(n)}, "Data": {data}}
	s.addOuter(p, vs)
	return vs
}

func (s *Sim) addOuter(p *payment, vs url.Values) {
	for _, kv := range computop.CustomPairs(p.custom) {
		vs.Add(kv.Key, kv.Value)
	}
	if p.plain != "" {
		vs.Set("Plain", p.plain)
	}
}

// returnURL is where the browser goes: URLSuccess for OK/AUTHORIZE_REQUEST,
// URLFailure for FAILED, with Len and Data (or the fields in clear without
// Response=encrypt). Call with s.mu held.
func (s *Sim) returnURL(p *payment) string {
	base := p.urlFailure
	if p.Code == computop.CodeOK {
		base = p.urlSuccess
	}
	var vs url.Values
	if p.encrypt {
		vs = s.sealed(p)
	} else {
		vs = url.Values{}
		ps, _ := computop.ParseParams(p.result)
		for _, kv := range ps {
			vs.Add(kv.Key, kv.Value)
		}
		s.addOuter(p, vs)
	}
	return base + "?" + vs.Encode()
}

// deliverNotify POSTs the encrypted result to URLNotify; on failure it
// retries in the background on the n³ schedule (notes §3.2).
func (s *Sim) deliverNotify(ctx context.Context, p *payment) {
	if s.notifyOnce(ctx, p) {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for n := 1; n <= 8; n++ {
			select {
			case <-s.done:
				return
			case <-time.After(time.Duration(n*n*n) * s.opts.RetryUnit):
			}
			if s.notifyOnce(context.Background(), p) {
				return
			}
		}
	}()
}

func (s *Sim) notifyOnce(ctx context.Context, p *payment) bool {
	s.mu.Lock()
	body := s.sealed(p).Encode()
	p.NotifyAttempts++
	target := p.urlNotify
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=iso-8859-1")
	resp, err := s.hc.Do(req)
	if err != nil {
		s.log.Info("sim computop: notify failed", "pay_id", p.PayID, "err", err)
		return false
	}
	resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok {
		s.mu.Lock()
		p.NotifyAcked = true
		s.mu.Unlock()
	} else {
		s.log.Info("sim computop: notify refused", "pay_id", p.PayID, "status", resp.StatusCode)
	}
	return ok
}

// Notify delivers the payment's result to URLNotify again, as a retry or a
// duplicate would (for tests); it reports whether it was acknowledged.
func (s *Sim) Notify(payID string) bool {
	s.mu.Lock()
	p := s.payments[payID]
	s.mu.Unlock()
	if p == nil || p.result == "" {
		return false
	}
	return s.notifyOnce(context.Background(), p)
}

// ResultData returns the encrypted result fields (Len, Data) of a decided
// payment, as the browser and URLNotify received them (for tests).
func (s *Sim) ResultData(payID string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[payID]
	if p == nil || p.result == "" {
		return nil
	}
	return s.sealed(p)
}

func computopAmount(v int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", v/100, v%100, currency)
}

func (s *Sim) page(w http.ResponseWriter, status int, t *template.Template, data map[string]string) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

var shopperPage = template.Must(template.New("shopper").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wero – Paygate simulator</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}button{font-size:1.1em;margin:.5em}</style></head>
<body><h1>Pay with Wero</h1>
<p>Simulated Computop Paygate. Open your banking app… or decide here.</p>
<p>Merchant <b>{{.MerchantID}}</b>, order <b>{{.TransID}}</b>{{if .OrderDesc}} ({{.OrderDesc}}){{end}}</p>
<p>Amount <b id="amount">{{.Amount}}</b>{{if eq .ED "true"}} (authorization, captured later){{end}}</p>
<form method="post" action="WERO.aspx">
<input type="hidden" name="MerchantID" value="{{.MerchantID}}">
<input type="hidden" name="PayID" value="{{.PayID}}">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="decline">Decline</button>
</form>
<p><small>Sandbox: amounts ending in 51 are declined, 54 canceled, 55 approved without an answer, 61 lose the first connection.</small></p>
</body></html>`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Paygate error</title></head>
<body><h1>Payment request refused</h1>
<p>Code=<span id="code">{{.Code}}</span></p><p>Description=<span id="description">{{.Description}}</span></p>
</body></html>`))

var waitPage = template.Must(template.New("wait").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wero</title></head>
<body><h1>Waiting for your bank…</h1><p>You may close this window.</p></body></html>`))
