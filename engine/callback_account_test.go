package engine

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tenderpay/tender"
)

// signedEngine is an engine on w's store with the connector "signed",
// whose callbacks carry an HMAC under the account's credential "key".
func signedEngine(w *world) *Engine {
	w.t.Helper()
	e, err := New(Options{Store: w.store, Sealer: w.engine(faultSchedule).sealer, Clock: w.clock, Schedule: faultSchedule,
		PublicURL: "http://tender.test", Connectors: []tender.Connector{&callbackConn{script: w.conn, name: "signed", f: signedCallback}}})
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// TestCallbackWithRotatedCredentialsAcrossInstances: an instance that
// kept an account takes a callback signed with the credential another
// instance rotated to, without being told (it reads the account again
// when what it kept refuses); the old credential is refused from then
// on, and so is a signature no credential makes.
func TestCallbackWithRotatedCredentialsAcrossInstances(t *testing.T) {
	w := newWorld(t)
	a, b := signedEngine(w), signedEngine(w)
	ctx := context.Background()
	if _, err := a.CreateAccount(ctx, &tender.Account{ID: "sig", Connector: "signed", Environment: tender.EnvSandbox,
		Credentials: map[string]string{"key": "k1"}}); err != nil {
		t.Fatal(err)
	}
	if !callbackSignedWith(t, a, "sig", "k1") || !keptOpened(a, "sig") {
		t.Fatal("the account's key was refused, or the account not kept")
	}
	if _, err := b.UpdateAccount(ctx, "sig", AccountChange{Credentials: map[string]string{"key": "k2"}}); err != nil {
		t.Fatal(err)
	}
	if !callbackSignedWith(t, a, "sig", "k2") {
		t.Fatal("A refused the credential B rotated to")
	}
	if callbackSignedWith(t, a, "sig", "k1") {
		t.Fatal("A took the credential rotated away")
	}
	if callbackSignedWith(t, a, "sig", "k3") {
		t.Fatal("A took a signature under no credential of the account")
	}
}

// pagerConn is the script connector with a hosted checkout page whose
// scripts come from the provider.
type pagerConn struct {
	*script
	fail error
}

func (c *pagerConn) CheckoutPage(_ context.Context, op *tender.Op) (string, []byte, error) {
	if c.fail != nil {
		return "", nil, c.fail
	}
	return "text/html", []byte("checkout of " + op.Payment.ID), nil
}

func (c *pagerConn) CheckoutScripts(a *tender.Account) ([]string, error) {
	return []string{"https://psp.test/" + a.ID + ".js"}, nil
}

// TestCheckoutPageAndScripts: a shopper's page is the connector's
// checkout for the payment, with the script sources the connector names
// for its account; a page the connector cannot make is an error, not an
// empty page; a connector without pages has none.
func TestCheckoutPageAndScripts(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ctx := context.Background()
	p := w.waitingPayment(e)
	if _, _, ok, err := e.CheckoutPage(ctx, p); ok || err != nil {
		t.Fatalf("a connector without pages: ok %v, %v", ok, err)
	}
	pc := &pagerConn{script: w.conn}
	e.connectors = map[string]tender.Connector{"script": pc}
	ct, body, ok, err := e.CheckoutPage(ctx, p)
	if !ok || err != nil || ct != "text/html" || string(body) != "checkout of "+p.ID {
		t.Fatalf("checkout page: %q, %q, ok %v, %v", ct, body, ok, err)
	}
	scripts, err := e.CheckoutScripts(ctx, p)
	if err != nil || !slices.Equal(scripts, []string{"https://psp.test/acct.js"}) {
		t.Fatalf("checkout scripts: %v, %v", scripts, err)
	}
	pc.fail = errors.New("the provider is down")
	if _, _, ok, err := e.CheckoutPage(ctx, p); ok || err == nil {
		t.Fatalf("a page the connector could not make: ok %v, %v", ok, err)
	}
	gone := *p
	gone.Account = "nope"
	if s, err := e.CheckoutScripts(ctx, &gone); err == nil {
		t.Fatalf("scripts for an account that does not exist: %v, no error", s)
	}
}
