package computop_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/computop"
	"github.com/tenderpay/tender/computop/sim"
	"github.com/tenderpay/tender/connectortest"
)

// TestConformance runs the connector conformance suite against the
// Paygate simulator.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Name: computop.Name,
		Connector: func(clock tender.Clock, client *http.Client) tender.Connector {
			// A notify that has not come after a few seconds is looked
			// for with inquire.aspx (README: "If the notify is missing,
			// Status asks inquire.aspx").
			return computop.New(computop.Options{HTTPClient: client, Clock: clock, Timeout: 10 * time.Second, NotifyGrace: 3 * time.Second})
		},
		Sandbox: sim.Sandbox,
		Payment: connectortest.Payment{Currency: "EUR", InputName: "computop", Input: func(int64, int) json.RawMessage {
			return json.RawMessage(`{"billing":{"first_name":"Eva","last_name":"de Vries","street":"Damrak 1","city":"Amsterdam","zip":"1012LG","country_code":"NL"}}`)
		}},
		Complete:    weroShopper,
		BadCallback: forgedNotify,
		Ledger:      paygateLedger,
		Supports: connectortest.Supports{
			// README: "An open payment (shopper still in Wero) cannot be canceled."
			CancelOpen: false,
			// README: capture "manual" sends PayType=ED; "Partial captures
			// are allowed up to the authorized amount".
			ManualCapture: true, PartialCapture: true, MultipleCaptures: true,
			// README: "Refund credits what was captured through
			// credit.aspx, in part and more than once".
			Refund: true, PartialRefund: true,
		},
		// README (sandbox): "54, or the Decline button: canceled by the shopper (canceled)".
		CanceledByCustomer: connectortest.Outcome{Status: tender.StatusCanceled, FailureCode: tender.FailCanceledByCustomer},
		// README: rule 55 sends no notify; the payment waits for its
		// shopper until Status asks inquire.aspx, which finds it paid.
		LostResultStaysOpen: true,
	})
}

// weroShopper opens the payment's next_action like a browser and presses
// Approve on the simulated Wero page (sim.Shop). The browser follows
// Paygate's redirect back to Tender but not on to the merchant's shop.
func weroShopper(t *testing.T, env *connectortest.Env, p *tender.Payment) {
	t.Helper()
	if p.NextAction == nil || p.NextAction.URL == "" {
		t.Fatalf("payment %s (%s) has no next_action URL", p.ID, p.Status)
	}
	browser := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(r.URL.String(), env.SimURL) && !strings.HasPrefix(r.URL.String(), env.TenderURL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	if err := sim.Shop(context.Background(), browser, p.NextAction.URL, sim.ActionApprove); err != nil {
		t.Fatal(err)
	}
}

// forgedNotify is a successful result for p, encrypted with the merchant's
// real Blowfish key but signed with an HMAC key that is not the merchant's.
func forgedNotify(t *testing.T, env *connectortest.Env, p *tender.Payment) *http.Request {
	t.Helper()
	mid := env.Account.Settings[computop.SettingMerchantID]
	c, err := computop.NewCipher(computop.Blowfish, []byte(env.Account.Credentials[computop.CredentialEncryptionKey]))
	if err != nil {
		t.Fatal(err)
	}
	wrong := []byte("not-the-merchants-hmac-password!")
	payID := strings.Repeat("a", 32)
	var ps computop.Params
	for _, f := range [][2]string{{"mid", mid}, {"PayID", payID}, {"XID", strings.Repeat("b", 32)}, {"TransID", p.ID},
		{"Status", computop.StatusOK}, {"Description", "success"}, {"Code", computop.CodeOK},
		{"MAC", computop.ResultMAC(wrong, payID, p.ID, mid, computop.StatusOK, computop.CodeOK)}} {
		ps.Add(f[0], f[1])
	}
	vs, err := (&computop.Merchant{ID: mid, Cipher: c, HMACKey: wrong}).Seal(ps)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", env.TenderURL+"/callbacks/computop/"+env.Account.ID+"/notify", strings.NewReader(vs.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// paygateLedger reads what the simulated Paygate believes (sim.Money): a payment with
// Code 00000000 was authorized; AmountCap is what is captured and not
// reversed, AmountCred what is credited back.
func paygateLedger(t *testing.T, env *connectortest.Env) map[string]connectortest.Ledger {
	out := map[string]connectortest.Ledger{}
	for ref, m := range env.Sandbox.Handler.(*sim.Sim).Money() {
		out[ref] = connectortest.Ledger{Authorized: m.Authorized, Captured: m.Captured, Refunded: m.Refunded}
	}
	return out
}
