package engine

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	// Embedded zone data: a merchant's time zone must resolve the same on
	// a host without /usr/share/zoneinfo (a scratch container).
	_ "time/tzdata"

	"github.com/tenderpay/tender"
)

// timeZone resolves a merchant's time zone: an IANA name, "" for UTC.
func timeZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	// "Local" would be the server's zone, which differs between instances.
	if name == "Local" || len(name) > 64 {
		return nil, tender.Invalid("time_zone", "time_zone must be an IANA time zone name such as Europe/Athens or UTC")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, tender.Invalid("time_zone", "time_zone %q is not an IANA time zone name (such as Europe/Athens or UTC)", name)
	}
	return loc, nil
}

// TimeZoneName is the zone a merchant's days are counted in, by name: its
// own, or UTC.
func TimeZoneName(name string) string {
	if name == "" {
		return "UTC"
	}
	return name
}

// What the end of day counts: a sale when its money is captured (a
// one-step sale when it becomes captured; an authorization at each capture,
// partial ones each), a refund when the provider confirmed it (a void is a
// refund of the whole sale). Nothing else moves money.
var moneyEventTypes = []string{EvCaptured, EvCaptureDone, EvRefundDone}

// EvCaptured is the event of a payment becoming captured.
const EvCaptured = "payment.captured"

// Today is the merchant's date now, in its time zone (YYYY-MM-DD).
func (e *Engine) Today(ctx context.Context) (string, error) {
	m, err := e.store.GetMerchant(ctx, tender.MerchantFrom(ctx))
	if err != nil {
		return "", err
	}
	loc, err := timeZone(m.TimeZone)
	if err != nil {
		return "", err
	}
	return e.clock.Now().In(loc).Format(time.DateOnly), nil
}

// ReportRequest asks for end-of-day totals.
type ReportRequest struct {
	Date      string // YYYY-MM-DD, a day in the merchant's time zone
	Days      int    // how many days from Date (default 1, at most 31)
	Terminals []string
	Connector string
}

// DailyReport is one day's totals of one merchant.
type DailyReport struct {
	Date     string // YYYY-MM-DD
	TimeZone string // the merchant's, by name
	From, To time.Time
	Rows     []ReportRow
}

// ReportRow is what moved on one terminal ("" for online payments) of one
// connector in one currency within a day.
type ReportRow struct {
	Terminal, Connector, Currency string
	Count                         int   // sales: captures (a one-step sale is one)
	Gross                         int64 // what those captures took, tips included
	RefundCount                   int   // refunds (and voids) confirmed by the provider
	Refunds                       int64 // what those returned
	Net                           int64 // Gross - Refunds
}

// Net sums the rows' net in currency.
func (d *DailyReport) Net(currency string) int64 {
	var n int64
	for _, r := range d.Rows {
		if r.Currency == currency {
			n += r.Net
		}
	}
	return n
}

