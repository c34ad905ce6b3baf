package api

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// maxCallbackBody limits what a provider may send to a callback.
const maxCallbackBody = 1 << 20

// callback passes an inbound provider request to its connector through the
// engine. Errors say nothing of why verification failed: that is logged.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	reply, err := s.eng.HandleCallback(r.Context(), r.PathValue("connector"), r.PathValue("account"), r.PathValue("path"), r, body)
	if err != nil {
		status, _ := errorStatus(err)
		if status < 500 {
			status = http.StatusBadRequest
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				status = http.StatusNotFound
			}
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	if reply.RedirectTo != "" {
		http.Redirect(w, r, reply.RedirectTo, http.StatusSeeOther)
		return
	}
	status := reply.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if reply.ContentType != "" {
		w.Header().Set("Content-Type", reply.ContentType)
	}
	w.WriteHeader(status)
	w.Write(reply.Body)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.W.Lang}}"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.W.Title}}{{if .Shop}} · {{.Shop}}{{end}}</title>
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<style>
body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;display:flex;justify-content:center;padding:3rem 1rem}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002;padding:2rem;max-width:26rem;width:100%;text-align:center;border-top:6px solid {{.Color}}}
.shop{display:flex;align-items:center;justify-content:center;gap:.6rem;font-weight:600;margin-bottom:1rem}.shop img{max-height:40px;max-width:160px}
.amount{font-size:2rem;font-weight:600;margin:.5rem 0}.status{font-weight:600}.ok{color:#137333}.bad{color:#b3261e}.wait{color:#8a5a00}
a.button{display:inline-block;margin-top:1rem;padding:.7rem 1.4rem;background:{{.Color}};color:#fff;border-radius:8px;text-decoration:none}
a.button:focus-visible{outline:3px solid #f5b400;outline-offset:2px}
small{color:#5f6368}
</style></head><body><main id="payment" data-status="{{.Status}}" data-lang="{{.W.Lang}}">
{{if or .Shop .Logo}}<div class="shop">{{if .Logo}}<img src="{{.Logo}}" alt="{{.Shop}}">{{end}}{{if .Shop}}<span id="shop">{{.Shop}}</span>{{end}}</div>{{end}}
<div>{{.Description}}</div>
<div class="amount" id="amount">{{.Amount}}</div>
<p class="status {{.Class}}" id="status" role="status">{{.Message}}</p>
{{if .Action}}<a class="button" id="continue" href="{{.Action}}">{{.W.Continue}}</a>{{end}}
{{if .Return}}<a class="button" id="return" href="{{.Return}}">{{.W.Back}}</a>{{end}}
<p><small>{{.W.PaymentID}} {{.ID}} · <span id="date">{{.Date}}</span></small></p>
</main></body></html>
`))

type pageData struct {
	W                                      words
	Description, Amount, Status, Class, ID string
	Message, Date, Shop                    string
	Logo, Action, Return                   template.URL
	Color                                  template.CSS
	Refresh                                string
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// paymentPage is the page a shopper sees: the hosted checkout while the
// payment waits for them (for connectors that have one), else the status,
// forwarding to the merchant's return URL once the outcome is known. It
// speaks the shopper's language (see pageLanguage) and wears the
// merchant's branding.
func (s *Server) paymentPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.eng.PagePayment(ctx, r.PathValue("id"))
	if err != nil {
		http.Error(w, "No such payment.", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	var m tender.Merchant
	if got, err := s.eng.PageMerchant(ctx, tender.MerchantOr(p.Merchant)); err == nil {
		m = *got
	}
	// metadata.locale is how a locale was given before the field; a
	// payment made since has it in Locale already (engine.paymentLocale).
	lang := pageLanguage(r, p.Locale, p.Metadata["locale"], m.DefaultLocale)
	if p.Status == tender.StatusRequiresAction {
		pctx := tender.WithShopperPage(tender.WithLocale(ctx, lang.Lang), s.shopperPage(p, lang.Lang, r.URL.Query().Get("cancel") == "failed"))
		ct, body, ok, err := s.eng.CheckoutPage(pctx, p)
		var scripts []string
		if err == nil && ok {
			scripts, err = s.eng.CheckoutScripts(ctx, p)
		}
		if err != nil {
			s.log.Error("checkout page", "payment", p.ID, "err", err)
			http.Error(w, "The checkout is not available right now.", http.StatusBadGateway)
			return
		}
		if ok {
			pageHeaders(w, scripts)
			w.Header().Set("Content-Type", ct)
			w.Write(body)
			return
		}
	}
	d := pageData{
		W: lang, ID: p.ID, Status: string(p.Status), Description: p.Description,
		Amount: lang.money(p.Amount, p.Currency), Date: lang.date(p.CreatedAt),
		Shop: m.Branding.DisplayName, Color: "#1d4ed8",
	}
	if hexColor.MatchString(m.Branding.Color) {
		d.Color = template.CSS(m.Branding.Color)
	}
	var imgs []string
	if u, err := url.Parse(m.Branding.LogoURL); err == nil && u.Scheme == "https" && u.Host != "" {
		d.Logo = template.URL(u.String())
		imgs = append(imgs, "https://"+u.Host)
	}
	returnURL := ""
	if p.ReturnURL != "" {
		returnURL = withQuery(p.ReturnURL, p)
	}
	switch p.Status {
	case tender.StatusCaptured, tender.StatusAuthorized, tender.StatusPartiallyCaptured, tender.StatusPartiallyRefunded, tender.StatusRefunded:
		d.Class, d.Message = "ok", lang.Success
	case tender.StatusFailed, tender.StatusCanceled:
		d.Class, d.Message = "bad", lang.Failed
		switch {
		case p.Failure != nil && p.Failure.Code == tender.FailExpired:
			d.Message = lang.Expired
		case p.Failure != nil && (p.Failure.Code == tender.FailDeclined || p.Failure.Code == tender.FailAuthentication || p.Failure.Code == tender.FailInvalid):
			// The shopper's words, never the provider's (which may name
			// its fields).
			d.Message = lang.FailedBecause + " " + failureText(lang.Lang, p.Failure)
		}
	case tender.StatusRequiresAction:
		d.Class, d.Message = "wait", lang.WaitingYou
		if p.NextAction != nil && p.NextAction.URL != "" && p.NextAction.URL != s.eng.PageURL(p.ID) {
			d.Action = template.URL(p.NextAction.URL)
		}
	default:
		d.Class, d.Message = "wait", lang.WaitingProvider
		d.Refresh = "2"
	}
	if p.Status.Settled() && returnURL != "" {
		d.Return = template.URL(returnURL)
		d.Refresh = "3;url=" + returnURL
	}
	pageHeaders(w, nil, imgs...)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTmpl.Execute(w, d)
}

// pageHeaders sets what every HTML page Tender serves sends: a
// Content-Security-Policy under which scripts run only from Tender itself
// and from scripts (the provider library's origin and the hashes of the
// page's inline scripts, tender.CheckoutScripter), and no page may frame
// it; the same for older browsers (X-Frame-Options); and no content
// sniffing. The provider library's origin may also open frames and
// connections (its card fields and gateway calls); 3-D Secure challenges
// come from issuers' hosts, hence https: for frames.
func pageHeaders(w http.ResponseWriter, scripts []string, imgs ...string) {
	var origins []string
	for _, s := range scripts {
		if !strings.HasPrefix(s, "'") {
			origins = append(origins, s)
		}
	}
	src := func(base string, extra []string) string {
		return strings.TrimSpace(base + " " + strings.Join(extra, " "))
	}
	csp := []string{
		"default-src 'self'",
		src("script-src 'self'", scripts),
		src("connect-src 'self' https:", origins),
		src("frame-src 'self' https:", origins),
		src("img-src 'self' data:", append(origins, imgs...)),
		src("style-src 'self' 'unsafe-inline'", origins),
		src("font-src 'self'", origins),
		"object-src 'none'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
	}
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Join(csp, "; "))
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
}

// withQuery adds the payment id and status to the merchant's return URL; the
// merchant must still ask the API before shipping anything.
func withQuery(raw string, p *tender.Payment) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("payment_id", p.ID)
	q.Set("status", string(p.Status))
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	check := s.ready
	if check == nil {
		check = s.eng.Store().Ping
	}
	if err := check(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "Tender payment API. See /v1/payments (Authorization: Bearer <key>), /healthz, /readyz, /metrics.\n")
}
