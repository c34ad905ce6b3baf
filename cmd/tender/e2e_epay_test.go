package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func epayBody(amount int64, number int) string {
	net := amount * 100 / 124
	vat := amount - net
	return fmt.Sprintf(`{"amount":%d,"currency":"EUR","terminal":"epay-term-1","invoice":{"issuer_vat":"EL123456789","date":"2026-11-22","branch":0,"type":"11.1","series":"A","number":"%d","net_amount":%d,"vat_amount":%d,"total_amount":%d}}`,
		amount, number, net, vat, amount)
}

// TestEpayThroughAPI takes Greek terminal payments through Tender's HTTP API
// against the ePay and Impact simulators over HTTP.
func TestEpayThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	tests := []struct {
		amount  int64
		want    string
		failure string
	}{
		{1240, "captured", ""},
		{5151, "failed", "declined"},
		{5154, "canceled", ""},
		{5155, "captured", ""}, // never answered: unknown, then reconciled from the intent
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(tt.amount), func(t *testing.T) {
			created := p.mustCall("POST", "/v1/payments", epayBody(tt.amount, 100+i), 201, "Idempotency-Key", fmt.Sprint("epay-", tt.amount))
			id := created["id"].(string)
			got := p.waitFor(id, 60*time.Second, tt.want)
			if tt.want == "captured" {
				d := got["details"].(map[string]any)
				for _, k := range []string{"auth_code", "rrn", "masked_pan"} {
					if d[k] == nil || d[k] == "" {
						t.Errorf("captured payment lacks details.%s: %v", k, d)
					}
				}
				// The myDATA block is an object, ready for the invoice.
				m, _ := d["mydata"].(map[string]any)
				sig, _ := m["providers_signature"].(map[string]any)
				txID, _ := m["transaction_id"].(string)
				if m["type"] != float64(7) || len(txID) != 21 || m["tid"] == "" || m["pos_input"] == "" ||
					sig["signature"] == "" || sig["signing_author"] == "" || d["mydata_tid"] != nil {
					t.Errorf("captured payment's details.mydata: %v", d)
				}
				if got["captured_amount"].(float64) != float64(tt.amount) {
					t.Errorf("captured_amount %v", got["captured_amount"])
				}
			}
			if tt.failure != "" && got["failure"].(map[string]any)["code"] != tt.failure {
				t.Errorf("failure %v, want %s", got["failure"], tt.failure)
			}
		})
	}
	// An invoice that does not add up is refused before anything is sent.
	status, m := p.call("POST", "/v1/payments", `{"amount":1240,"currency":"EUR","terminal":"epay-term-1","invoice":{"issuer_vat":"EL123456789","date":"2026-11-22","branch":0,"type":"11.1","series":"A","number":"9","net_amount":1000,"vat_amount":200,"total_amount":1240}}`)
	if status != 400 {
		t.Fatalf("inconsistent invoice: %d %v", status, m)
	}
}

