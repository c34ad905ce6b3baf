package engine

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/tenderpay/tender"
)

// callbackConn is the world's scripted connector with a callback the test
// sets; name may differ, to stand for a second provider.
type callbackConn struct {
	*script
	name string
	f    func(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error)
}

func (c *callbackConn) Name() string { return c.name }
func (c *callbackConn) Callback(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
	return c.f(ctx, cb)
}

// callbackWorld is a world whose engine has a scripted connector with
// callbacks, a second account on it, and a second connector "other".
func callbackWorld(t *testing.T, f func(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error)) (*world, *Engine) {
	t.Helper()
	w := newWorld(t)
	e, err := New(Options{Store: w.store, Sealer: w.engine(faultSchedule).sealer, Clock: w.clock, Schedule: faultSchedule,
		PublicURL: "http://tender.test", Connectors: []tender.Connector{
			&callbackConn{script: w.conn, name: "script", f: f},
			&callbackConn{script: w.conn, name: "other", f: f},
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.CreateAccount(ctx, &tender.Account{ID: "acct2", Connector: "script", Environment: tender.EnvSandbox}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateAccount(ctx, &tender.Account{ID: "acct-other", Connector: "other", Environment: tender.EnvSandbox, Default: true}); err != nil {
		t.Fatal(err)
	}
	return w, e
}

// TestCallbackFindsOnlyItsAccountsPayments: a callback to one account can
// name only that account's payments of that connector, by id or by
// provider reference; any other payment is not found.
func TestCallbackFindsOnlyItsAccountsPayments(t *testing.T) {
	var find func(ctx context.Context, ref string) (*tender.Payment, error)
	w, e := callbackWorld(t, func(_ context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
		find = cb.Find
		return &tender.CallbackResult{}, nil
	})
	ctx := context.Background()
	mine := w.authorized(e) // account acct, provider reference "ref"
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusAuthorized, ProviderReference: "ref2"}, nil
	})
	req := onlinePayment
	req.Account = "acct2"
	theirs, err := e.CreatePayment(ctx, req, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	req = PaymentRequest{Amount: 1000, Currency: "EUR", Connector: "other", Capture: tender.CaptureManual}
	w.conn.start.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusAuthorized, ProviderReference: "ref3"}, nil
	})
	otherConn, err := e.CreatePayment(ctx, req, randomOperationID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.HandleCallback(ctx, "script", "acct", "notify", httptest.NewRequest("POST", "/", nil), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ref string
		want      *tender.Payment
	}{
		{"own payment by id", mine.ID, mine},
		{"own payment by provider reference", "ref", mine},
		{"another account's payment by id", theirs.ID, nil},
		{"another account's payment by provider reference", "ref2", nil},
		{"another connector's payment by id", otherConn.ID, nil},
		{"another connector's payment by provider reference", "ref3", nil},
		{"nothing", "nope", nil},
	} {
		p, err := find(ctx, tc.ref)
		if tc.want != nil && (err != nil || p == nil || p.ID != tc.want.ID) {
			t.Errorf("%s: %v, %v", tc.name, p, err)
		}
		if tc.want == nil && (p != nil || tender.ErrorCodeOf(err) != tender.ENotFound) {
			t.Errorf("%s: %v, %v; want not found", tc.name, p, err)
		}
	}
}

func TestCallbackRouting(t *testing.T) {
	_, e := callbackWorld(t, func(context.Context, *tender.Callback) (*tender.CallbackResult, error) {
		return &tender.CallbackResult{}, nil
	})
	ctx := context.Background()
	r := httptest.NewRequest("POST", "/", nil)
	if _, err := e.HandleCallback(ctx, "nope", "acct", "notify", r, nil); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("unknown connector: %v", err)
	}
	if _, err := e.HandleCallback(ctx, "script", "nope", "notify", r, nil); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("unknown account: %v", err)
	}
	if _, err := e.HandleCallback(ctx, "other", "acct", "notify", r, nil); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Errorf("an account of another connector: %v", err)
	}
}

