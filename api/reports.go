package api

import (
	"mime"
	"net/http"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// dailyReport is the API's end-of-day object.
type dailyReport struct {
	Object   string      `json:"object"`
	Date     string      `json:"date"`
	TimeZone string      `json:"time_zone"`
	From     string      `json:"from"`
	To       string      `json:"to"`
	Rows     []reportRow `json:"rows"`
}

type reportRow struct {
	Terminal    *string `json:"terminal"`
	Connector   string  `json:"connector"`
	Currency    string  `json:"currency"`
	Count       int     `json:"count"`
	Gross       int64   `json:"gross"`
	RefundCount int     `json:"refund_count"`
	Refunds     int64   `json:"refunds"`
	Net         int64   `json:"net"`
}

func toDailyReport(d *engine.DailyReport) dailyReport {
	out := dailyReport{Object: "daily_report", Date: d.Date, TimeZone: d.TimeZone, From: timestamp(d.From), To: timestamp(d.To),
		Rows: make([]reportRow, 0, len(d.Rows))}
	for _, x := range d.Rows {
		out.Rows = append(out.Rows, reportRow{Terminal: nullable(x.Terminal), Connector: x.Connector, Currency: x.Currency,
			Count: x.Count, Gross: x.Gross, RefundCount: x.RefundCount, Refunds: x.Refunds, Net: x.Net})
	}
	return out
}

// dailyReport answers GET /v1/reports/daily?date=YYYY-MM-DD[&terminal=][&connector=]:
// JSON, or CSV for Accept: text/csv. A terminal key's report covers its
// terminals (or the one it names of them).
func (s *Server) dailyReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := engine.ReportRequest{Date: q.Get("date"), Connector: q.Get("connector")}
	if req.Date == "" {
		s.writeError(w, r, tender.Invalid("date", "date is required, as YYYY-MM-DD (a day in the merchant's time zone)"))
		return
	}
	if t := q.Get("terminal"); t != "" {
		req.Terminals = []string{t}
	}
	if c := callerOf(r); c.key.Scope == tender.ScopeTerminal {
		switch {
		case len(req.Terminals) == 0:
			req.Terminals = c.key.Terminals
		case !c.mayUseTerminal(req.Terminals[0]):
			s.writeError(w, r, tender.Invalid("terminal", "a terminal key reports only on its terminals; terminal %q is not one of them", req.Terminals[0]))
			return
		}
	}
	d, err := s.eng.DailyReport(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if wantsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="tender-`+d.Date+`.csv"`)
		engine.WriteReportCSV(w, *d)
		return
	}
	writeJSON(w, http.StatusOK, toDailyReport(d))
}

// wantsCSV says whether the Accept header asks for text/csv before JSON.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json", "*/*", "application/*":
			return false
		}
	}
	return false
}
