package sepay_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/connectortest"
	"github.com/tenderpay/tender/sepay"
	"github.com/tenderpay/tender/sepay/sim"
)

// TestConformance runs the connector conformance suite against the Sepay
// WECR simulator and its terminals, which pick a payment up and decide it
// by themselves.
func TestConformance(t *testing.T) {
	keys(t) // made before the suite: the forged callback must beat the terminal's 400 ms
	connectortest.Run(t, connectortest.Harness{
		Name: sepay.Name,
		Connector: func(clock tender.Clock, client *http.Client) tender.Connector {
			// A StartTransaction never answered (rule 55) is given up on
			// after a few seconds; the terminal is looked at often.
			return sepay.New(sepay.Options{HTTPClient: client, Clock: clock, RequestTimeout: 3 * time.Second, PollInterval: 250 * time.Millisecond})
		},
		Sandbox:     sim.Sandbox,
		Payment:     connectortest.Payment{Currency: "EUR", Terminal: true},
		BadCallback: forgedCallback,
		Ledger:      wecrLedger,
		Supports: connectortest.Supports{
			// README: "Cancel works only while the payment is queued".
			CancelOpen: true,
			// README, not supported: "refunds (WECR documents no refund
			// operation: refund on the terminal), capture (terminal sales
			// are captured)".
			ManualCapture: false, Refund: false,
		},
		// README: "Canceled on the terminal → canceled" (status 14).
		CanceledByCustomer: connectortest.Outcome{Status: tender.StatusCanceled, FailureCode: tender.FailCanceledAtTerminal},
	})
}

// forgedCallback is an approved GetTransactionStatusResult for p signed
// with a key that is not Sepay's (the tests' integrator key, made already:
// generating one here took long enough on a loaded machine for the
// terminal to approve the payment first).
func forgedCallback(t *testing.T, env *connectortest.Env, p *tender.Payment) *http.Request {
	t.Helper()
	keys(t)
	key := integrator
	v := sepay.Values{"key_index": "0", "version": sepay.ProtocolVersion, "login": env.Account.Settings[sepay.SettingLogin],
		"sid": env.Terminal.ProviderID, "transactionref": sepay.TransactionRef(p.ID), "amount": sepay.FormatAmount(p.Amount), "status": sepay.StatusOK}
	sig, err := sepay.Sign(key, sepay.GetTransactionStatus.Result.Canonical(v))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", env.TenderURL+"/callbacks/sepay/"+env.Account.ID+sepay.CallbackPath,
		bytes.NewReader(sepay.GetTransactionStatus.MarshalResult(v, sig)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", sepay.CallbackContentType)
	return req
}

// wecrLedger reads what the simulated Sepay believes (sim.Money): a transaction per
// transactionref, charged when the terminal approved it.
func wecrLedger(t *testing.T, env *connectortest.Env) map[string]connectortest.Ledger {
	out := map[string]connectortest.Ledger{}
	for ref, m := range env.Sandbox.Handler.(*sim.Sim).Money() {
		out[ref] = connectortest.Ledger{Authorized: m.Authorized, Captured: m.Captured, Refunded: m.Refunded}
	}
	return out
}
