package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	tp "github.com/tenderpay/tender/trustpayments"
	tpsim "github.com/tenderpay/tender/trustpayments/sim"
)

// TestDailyReportThroughAPI takes payments on every provider's simulator
// through Tender's HTTP API (sales, declines, partial captures and
// refunds), then checks that GET /v1/reports/daily agrees with what the
// simulators' ledgers say moved, per connector, and that its CSV says the
// same as its JSON.
func TestDailyReportThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	m := p.mustCall("POST", "/v1/merchants/mer_default", `{"time_zone":"Europe/Athens"}`, 200)
	if m["time_zone"] != "Europe/Athens" {
		t.Fatalf("merchant %v", m)
	}
	if status, e := p.call("POST", "/v1/merchants/mer_default", `{"time_zone":"Mars/Olympus"}`); status != 400 || e["error"].(map[string]any)["param"] != "time_zone" {
		t.Fatalf("an unknown time zone: %d %v", status, e)
	}
	athens, _ := time.LoadLocation("Europe/Athens")
	day := time.Now().In(athens).Format(time.DateOnly)

	// Sepay: a sale and a decline (WECR has no refund).
	for i, amount := range []int{1000, 5151} {
		id := p.mustCall("POST", "/v1/payments", fmt.Sprintf(`{"amount":%d,"currency":"EUR","terminal":"sepay-term-%d"}`, amount, i+1), 201)["id"].(string)
		p.waitFor(id, 60*time.Second, map[int]string{1000: "captured", 5151: "failed"}[amount])
	}
	// ePay: a sale refunded in part, a pre-authorization captured in part.
	sale := p.mustCall("POST", "/v1/payments", epayBody(3000, 301), 201)["id"].(string)
	p.waitFor(sale, 60*time.Second, "captured")
	p.mustCall("POST", "/v1/payments/"+sale+"/refunds", `{"amount":1000}`, 200)
	pre := p.mustCall("POST", "/v1/payments", strings.Replace(epayBody(2500, 302), `"terminal"`, `"capture":"manual","terminal"`, 1), 201)["id"].(string)
	p.waitFor(pre, 60*time.Second, "authorized")
	p.mustCall("POST", "/v1/payments/"+pre+"/capture", `{"amount":2000}`, 200)
	// Computop (Wero): a sale refunded in part.
	created := p.mustCall("POST", "/v1/payments", `{"amount":2500,"currency":"EUR","connector":"computop",`+computopBilling+`}`, 201)
	wero := created["id"].(string)
	computopShopper(t, created["next_action"].(map[string]any)["url"].(string), "approve").Body.Close()
	p.waitFor(wero, 30*time.Second, "captured")
	p.mustCall("POST", "/v1/payments/"+wero+"/refunds", `{"amount":700}`, 200)
	// Trust Payments: a sale refunded in full, in GBP.
	card, jwt := trustCheckout(t, p, `{"amount":1050,"currency":"GBP","connector":"trustpayments"}`)
	trustPay(t, p, card, jwt, "4111111111111111", "").Body.Close()
	p.waitFor(card, 30*time.Second, "captured")
	p.mustCall("POST", "/v1/payments/"+card+"/refunds", `{}`, 200)

	type sums struct {
		count, refundCount int
		gross, refunds     int64
	}
	ledger := map[string]*sums{"sepay": {}, "epay": {}, "computop": {}, "trustpayments": {}}
	// Sepay's ledger: every charged transaction.
	var se []struct {
		Amount  int64 `json:"amount"`
		Charged bool  `json:"charged"`
	}
	getJSON(t, p.SimURL+"/sim/sepay/_sim/ledger", &se)
	for _, e := range se {
		if e.Charged {
			ledger["sepay"].count++
			ledger["sepay"].gross += e.Amount
		}
	}
	// ePay's host: approved sales and completions, refund transactions.
	var ee []struct {
		Amount, TipAmount int64
		Approved, Voided  bool
		TxnType           int
	}
	getJSON(t, p.SimURL+"/sim/epay/webecr/_sim/ledger", &ee)
	for _, e := range ee {
		s := ledger["epay"]
		if !e.Approved {
			continue
		}
		switch e.TxnType {
		case 0:
			s.count++
			s.gross += e.Amount + e.TipAmount
			if e.Voided {
				s.refundCount++
				s.refunds += e.Amount + e.TipAmount
			}
		case 3:
			s.count++
			s.gross += e.Amount
		case 1:
			s.refundCount++
			s.refunds += e.Amount
		}
	}
	// Paygate's inquiry: captured and credited.
	cl := computopClient(t, p)
	pay := p.mustCall("GET", "/v1/payments/"+wero, "", 200)
	r, err := cl.Inquire(context.Background(), pay["provider_reference"].(string), wero)
	if err != nil || !r.OK() {
		t.Fatalf("inquiry of %s: %+v %v", wero, r, err)
	}
	capt, _ := strconv.ParseInt(r.Params.Get("AmountCap"), 10, 64)
	cred, _ := strconv.ParseInt(r.Params.Get("AmountCred"), 10, 64)
	ledger["computop"].gross, ledger["computop"].refunds, ledger["computop"].count, ledger["computop"].refundCount = capt, cred, 1, 1
	// Trust Payments' Webservices: live AUTHs' settle amounts and REFUNDs.
	_, wsPassword := sandboxTrustKeys(t, p)
	ws := &tp.WSClient{URL: p.SimURL + "/sim/trustpayments/json/", Username: tpsim.SandboxWSUser, Password: wsPassword}
	records, err := ws.Query(context.Background(), map[string]string{"sitereference": tpsim.SandboxSite})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range records {
		if rec.Get("errorcode") != "0" {
			continue
		}
		s := ledger["trustpayments"]
		switch rec.Get("requesttypedescription") {
		case "AUTH":
			if rec.Get("settlestatus") != "3" {
				n, _ := strconv.ParseInt(rec.Get("settlebaseamount"), 10, 64)
				if n == 0 {
					n, _ = strconv.ParseInt(rec.Get("baseamount"), 10, 64)
				}
				s.count++
				s.gross += n
			}
		case "REFUND":
			n, _ := strconv.ParseInt(rec.Get("baseamount"), 10, 64)
			s.refundCount++
			s.refunds += n
		}
	}

	report := p.mustCall("GET", "/v1/reports/daily?date="+day, "", 200)
	if report["time_zone"] != "Europe/Athens" || report["date"] != day {
		t.Fatalf("report %v", report)
	}
	got := map[string]*sums{"sepay": {}, "epay": {}, "computop": {}, "trustpayments": {}}
	rows := report["rows"].([]any)
	for _, x := range rows {
		row := x.(map[string]any)
		s := got[row["connector"].(string)]
		s.count += int(row["count"].(float64))
		s.refundCount += int(row["refund_count"].(float64))
		s.gross += int64(row["gross"].(float64))
		s.refunds += int64(row["refunds"].(float64))
		if row["net"].(float64) != row["gross"].(float64)-row["refunds"].(float64) {
			t.Errorf("row %v: net is not gross - refunds", row)
		}
	}
	want := map[string]sums{ // what the flows above moved, as a check on the ledgers themselves
		"sepay": {1, 0, 1000, 0}, "epay": {2, 1, 5000, 1000}, "computop": {1, 1, 2500, 700}, "trustpayments": {1, 1, 1050, 1050}}
	for c, l := range ledger {
		if *l != want[c] {
			t.Errorf("%s's ledger: %+v, the flows moved %+v", c, *l, want[c])
		}
		if *got[c] != *l {
			t.Errorf("%s: the report says %+v, the provider's ledger %+v", c, *got[c], *l)
		}
	}

	// The same as CSV, line for line.
	req, _ := http.NewRequest("GET", p.URL+"/v1/reports/daily?date="+day, nil)
	req.Header.Set("Authorization", "Bearer "+p.Key)
	req.Header.Set("Accept", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != len(rows)+1 {
		t.Fatalf("CSV (%s): %v %v", res.Header.Get("Content-Type"), lines, err)
	}
	for i, x := range rows {
		row := x.(map[string]any)
		term, _ := row["terminal"].(string)
		wantLine := []string{day, "Europe/Athens", term, row["connector"].(string), row["currency"].(string)}
		for _, k := range []string{"count", "gross", "refund_count", "refunds", "net"} {
			wantLine = append(wantLine, strconv.FormatInt(int64(row[k].(float64)), 10))
		}
		if strings.Join(lines[i+1], ",") != strings.Join(wantLine, ",") {
			t.Errorf("CSV line %d: %v, JSON row %v", i+1, lines[i+1], wantLine)
		}
	}

	// Filters; the day before has nothing.
	if r := p.mustCall("GET", "/v1/reports/daily?date="+day+"&terminal=sepay-term-1", "", 200)["rows"].([]any); len(r) != 1 || r[0].(map[string]any)["gross"].(float64) != 1000 {
		t.Errorf("sepay-term-1's report: %v", r)
	}
	if r := p.mustCall("GET", "/v1/reports/daily?date="+day+"&connector=epay", "", 200)["rows"].([]any); len(r) != 1 || r[0].(map[string]any)["terminal"] != "epay-term-1" {
		t.Errorf("epay's report: %v", r)
	}
	before, _ := time.Parse(time.DateOnly, day)
	if r := p.mustCall("GET", "/v1/reports/daily?date="+before.AddDate(0, 0, -1).Format(time.DateOnly), "", 200)["rows"].([]any); len(r) != 0 {
		t.Errorf("the day before: %v", r)
	}
	if status, e := p.call("GET", "/v1/reports/daily?date=01-12-2026", ""); status != 400 || e["error"].(map[string]any)["param"] != "date" {
		t.Errorf("a malformed date: %d %v", status, e)
	}
	if time.Now().In(athens).Format(time.DateOnly) != day {
		t.Skip("the day ended in Athens while the test ran")
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
