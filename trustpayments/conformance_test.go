package trustpayments_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/connectortest"
	tp "github.com/tenderpay/tender/trustpayments"
	"github.com/tenderpay/tender/trustpayments/sim"
)

// TestConformance runs the connector conformance suite against the Trust
// Payments simulator.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Name: tp.Name,
		Connector: func(clock tender.Clock, client *http.Client) tender.Connector {
			return tp.New(tp.Options{HTTPClient: client, Clock: clock, Timeout: 10 * time.Second})
		},
		Sandbox:     sim.Sandbox,
		Payment:     connectortest.Payment{Currency: "GBP"},
		Complete:    cardholder,
		BadCallback: forgedResponse,
		Ledger:      gatewayLedger,
		Supports: connectortest.Supports{
			// README: a decline, a failed 3-D Secure check or a refused
			// field on the checkout ends the attempt, not the payment.
			TryAgain: true,
			// README: "Cancel = settlestatus 3"; an open checkout is
			// canceled after checking that no AUTH was made, and an AUTH
			// paid on it afterwards is cancelled at once.
			CancelOpen: true,
			// README: settlestatus "2" for capture manual; "Capture =
			// TRANSACTIONUPDATE settlestatus 0 (+ settlebaseamount for a
			// partial capture); Trust Payments settles once, so only one
			// capture per payment."
			ManualCapture: true, PartialCapture: true, MultipleCaptures: false,
			// README: "Refund = REFUND (full/partial)".
			Refund: true, PartialRefund: true,
			// README (saved cards): the off-session charge asks
			// TRANSACTIONQUERY first, then sends the AUTH.
			SavedCards: true, ChargeRequests: 1,
		},
		// README (sandbox): "54 cardholder abandons 3-D Secure (60022)";
		// "60022 → failed/authentication_failed".
		CanceledByCustomer: connectortest.Outcome{Status: tender.StatusFailed, FailureCode: tender.FailAuthentication},
		// README (sandbox): rule 61 leaves the payment "in doubt until
		// TRANSACTIONQUERY shows no AUTH once the JWT has expired": its
		// life, the clock skew allowed, and the checkout's grace.
		InDoubtFor: tp.DefaultMaxAge + tp.DefaultSkew + 20*time.Minute,
		// A return without a response JWT is unauthenticated: the checkout
		// stays open while Tender asks Trust Payments (TRANSACTIONQUERY).
		LostResultStaysOpen: true,
	})
}

// cardholder does what the stand-in st.js does: THREEDQUERY and AUTH at the
// gateway with a frictionless test card, then the form post to Tender with
// the response JWT, or without one (errorcode 50003) when the gateway did
// not answer. Like st.js it never retries a request that may have been sent.
func cardholder(t *testing.T, env *connectortest.Env, p *tender.Payment) {
	t.Helper()
	if p.NextAction == nil || p.NextAction.Data["jwt"] == "" {
		t.Fatalf("payment %s (%s) has no request JWT", p.ID, p.Status)
	}
	form, err := sim.Checkout(context.Background(), env.HTTP, env.SimURL, p.NextAction.Data["jwt"], p.ID, sim.CardFrictionless)
	if err != nil {
		t.Fatal(err)
	}
	ret, err := noRedirects.PostForm(env.TenderURL+"/callbacks/trustpayments/"+env.Account.ID+"/return", form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, ret.Body)
	ret.Body.Close()
	if ret.StatusCode >= 400 {
		t.Fatalf("Tender refused the checkout form: HTTP %d", ret.StatusCode)
	}
}

var noRedirects = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// forgedResponse is an approved AUTH for p carrying the request JWT Tender
// issued, signed with a secret that is not the site's.
func forgedResponse(t *testing.T, env *connectortest.Env, p *tender.Payment) *http.Request {
	t.Helper()
	resp, _ := json.Marshal(map[string]any{"iat": env.Clock.Now().Unix(), "aud": env.Account.Settings[tp.SettingJWTUsername], "payload": map[string]any{
		"requestreference": "W56-forged00", "version": "1.00", "jwt": p.NextAction.Data["jwt"],
		"response": []any{map[string]any{"requesttypedescription": "AUTH", "errorcode": "0", "errormessage": "Ok", "customeroutput": "RESULT",
			"transactionreference": "56-9-999999", "orderreference": p.ID, "baseamount": p.Amount, "currencyiso3a": p.Currency, "settlestatus": "0"}}}})
	forged, err := tp.Sign(tp.HS256, []byte("not the site's secret"), resp)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", env.TenderURL+"/callbacks/trustpayments/"+env.Account.ID+"/return",
		strings.NewReader(url.Values{"jwt": {forged}, "orderreference": {p.ID}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// gatewayLedger reads what the simulated gateway believes (sim.Money).
func gatewayLedger(t *testing.T, env *connectortest.Env) map[string]connectortest.Ledger {
	out := map[string]connectortest.Ledger{}
	for ref, m := range env.Sandbox.Handler.(*sim.Sim).Money() {
		out[ref] = connectortest.Ledger{Authorized: m.Authorized, Captured: m.Captured, Refunded: m.Refunded}
	}
	return out
}
