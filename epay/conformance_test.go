package epay_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/connectortest"
	"github.com/tenderpay/tender/epay"
	"github.com/tenderpay/tender/epay/sim"
)

// lostAfter is the connector's default: a payment whose txninit got no
// answer and for which ePay has no intent after this long never reached
// ePay.
const lostAfter = 2 * time.Minute

// TestConformance runs the connector conformance suite against the Impact
// and ePay WebECR simulators and their virtual terminals, which take a
// payment and complete it by themselves.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Name: "epay",
		Connector: func(clock tender.Clock, client *http.Client) tender.Connector {
			// A txninit never answered (rule 55) is given up on after a
			// few seconds; the terminal is looked at often.
			return epay.New(epay.Options{HTTPClient: client, Clock: clock, RequestTimeout: 3 * time.Second,
				PollInterval: 250 * time.Millisecond, LostAfter: lostAfter})
		},
		Sandbox: sim.Sandbox,
		Payment: connectortest.Payment{Currency: "EUR", Terminal: true, InputName: "invoice", Input: greekInvoice},
		// README: "ePay's ... webhooks ... are unconfirmed"; the connector
		// polls the intent and answers every callback not_found.
		NoCallbacks: "ePay WebECR documents no webhooks; Tender polls the intent",
		Ledger:      hostLedger,
		Supports: connectortest.Supports{
			// README: "Cancel works while the terminal has not taken the
			// payment (intent PENDING)".
			CancelOpen: true,
			// README: capture "manual" is a pre-authorization (TxnType 2),
			// completed once by a capture (TxnType 3) of at most its amount.
			ManualCapture: true, PartialCapture: true, MultipleCaptures: false,
			// README: a refund voids the whole sale while ePay allows it,
			// else (and for partial and later refunds) a refund
			// transaction (TxnType 1) linked to the sale.
			Refund: true, PartialRefund: true,
		},
		// README: "cancelled on the device → canceled".
		CanceledByCustomer: connectortest.Outcome{Status: tender.StatusCanceled, FailureCode: tender.FailCanceledAtTerminal},
		// README (sandbox): "…61 the first txninit is dropped (payment
		// fails, no charge)": Tender concludes so once ePay still has no
		// intent after lostAfter.
		InDoubtFor: lostAfter + 30*time.Second,
	})
}

// greekInvoice is a Greek invoice of amount (24% VAT included), numbered n.
func greekInvoice(amount int64, n int) json.RawMessage {
	net := amount * 100 / 124
	return json.RawMessage(fmt.Sprintf(`{"issuer_vat":"EL123456789","date":%q,"branch":0,"type":"11.1","series":"C","number":"%d","net_amount":%d,"vat_amount":%d,"total_amount":%d}`,
		time.Now().Format("2006-01-02"), n, net, amount-net, amount))
}

// hostLedger reads the transactions ePay's host recorded, by
// CustomerReference (the Tender payment id): an approved sale or
// pre-authorization is an authorization (a voided one returns a sale's
// amount, and a pre-authorization's takes nothing); a completion takes its
// amount and a refund returns its, both booked to the transaction they
// follow up (Entry.Of).
func hostLedger(t *testing.T, env *connectortest.Env) map[string]connectortest.Ledger {
	out := map[string]connectortest.Ledger{}
	for ref, m := range env.Sandbox.Handler.(*sim.Sim).Money() {
		out[ref] = connectortest.Ledger{Authorized: m.Authorized, Captured: m.Captured, Refunded: m.Refunded}
	}
	return out
}
