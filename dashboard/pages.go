package dashboard

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

var funcs = template.FuncMap{
	"money": func(v int64, currency string) string { return tender.FormatMinor(v, currency) + " " + currency },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"label": func(s tender.Status) string { return strings.ReplaceAll(string(s), "_", " ") },
	"ok":    func(code int) bool { return code >= 200 && code < 300 },
}

type attentionItem struct {
	P     *tender.Payment
	Why   string
	Doing string
}

// attention lists what a person may need to look at: payments in doubt,
// operations in doubt and discrepancies, with what Tender does about each.
func (s *Server) attention(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var items []attentionItem
	seen := map[string]bool{}
	add := func(p *tender.Payment, why, doing string) {
		if !seen[p.ID] {
			seen[p.ID] = true
			items = append(items, attentionItem{p, why, doing})
		}
	}
	next := func(p *tender.Payment) string {
		if p.NextCheckAt.IsZero() {
			return "No check is scheduled."
		}
		return fmt.Sprintf("Asking the provider again at %s (check %d so far).", funcs["when"].(func(time.Time) string)(p.NextCheckAt), p.CheckCount)
	}
	disc, _, err := s.eng.ListPayments(ctx, tender.PaymentFilter{Discrepancy: true, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, p := range disc {
		add(p, "Discrepancy: "+p.Discrepancy, "Tender has stopped resolving it by itself: a person must settle it with the provider. "+next(p))
	}
	unknown, _, err := s.eng.ListPayments(ctx, tender.PaymentFilter{Status: tender.StatusUnknown, Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, p := range unknown {
		add(p, "Outcome unknown: the provider's answer was lost.", next(p))
	}
	// An operation in doubt leaves a settled payment with a check due.
	recent, _, err := s.eng.ListPayments(ctx, tender.PaymentFilter{Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, p := range recent {
		if seen[p.ID] || p.NextCheckAt.IsZero() || !p.Status.Settled() {
			continue
		}
		events, err := s.eng.ListEvents(ctx, p.ID)
		if err != nil {
			continue
		}
		if op := openInDoubt(events); op != "" {
			add(p, "A "+op+" is in doubt: its answer was lost.", next(p))
		}
	}
	s.render(w, r, http.StatusOK, "attention.html", page{Title: "Needs attention", Nav: "attention", Data: items})
}

// openInDoubt returns the kind of the last operation in doubt among events
// that no later event of its kind settled, or "".
func openInDoubt(events []tender.Event) string {
	kind := ""
	for _, e := range events {
		switch e.Type {
		case engine.EvOpInDoubt:
			kind = "operation"
			for _, k := range []string{"capture", "refund", "cancel"} {
				if strings.Contains(string(e.Data), `"kind":"`+k) {
					kind = k
				}
			}
		case engine.EvCaptureDone, engine.EvCaptureFailed, engine.EvRefundDone, engine.EvRefundFailed, engine.EvCancelDone, engine.EvCancelFailed:
			kind = ""
		}
	}
	return kind
}

type terminalView struct {
	T  *tender.Terminal
	St engine.TerminalState
}

type terminalsData struct {
	Accounts  []*tender.Account
	Terminals []terminalView
}

func (s *Server) terminals(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	accts, _, err := s.eng.ListAccounts(ctx, tender.ListFilter{Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	terms, _, err := s.eng.ListTerminals(ctx, tender.ListFilter{Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sts, err := s.eng.TerminalStates(ctx, terms)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := terminalsData{Accounts: accts}
	for i, t := range terms {
		d.Terminals = append(d.Terminals, terminalView{T: t, St: sts[i]})
	}
	s.render(w, r, http.StatusOK, "terminals.html", page{Title: "Terminals and accounts", Nav: "terminals", Data: d})
}

type endpointView struct {
	E          *tender.WebhookEndpoint
	Deliveries []*tender.WebhookDelivery
}

func (s *Server) webhooks(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	eps, _, err := s.eng.ListWebhookEndpoints(ctx, tender.ListFilter{Limit: 100})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var d []endpointView
	for _, e := range eps {
		ds, _, err := s.eng.ListWebhookDeliveries(ctx, tender.DeliveryFilter{EndpointID: e.ID, Limit: 20})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d = append(d, endpointView{E: e, Deliveries: ds})
	}
	s.render(w, r, http.StatusOK, "webhooks.html", page{Title: "Webhooks", Nav: "webhooks", Data: d})
}

// redeliver sends a finished webhook delivery once more.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if _, err := s.eng.RetryWebhookDelivery(r.Context(), r.PathValue("endpoint"), id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard/webhooks", http.StatusSeeOther)
}

type reportsData struct {
	Day      string
	TimeZone string
	Rows     []engine.ReportRow
	Currency string
	Bars     []Bar
}

// reports shows a day's end-of-day totals per terminal, connector and
// currency, and the net of the 30 days up to it; both, and the CSV, come
// from the engine's one end-of-day computation (engine.Reports).
func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	day := r.URL.Query().Get("day")
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		day = ""
	}
	if day == "" {
		var err error
		if day, err = s.eng.Today(ctx); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	t, _ := time.Parse(time.DateOnly, day)
	month, err := s.eng.Reports(ctx, engine.ReportRequest{Date: t.AddDate(0, 0, -29).Format(time.DateOnly), Days: 30})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	today := month[len(month)-1]
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="tender-`+day+`.csv"`)
		engine.WriteReportCSV(w, today)
		return
	}
	d := reportsData{Day: day, TimeZone: today.TimeZone, Rows: today.Rows}
	d.Currency, d.Bars = chart(month)
	s.render(w, r, http.StatusOK, "reports.html", page{Title: "Reports", Nav: "reports", Data: d})
}

// Bar is one day of the 30-day chart, drawn in SVG on the server.
type Bar struct {
	Day        string
	Net        int64
	X, Y, H, W int
}

// chart draws the net of each day of days (30 of them) in the currency
// with the most net, as bars 600 by 120 units.
func chart(days []engine.DailyReport) (string, []Bar) {
	byCur := map[string]int64{}
	for _, d := range days {
		for _, r := range d.Rows {
			byCur[r.Currency] += r.Net
		}
	}
	cur := ""
	for c, v := range byCur {
		if cur == "" || v > byCur[cur] || v == byCur[cur] && c < cur {
			cur = c
		}
	}
	var top int64 = 1
	for _, d := range days {
		top = max(top, d.Net(cur))
	}
	bars := make([]Bar, len(days))
	for i, d := range days {
		v := d.Net(cur)
		h := int(max(v, 0) * 110 / top)
		bars[i] = Bar{Day: d.Date, Net: v, X: i * 20, W: 16, H: h, Y: 120 - h}
	}
	return cur, bars
}