// Reports returns the merchant's end-of-day totals for r.Days days from
// r.Date, each day midnight to midnight in the merchant's time zone (a day
// of a daylight saving change lasts 23 or 25 hours). An event counts on
// the day Tender recorded it.
func (e *Engine) Reports(ctx context.Context, r ReportRequest) ([]DailyReport, error) {
	if r.Days == 0 {
		r.Days = 1
	}
	if r.Days < 1 || r.Days > 31 {
		return nil, tender.Invalid("days", "days must be between 1 and 31")
	}
	m, err := e.store.GetMerchant(ctx, tender.MerchantFrom(ctx))
	if err != nil {
		return nil, err
	}
	loc, err := timeZone(m.TimeZone)
	if err != nil {
		return nil, tender.Errorf(tender.EInternal, "merchant %s has an unknown time zone %q", m.ID, m.TimeZone)
	}
	day, err := time.ParseInLocation(time.DateOnly, r.Date, loc)
	if err != nil {
		return nil, tender.Invalid("date", "date must be a day as YYYY-MM-DD")
	}
	if r.Connector != "" {
		if _, err := e.connector(r.Connector); err != nil {
			return nil, err
		}
	}
	reports := make([]DailyReport, r.Days)
	for i := range reports {
		d := day.AddDate(0, 0, i)
		reports[i] = DailyReport{Date: d.Format(time.DateOnly), TimeZone: TimeZoneName(m.TimeZone), From: d, To: d.AddDate(0, 0, 1)}
	}
	evs, err := e.store.ListMoneyEvents(ctx, tender.MoneyFilter{Merchant: m.ID, Types: moneyEventTypes,
		From: reports[0].From, To: reports[len(reports)-1].To, Terminals: r.Terminals, Connector: r.Connector})
	if err != nil {
		return nil, err
	}
	type key struct {
		day                           int
		terminal, connector, currency string
	}
	rows := map[key]*ReportRow{}
	for _, ev := range evs {
		i := slices.IndexFunc(reports, func(d DailyReport) bool { return !ev.CreatedAt.Before(d.From) && ev.CreatedAt.Before(d.To) })
		if i < 0 {
			continue
		}
		sale, refund := moneyOf(ev)
		if sale == 0 && refund == 0 {
			continue
		}
		k := key{i, ev.Terminal, ev.Connector, ev.Currency}
		row := rows[k]
		if row == nil {
			row = &ReportRow{Terminal: ev.Terminal, Connector: ev.Connector, Currency: ev.Currency}
			rows[k] = row
		}
		if sale > 0 {
			row.Count++
			row.Gross += sale
		}
		if refund > 0 {
			row.RefundCount++
			row.Refunds += refund
		}
		row.Net = row.Gross - row.Refunds
	}
	for k, row := range rows {
		reports[k.day].Rows = append(reports[k.day].Rows, *row)
	}
	for i := range reports {
		slices.SortFunc(reports[i].Rows, func(a, b ReportRow) int {
			return strings.Compare(a.Terminal+"\x00"+a.Connector+"\x00"+a.Currency, b.Terminal+"\x00"+b.Connector+"\x00"+b.Currency)
		})
	}
	return reports, nil
}

// DailyReport returns one day's totals (see Reports).
func (e *Engine) DailyReport(ctx context.Context, r ReportRequest) (*DailyReport, error) {
	r.Days = 1
	list, err := e.Reports(ctx, r)
	if err != nil {
		return nil, err
	}
	return &list[0], nil
}

// moneyOf reads what one money event took (sale) or gave back (refund).
func moneyOf(ev tender.MoneyEvent) (sale, refund int64) {
	var d struct {
		Source         string `json:"source"`
		Amount         int64  `json:"amount"`
		CapturedAmount *int64 `json:"captured_amount"`
	}
	if json.Unmarshal(ev.Data, &d) != nil {
		return 0, 0
	}
	switch ev.Type {
	case EvCaptureDone:
		return d.Amount, 0
	case EvRefundDone:
		return 0, d.Amount
	case EvCaptured:
		// A capture or refund operation's own status change: its amount
		// is in the capture_succeeded or refund_succeeded event beside it.
		if d.Source == string(tender.OpCapture) || d.Source == string(tender.OpRefund) {
			return 0, 0
		}
		// A one-step sale. Events written before they carried the
		// amount fall back to what the payment holds now.
		if d.CapturedAmount != nil {
			return *d.CapturedAmount, 0
		}
		return ev.Captured, 0
	}
	return 0, 0
}

// ReportCSVHeader is the first line of a report as CSV.
var ReportCSVHeader = []string{"date", "time_zone", "terminal", "connector", "currency", "count", "gross", "refund_count", "refunds", "net"}

// WriteReportCSV writes reports as CSV, one line per row, amounts in minor
// units as in the JSON.
func WriteReportCSV(w io.Writer, reports ...DailyReport) error {
	cw := csv.NewWriter(w)
	cw.Write(ReportCSVHeader)
	for _, d := range reports {
		for _, x := range d.Rows {
			cw.Write([]string{d.Date, d.TimeZone, x.Terminal, x.Connector, x.Currency, strconv.Itoa(x.Count),
				strconv.FormatInt(x.Gross, 10), strconv.Itoa(x.RefundCount), strconv.FormatInt(x.Refunds, 10), strconv.FormatInt(x.Net, 10)})
		}
	}
	cw.Flush()
	return cw.Error()
}
