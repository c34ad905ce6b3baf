package epay_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/epay"
)

// tipped is a payment of an invoice of total cents with a tip the POS asks
// for: the payment's amount is what the card is charged, total + tip.
func (e *env) tipped(total, tip int64) *tender.Payment {
	e.t.Helper()
	var inv map[string]any
	json.Unmarshal(invoice(total, ""), &inv)
	inv["tip_amount"] = tip
	raw, _ := json.Marshal(inv)
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: total + tip, Currency: "EUR", Status: tender.StatusPending,
		Connector: "epay", Account: e.acct.ID, Terminal: e.term.ID, Input: raw, CreatedAt: e.clock.Now()}
	if err := e.conn.ValidatePayment(p, e.acct, e.term); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// A tip the POS asks for travels as txninit's TipAmount beside the signed
// payable (which excludes it, tipInSignedPayable); the approval is the
// payment's amount, no discrepancy; myDATA carries amount and tipAmount.
func TestTipAskedByThePOS(t *testing.T) {
	e := newEnv(t)
	p := e.tipped(1240, 200)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	in, ok := e.sim.Intent(p.ID)
	if !ok || in.Amount != 1240 || in.TipAmount != 200 {
		t.Fatalf("intent %+v", in)
	}
	if f := strings.Split(p.Details[epay.DetailMyDATAPOSInput], ";"); len(f) != 8 || f[6] != "1240" {
		t.Fatalf("signed clear text %q: the payable must exclude the tip", p.Details[epay.DetailMyDATAPOSInput])
	}
	e.sim.Press(testTID)
	e.clock.Advance(10 * time.Second)
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.Status != tender.StatusCaptured || u.Captured != 0 || u.Discrepancy != "" {
		t.Fatalf("approval of the asked tip: %+v %v", u, err)
	}
	if u.Details[epay.DetailMyDATAAmount] != "12.40" || u.Details[epay.DetailMyDATATip] != "2.00" || u.Details[epay.DetailTip] != "2.00" ||
		!strings.Contains(u.Details[epay.DetailMyDATA], `"tipAmount":"2.00"`) {
		t.Fatalf("details %v", u.Details)
	}
	text := strings.Join(u.Receipt.Lines, "\n")
	for _, want := range []string{"AMOUNT: EUR 12.40", "TIP: EUR 2.00", "TOTAL: EUR 14.40"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	if l := e.ledger(p.ID); len(l) != 1 || l[0].Amount != 1240 || l[0].TipAmount != 200 {
		t.Fatalf("ledger %+v", l)
	}
}

// A tip the cardholder adds on the terminal unasked (sandbox rule 77) is
// recorded as taken and raised as a discrepancy.
func TestTipAddedOnTheTerminal(t *testing.T) {
	e := newEnv(t)
	p := e.payment(1077)
	if err := e.start(p); err != nil {
		t.Fatal(err)
	}
	e.sim.Press(testTID)
	e.clock.Advance(10 * time.Second)
	u, err := e.conn.Status(context.Background(), e.op(p))
	if err != nil || u.Status != tender.StatusCaptured || u.Captured != 1077+107 || !strings.Contains(u.Discrepancy, "did not ask for") ||
		u.Details[epay.DetailTip] != "1.07" || u.Details[epay.DetailMyDATATip] != "1.07" {
		t.Fatalf("%+v %v", u, err)
	}
	// The host's own account of the money agrees: the card was charged
	// the amount and the tip.
	if m := e.sim.Money()[p.ID]; m.Authorized != 1 || m.Captured != 1077+107 {
		t.Fatalf("the host ledger has %+v, want one sale that took %d", m, 1077+107)
	}
}

func TestTipValidation(t *testing.T) {
	e := newEnv(t)
	var inv map[string]any
	json.Unmarshal(invoice(1000, ""), &inv)
	for _, c := range []struct {
		name   string
		amount int64
		tip    int64
		manual bool
		param  string
	}{
		{"negative", 1000, -1, false, "invoice.tip_amount"},
		{"the whole amount", 1000, 1000, false, "invoice.tip_amount"},
		{"payable above the total", 1300, 200, false, "amount"},
		{"pre-authorization", 1200, 200, true, "invoice.tip_amount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			inv["tip_amount"] = c.tip
			raw, _ := json.Marshal(inv)
			p := &tender.Payment{ID: tender.NewID("pay"), Amount: c.amount, Currency: "EUR", Input: raw}
			if c.manual {
				p.CaptureMode = tender.CaptureManual
			}
			err := e.conn.ValidatePayment(p, e.acct, e.term)
			if tender.ErrorCodeOf(err) != tender.EInvalid || tender.AsError(err).Param != c.param {
				t.Fatalf("%v, want invalid %s", err, c.param)
			}
		})
	}
}

// Approved, declined and cancelled payments carry the receipt lines a Greek
// card receipt needs, with English or Greek labels by receipt_language.
func TestReceiptLines(t *testing.T) {
	e := newEnv(t)
	e.acct.Settings[epay.SettingMerchantName] = "Taverna Nikos"
	p := e.approvedSale(1240)
	text := strings.Join(p.Receipt.Lines, "\n")
	rec := e.ledger(p.ID)[0]
	for _, want := range []string{"Taverna Nikos", "TERMINAL: " + testTID, "MERCHANT ID: 000000011719", "DATE: 02/03/2026 ", "SALE",
		"CARD: VISA 476173******0119", "AID: A0000000031010", "APPLICATION: VISA CREDIT", "ENTRY: CONTACTLESS",
		"AUTH CODE: ", "STAN: ", "RRN: " + rec.RRN, "AMOUNT: EUR 12.40", "TRANSACTION ID: " + rec.TransactionID, "APPROVED"} {
		if !strings.Contains(text, want) {
			t.Errorf("approved receipt lacks %q:\n%s", want, text)
		}
	}
	for _, c := range []struct {
		amount int64
		want   []string
	}{
		{1051, []string{"CARD: MASTERCARD", "RESPONSE: 051", "DECLINED"}},
		{1054, []string{"TERMINAL: " + testTID, "AMOUNT: EUR 10.54", "CANCELLED"}},
	} {
		q := e.payment(c.amount)
		e.start(q)
		e.sim.Press(testTID)
		e.settle(q)
		if q.Receipt == nil {
			t.Fatalf("%d (%s): no receipt", c.amount, q.Status)
		}
		text := strings.Join(q.Receipt.Lines, "\n")
		for _, want := range c.want {
			if !strings.Contains(text, want) {
				t.Errorf("%d receipt lacks %q:\n%s", c.amount, want, text)
			}
		}
	}
	e.acct.Settings[epay.SettingReceiptLanguage] = "el"
	g := e.approvedSale(1300)
	text = strings.Join(g.Receipt.Lines, "\n")
	for _, want := range []string{"ΤΕΡΜΑΤΙΚΟ: " + testTID, "ΠΩΛΗΣΗ", "ΚΑΡΤΑ: VISA", "ΤΡΟΠΟΣ: ΑΝΕΠΑΦΑ", "ΚΩΔ. ΕΓΚΡΙΣΗΣ: ", "ΠΟΣΟ: EUR 13.00", "ΕΓΚΡΙΘΗΚΕ"} {
		if !strings.Contains(text, want) {
			t.Errorf("Greek receipt lacks %q:\n%s", want, text)
		}
	}
	e.acct.Settings[epay.SettingReceiptLanguage] = "nl"
	if err := e.conn.ValidateAccount(e.acct); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("receipt_language nl: %v", err)
	}
}