// TestCallbackOutcomes: a verified update is applied, a Confirm asks the
// provider instead, a refusal that names a payment is recorded on it, and
// the reply carries what the connector answered.
func TestCallbackOutcomes(t *testing.T) {
	var res *tender.CallbackResult
	var refuse error
	w, e := callbackWorld(t, func(context.Context, *tender.Callback) (*tender.CallbackResult, error) {
		return res, refuse
	})
	ctx := context.Background()
	r := httptest.NewRequest("POST", "/", nil)
	p := w.authorized(e)

	// Refused, naming the payment: recorded with its reason.
	res, refuse = &tender.CallbackResult{PaymentID: p.ID}, tender.Errorf(tender.EUnauthorized, "bad MAC")
	if _, err := e.HandleCallback(ctx, "script", "acct", "notify", r, nil); tender.ErrorCodeOf(err) != tender.EUnauthorized {
		t.Fatalf("refused callback: %v", err)
	}
	if evs := w.eventTypes(p.ID); evs[len(evs)-1] != EvCallbackDenied {
		t.Fatalf("events %v: the refusal is not recorded", evs)
	}
	if got := w.get(p.ID); got.Status != tender.StatusAuthorized {
		t.Fatalf("a refused callback changed the payment to %s", got.Status)
	}
	// Refused without naming one: nothing recorded anywhere.
	n := len(w.eventTypes(p.ID))
	res = nil
	if _, err := e.HandleCallback(ctx, "script", "acct", "notify", r, nil); err == nil {
		t.Fatal("refusal answered no error")
	}
	if len(w.eventTypes(p.ID)) != n {
		t.Fatal("a refusal that names no payment was recorded")
	}

	// Accepted: the update is applied and the reply is the connector's.
	refuse = nil
	res = &tender.CallbackResult{PaymentID: p.ID, Update: &tender.Update{Status: tender.StatusCanceled},
		StatusCode: 202, ContentType: "text/plain", Body: []byte("OK")}
	reply, err := e.HandleCallback(ctx, "script", "acct", "notify", r, nil)
	if err != nil || reply.StatusCode != 202 || reply.ContentType != "text/plain" || string(reply.Body) != "OK" ||
		reply.PaymentID != p.ID || reply.RedirectTo != "" {
		t.Fatalf("accepted callback: %+v, %v", reply, err)
	}
	if got := w.get(p.ID); got.Status != tender.StatusCanceled {
		t.Fatalf("the callback's update was not applied: %s", got.Status)
	}
	// The same update again: nothing more is written.
	n = len(w.eventTypes(p.ID))
	version := w.get(p.ID).Version
	if _, err := e.HandleCallback(ctx, "script", "acct", "notify", r, nil); err != nil {
		t.Fatal(err)
	}
	if got := w.get(p.ID); got.Version != version {
		t.Fatalf("a callback with no news rewrote the payment (version %d → %d)", version, got.Version)
	}
	if len(w.eventTypes(p.ID)) != n {
		t.Fatalf("a callback with no news wrote events: %v", w.eventTypes(p.ID)[n:])
	}

	// A shopper's landing is sent to the payment's page.
	res = &tender.CallbackResult{PaymentID: p.ID, Landing: true}
	if reply, err := e.HandleCallback(ctx, "script", "acct", "return", r, nil); err != nil || reply.RedirectTo != "http://tender.test/pay/"+p.ID {
		t.Fatalf("landing: %+v, %v", reply, err)
	}
	res = &tender.CallbackResult{Landing: true}
	if reply, err := e.HandleCallback(ctx, "script", "acct", "return", r, nil); err != nil || reply.RedirectTo != "" {
		t.Fatalf("landing for no payment: %+v, %v", reply, err)
	}

	// Confirm: the callback's update is not believed; the provider is asked.
	q := w.authorized(e)
	q2 := w.get(q.ID)
	w.conn.status.Set(func(context.Context, *tender.Op) (tender.Update, error) {
		return tender.Update{Status: tender.StatusProcessing}, nil
	})
	res = &tender.CallbackResult{PaymentID: q.ID, Update: &tender.Update{Status: tender.StatusCanceled}, Confirm: true}
	if _, err := e.HandleCallback(ctx, "script", "acct", "notify", r, nil); err != nil {
		t.Fatal(err)
	}
	if got := w.get(q.ID); got.Status != q2.Status {
		t.Fatalf("a callback to confirm was believed: %s", got.Status)
	}
}

// TestCallbackAppliesToTheLatestPayment: the payment the connector found
// is where applying its update starts; one that changed after it was found
// is read again (the version check), so that the change is kept.
func TestCallbackAppliesToTheLatestPayment(t *testing.T) {
	var e *Engine
	var id string
	w, e := callbackWorld(t, func(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
		if _, err := cb.Find(ctx, id); err != nil {
			return nil, err
		}
		// Another writer gets there between the look-up and the update.
		if _, err := e.mutate(ctx, id, func(p *tender.Payment, _ []tender.Event) ([]tender.Event, bool, error) {
			p.Metadata = map[string]string{"by": "the other writer"}
			return []tender.Event{e.newEvent(EvUpdated, nil)}, true, nil
		}); err != nil {
			return nil, err
		}
		return &tender.CallbackResult{PaymentID: id, Update: &tender.Update{Status: tender.StatusCaptured}}, nil
	})
	id = w.authorized(e).ID
	if _, err := e.HandleCallback(context.Background(), "script", "acct", "notify", httptest.NewRequest("POST", "/", nil), nil); err != nil {
		t.Fatal(err)
	}
	got := w.get(id)
	if got.Status != tender.StatusCaptured || got.Metadata["by"] != "the other writer" {
		t.Fatalf("status %s, metadata %v: want captured with the other writer's change", got.Status, got.Metadata)
	}
}