// TestEpayFollowUpsThroughAPI drives ePay's follow-up transactions through
// Tender's HTTP API against the simulators: a tip the POS asks for, partial
// and later refunds (refund transactions linked to the sale) with the
// credit note's transaction id in details, capture "manual" as a
// pre-authorization and its completion, a refund in doubt (sandbox rule 55
// on the refund's amount) reconciled from the host record, receipts for
// every outcome; then the simulator's ledger, read over HTTP, agrees with
// Tender's records.
func TestEpayFollowUpsThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	// A tip asked for: the invoice totals 12.40, the card is charged 14.40.
	body := strings.Replace(epayBody(1440, 200), `"total_amount":1440}`, `"total_amount":1240,"tip_amount":200}`, 1)
	body = strings.Replace(body, fmt.Sprintf(`"net_amount":%d,"vat_amount":%d`, 1440*100/124, 1440-1440*100/124), `"net_amount":1000,"vat_amount":240`, 1)
	created := p.mustCall("POST", "/v1/payments", body, 201)
	tipped := created["id"].(string)
	got := p.waitFor(tipped, 60*time.Second, "captured")
	d := got["details"].(map[string]any)
	if got["captured_amount"].(float64) != 1440 || got["discrepancy"] != nil && got["discrepancy"] != "" || d["mydata"].(map[string]any)["tip_amount"] != "2.00" || d["mydata"].(map[string]any)["amount"] != "12.40" {
		t.Fatalf("tipped payment: %v", got)
	}
	if lines := receiptText(got); !strings.Contains(lines, "TIP: EUR 2.00") || !strings.Contains(lines, "Tender Sandbox Taverna") || !strings.Contains(lines, "APPROVED") {
		t.Errorf("receipt of the tipped payment:\n%s", lines)
	}

	// Partial refunds, then the rest: refund transactions on the terminal.
	sale := p.mustCall("POST", "/v1/payments", epayBody(3000, 201), 201)["id"].(string)
	p.waitFor(sale, 60*time.Second, "captured")
	path := "/v1/payments/" + sale + "/refunds"
	for range 2 {
		r := p.mustCall("POST", path, `{"amount":1000}`, 200, "Idempotency-Key", "epay-ref-1")
		if r["status"] != "partially_refunded" || r["refunded_amount"].(float64) != 1000 || len(r["details"].(map[string]any)["last_refund_transaction_id"].(string)) != 21 {
			t.Fatalf("partial refund: %v", r)
		}
	}
	r := p.mustCall("POST", path, `{}`, 200, "Idempotency-Key", "epay-ref-2")
	if r["status"] != "refunded" || r["refunded_amount"].(float64) != 3000 {
		t.Fatalf("refund of the rest: %v", r)
	}

	// Rule 55 on the refund's amount: refunded on the host, never answered.
	lost := p.mustCall("POST", "/v1/payments", epayBody(2000, 202), 201)["id"].(string)
	p.waitFor(lost, 60*time.Second, "captured")
	if status, m := p.call("POST", "/v1/payments/"+lost+"/refunds", `{"amount":555}`, "Idempotency-Key", "epay-ref-55"); status == 200 {
		t.Fatalf("a refund without an answer succeeded at once: %v", m)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		got = p.mustCall("GET", "/v1/payments/"+lost, "", 200)
		if got["refunded_amount"].(float64) == 555 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refund in doubt was not reconciled: %v", got)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// capture "manual": pre-authorization, then a partial completion.
	created = p.mustCall("POST", "/v1/payments", strings.Replace(epayBody(2500, 203), `"terminal"`, `"capture":"manual","terminal"`, 1), 201)
	pre := created["id"].(string)
	got = p.waitFor(pre, 60*time.Second, "authorized")
	if !strings.Contains(receiptText(got), "PRE-AUTHORIZATION") {
		t.Errorf("pre-authorization receipt:\n%s", receiptText(got))
	}
	c := p.mustCall("POST", "/v1/payments/"+pre+"/capture", `{"amount":2000}`, 200, "Idempotency-Key", "epay-cap-1")
	if c["status"] != "captured" || c["captured_amount"].(float64) != 2000 || c["details"].(map[string]any)["mydata"].(map[string]any)["amount"] != "20.00" {
		t.Fatalf("completion: %v", c)
	}

	// A declined payment has its receipt.
	declined := p.mustCall("POST", "/v1/payments", epayBody(5151, 204), 201)["id"].(string)
	got = p.waitFor(declined, 60*time.Second, "failed")
	if !strings.Contains(receiptText(got), "DECLINED") {
		t.Errorf("declined receipt:\n%s", receiptText(got))
	}
	epayLedgerAgrees(t, p, tipped, sale, lost, pre, declined)
}

func receiptText(pay map[string]any) string {
	r, _ := pay["receipt"].(map[string]any)
	if r == nil {
		return ""
	}
	var lines []string
	for _, l := range r["lines"].([]any) {
		lines = append(lines, l.(string))
	}
	return strings.Join(lines, "\n")
}

// epayLedgerAgrees reads the simulated ePay host's ledger over HTTP and
// compares what it took and returned for each payment with Tender's record.
func epayLedgerAgrees(t *testing.T, p *tenderProc, ids ...string) {
	t.Helper()
	res, err := http.Get(p.SimURL + "/sim/epay/webecr/_sim/ledger")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var entries []struct {
		CustomerReference, Of string
		Amount, TipAmount     int64
		Approved, Voided      bool
		TxnType               int
	}
	if err := json.NewDecoder(res.Body).Decode(&entries); err != nil {
		t.Fatal(err)
	}
	type sums struct{ auth, captured, refunded int64 }
	got := map[string]*sums{}
	for _, e := range entries {
		ref := e.CustomerReference
		if e.Of != "" {
			ref = e.Of
		}
		if got[ref] == nil {
			got[ref] = &sums{}
		}
		if !e.Approved {
			continue
		}
		s := got[ref]
		switch e.TxnType {
		case 0:
			s.auth++
			s.captured += e.Amount + e.TipAmount
			if e.Voided {
				s.refunded += e.Amount + e.TipAmount
			}
		case 2:
			s.auth++
		case 3:
			s.captured += e.Amount
		case 1:
			s.refunded += e.Amount
		}
	}
	for _, id := range ids {
		pay := p.mustCall("GET", "/v1/payments/"+id, "", 200)
		s := got[id]
		if s == nil {
			s = &sums{}
		}
		want := sums{captured: int64(pay["captured_amount"].(float64)), refunded: int64(pay["refunded_amount"].(float64))}
		if pay["status"] != "failed" {
			want.auth = 1
		}
		if *s != want {
			t.Errorf("%s (%s): Tender has %+v, ePay's host %+v", id, pay["status"], want, *s)
		}
	}
}
