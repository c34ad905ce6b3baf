package engine_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api"
	"github.com/tenderpay/tender/engine"
	"github.com/tenderpay/tender/postgres"
	"github.com/tenderpay/tender/seal"
	"github.com/tenderpay/tender/sqlite"
	"github.com/tenderpay/tender/webhook"
)

// backend opens a store, and more handles on the same database, as other
// Tender instances would have.
type backend struct {
	name string
	open func(t *testing.T) func() tender.Store
}

func backends(t *testing.T) []backend {
	bs := []backend{{"sqlite", func(t *testing.T) func() tender.Store {
		path := filepath.Join(t.TempDir(), "tender.db")
		return func() tender.Store {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	}}}
	dsn := os.Getenv("TENDER_TEST_POSTGRES")
	if dsn == "" {
		t.Log("PostgreSQL skipped: set TENDER_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run these on PostgreSQL too (.ci/run does)")
		return bs
	}
	return append(bs, backend{"postgres", func(t *testing.T) func() tender.Store {
		cfg := pgSchema(t, dsn)
		return func() tender.Store {
			db, err := postgres.OpenConfig(context.Background(), cfg.Copy())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	}})
}

// pgSchema makes a schema of the test's own, dropped when it ends.
func pgSchema(t *testing.T, dsn string) *pgxpool.Config {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("TENDER_TEST_POSTGRES is set but PostgreSQL is unreachable: %v", err)
	}
	defer admin.Close(ctx)
	var b [8]byte
	rand.Read(b[:])
	schema := "tender_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer admin.Close(ctx)
		admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	return cfg
}

var testSealer, _ = seal.New(bytes.Repeat([]byte{7}, seal.KeySize))

// newEngine returns an engine with fast retries on store, and its metrics.
func newEngine(t *testing.T, store tender.Store, log *slog.Logger, edit func(*engine.WebhookOptions)) (*engine.Engine, *prometheus.Registry) {
	t.Helper()
	o := engine.WebhookOptions{Object: api.PaymentObject, AllowHTTP: true, Poll: 10 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond, Timeout: 2 * time.Second}
	if edit != nil {
		edit(&o)
	}
	reg := prometheus.NewRegistry()
	e, err := engine.New(engine.Options{Store: store, Sealer: testSealer, Logger: log, Webhooks: o, Metrics: engine.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	return e, reg
}

// run runs the engine's dispatcher until the test ends.
func run(t *testing.T, e *engine.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.RunWebhooks(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunWebhooks: %v", err)
		}
	})
}

// received is one verified delivery.
type received struct {
	ev     *webhook.Event
	header string // Tender-Event-Id
	status int    // what the receiver answered
}

// receiver is a merchant's endpoint: it verifies each delivery with the
// webhook package and answers what answer says.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	answer func(ev *webhook.Event, n int) int // n: how often this event came before

	mu       sync.Mutex
	got      []received
	count    map[int64]int
	inFlight map[int64]int
	overlaps int
	bad      int
	delay    time.Duration
}

func newReceiver(t *testing.T, answer func(ev *webhook.Event, n int) int) *receiver {
	r := &receiver{t: t, answer: answer, count: map[int64]int{}, inFlight: map[int64]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	// Standard Webhooks, and the deprecated Tender-Signature still.
	ev, err := webhook.ParseStandard(secret, req.Header, body, webhook.DefaultTolerance, time.Now())
	if err == nil {
		//lint:ignore SA1019 the deprecated header is still sent
		_, err = webhook.Parse(secret, req.Header.Get(webhook.SignatureHeader), body, webhook.DefaultTolerance, time.Now())
	}
	if err == nil && (req.Header.Get(webhook.IDHeader) != ev.ID || !strings.HasPrefix(ev.ID, "evt_")) {
		err = fmt.Errorf("webhook-id %q for event %q", req.Header.Get(webhook.IDHeader), ev.ID)
	}
	if err != nil || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		r.t.Errorf("receiver: bad delivery (%v): %s %s", err, req.Method, body)
		w.WriteHeader(400)
		return
	}
	id := evNum(ev.ID)
	r.mu.Lock()
	n := r.count[id]
	r.count[id]++
	r.inFlight[id]++
	if r.inFlight[id] > 1 {
		r.overlaps++
	}
	delay := r.delay
	r.mu.Unlock()
	time.Sleep(delay)
	status := 204
	if r.answer != nil {
		status = r.answer(ev, n)
	}
	r.mu.Lock()
	r.inFlight[id]--
	//lint:ignore SA1019 the deprecated header is still sent
	r.got = append(r.got, received{ev, req.Header.Get(webhook.EventIDHeader), status})
	r.mu.Unlock()
	w.WriteHeader(status)
}

// evNum is the store's id of a public event id "evt_<n>".
func evNum(id string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "evt_"), 10, 64)
	if err != nil {
		panic("event id " + id)
	}
	return n
}

// delivered returns the events answered 2xx, by id.
func (r *receiver) delivered() map[int64]*webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[int64]*webhook.Event{}
	for _, g := range r.got {
		if g.status/100 == 2 {
			m[evNum(g.ev.ID)] = g.ev
		}
	}
	return m
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *receiver) endpoint(t *testing.T, e *engine.Engine, events []string) *tender.WebhookEndpoint {
	t.Helper()
	w, err := e.CreateWebhookEndpoint(context.Background(), engine.WebhookEndpointRequest{URL: r.srv.URL + "/hooks?token=merchant-token", Events: events})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = w.Secret
	r.mu.Unlock()
	return w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pay stores a payment and moves it through statuses, each with its event,
// as the engine does.
func pay(t *testing.T, s tender.Store, statuses ...tender.Status) *tender.Payment {
	t.Helper()
	ctx := context.Background()
	p := &tender.Payment{ID: tender.NewID("pay"), Amount: 1050, Currency: "EUR", Status: tender.StatusPending, Connector: "sepay"}
	if err := s.CreatePayment(ctx, p, tender.Event{Type: engine.EvCreated}); err != nil {
		t.Fatal(err)
	}
	for _, st := range statuses {
		p.Status = st
		if err := s.UpdatePayment(ctx, p, tender.Event{Type: "payment." + string(st)}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func pendingDeliveries(t *testing.T, s tender.Store, endpoint string) int {
	ds, _, err := s.ListWebhookDeliveries(context.Background(), tender.DeliveryFilter{EndpointID: endpoint, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range ds {
		if d.Status == tender.DeliveryPending {
			n++
		}
	}
	return n
}

func counter(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tender_webhook_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestWebhookRetryThenDelivered: the receiver fails the first attempt of
// each event with a 500, then takes it; every attempt is recorded, the
// payload is the payment as the API shows it, and nothing secret is logged.
func TestWebhookRetryThenDelivered(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)()
			var logs syncBuffer
			e, reg := newEngine(t, s, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
			r := newReceiver(t, func(ev *webhook.Event, n int) int {
				if n == 0 {
					return 500
				}
				return 200
			})
			w := r.endpoint(t, e, nil)
			run(t, e)
			p := pay(t, s, tender.StatusProcessing, tender.StatusCaptured)
			waitFor(t, "3 events delivered", func() bool { return len(r.delivered()) == 3 })
			waitFor(t, "deliveries recorded", func() bool { return pendingDeliveries(t, s, w.ID) == 0 })

			events, _ := s.ListEvents(context.Background(), p.ID)
			got := r.delivered()
			for _, ev := range events {
				d := got[ev.ID]
				if d == nil || d.Type != ev.Type || d.Object != "event" || !d.CreatedAt.Equal(ev.CreatedAt) {
					t.Errorf("event %d %s: delivered %+v", ev.ID, ev.Type, d)
					continue
				}
				var obj map[string]any
				json.Unmarshal(d.Data.Object, &obj)
				if obj["id"] != p.ID || obj["object"] != "payment" || obj["status"] != "captured" || obj["amount"] != 1050.0 {
					t.Errorf("data.object = %v, want the payment as the API shows it now", obj)
				}
			}
			r.mu.Lock()
			for _, g := range r.got {
				if g.header != g.ev.ID {
					t.Errorf("Tender-Event-Id %q for event %s", g.header, g.ev.ID)
				}
			}
			r.mu.Unlock()

			ds, _, _ := s.ListWebhookDeliveries(context.Background(), tender.DeliveryFilter{EndpointID: w.ID})
			if len(ds) != 3 {
				t.Fatalf("%d deliveries, want 3", len(ds))
			}
			for _, d := range ds {
				if d.Status != tender.DeliverySucceeded || d.Attempts != 2 || d.LastStatusCode != 200 || d.LastError != "" || !d.NextAttemptAt.IsZero() {
					t.Errorf("delivery %+v: want succeeded on the second attempt", d)
				}
				atts, _ := s.ListWebhookAttempts(context.Background(), d.ID)
				if len(atts) != 2 || atts[0].StatusCode != 500 || atts[0].Error != "the endpoint answered HTTP 500" || atts[1].StatusCode != 200 || atts[1].Error != "" {
					t.Errorf("attempts of %d: %+v", d.ID, atts)
				}
			}
			// The metrics follow each recorded attempt.
			waitFor(t, "metrics", func() bool { return counter(t, reg, "delivered") == 3 })
			if c := counter(t, reg, "retry"); c != 3 {
				t.Errorf("retry counter %v, want 3", c)
			}
			for _, leak := range []string{w.Secret, "whsec_", "merchant-token"} {
				if strings.Contains(logs.String(), leak) {
					t.Errorf("the log holds %q:\n%s", leak, logs.String())
				}
			}
		})
	}
}

// TestWebhookGivesUp: a receiver that never takes a delivery ends it as
// failed once its retry window is over; a slow one counts as failed.
func TestWebhookGivesUp(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)()
			e, reg := newEngine(t, s, nil, func(o *engine.WebhookOptions) {
				o.GiveUpAfter = 300 * time.Millisecond
				o.Timeout = 100 * time.Millisecond
			})
			r := newReceiver(t, func(*webhook.Event, int) int { return 503 })
			r.delay = 150 * time.Millisecond // past the timeout: no answer
			w := r.endpoint(t, e, []string{"payment.failed"})
			run(t, e)
			pay(t, s, tender.StatusFailed)
			waitFor(t, "the delivery to fail", func() bool { return counter(t, reg, "failed") == 1 })
			ds, _, _ := s.ListWebhookDeliveries(context.Background(), tender.DeliveryFilter{EndpointID: w.ID})
			if len(ds) != 1 || ds[0].Status != tender.DeliveryFailed || ds[0].Attempts < 2 || ds[0].LastError != "no answer within 100ms" || ds[0].LastStatusCode != 0 {
				t.Fatalf("deliveries %+v: want one failed after several attempts without answer", ds[0])
			}
			if len(r.delivered()) != 0 {
				t.Error("a delivery that was never answered 2xx counted as delivered")
			}
		})
	}
}

// TestWebhookOnlySubscribed: an endpoint receives only the event types it
// lists.
func TestWebhookOnlySubscribed(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)()
			e, _ := newEngine(t, s, nil, nil)
			capturedOnly := newReceiver(t, nil)
			failedOnly := newReceiver(t, nil)
			wc := capturedOnly.endpoint(t, e, []string{"payment.captured"})
			wf := failedOnly.endpoint(t, e, []string{"payment.failed", "payment.refunded"})
			run(t, e)
			p1 := pay(t, s, tender.StatusProcessing, tender.StatusCaptured)
			p2 := pay(t, s, tender.StatusProcessing, tender.StatusFailed)
			waitFor(t, "both endpoints served", func() bool {
				return pendingDeliveries(t, s, wc.ID) == 0 && pendingDeliveries(t, s, wf.ID) == 0 &&
					len(capturedOnly.delivered()) == 1 && len(failedOnly.delivered()) == 1
			})
			for _, c := range []struct {
				r       *receiver
				typ, id string
			}{{capturedOnly, "payment.captured", p1.ID}, {failedOnly, "payment.failed", p2.ID}} {
				for _, ev := range c.r.delivered() {
					var obj struct{ ID string }
					json.Unmarshal(ev.Data.Object, &obj)
					if ev.Type != c.typ || obj.ID != c.id {
						t.Errorf("received %s of %s, want only %s of %s", ev.Type, obj.ID, c.typ, c.id)
					}
				}
				if n := c.r.requests(); n != 1 {
					t.Errorf("endpoint of %s got %d requests, want 1", c.typ, n)
				}
			}
		})
	}
}

// TestWebhookDeletedEndpoint: once deleted, an endpoint receives nothing
// more: its retries stop and new events are not queued for it.
func TestWebhookDeletedEndpoint(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)()
			e, _ := newEngine(t, s, nil, nil)
			failing := newReceiver(t, func(*webhook.Event, int) int { return 500 })
			live := newReceiver(t, nil)
			wd := failing.endpoint(t, e, nil)
			live.endpoint(t, e, nil)
			run(t, e)
			pay(t, s, tender.StatusProcessing)
			waitFor(t, "a few failed attempts", func() bool { return failing.requests() >= 3 })
			if err := e.DeleteWebhookEndpoint(context.Background(), wd.ID); err != nil {
				t.Fatal(err)
			}
			before := failing.requests()
			last := pay(t, s, tender.StatusCaptured)
			events, _ := s.ListEvents(context.Background(), last.ID)
			waitFor(t, "the live endpoint to get everything", func() bool { return len(live.delivered()) == 4 })
			time.Sleep(200 * time.Millisecond) // many retry periods
			if after := failing.requests(); after > before+1 {
				t.Errorf("deleted endpoint got %d more requests, want at most the one in flight", after-before)
			}
			failing.mu.Lock()
			for _, g := range failing.got {
				if evNum(g.ev.ID) >= events[0].ID {
					t.Errorf("deleted endpoint received event %s created after its deletion", g.ev.ID)
				}
			}
			failing.mu.Unlock()
			if _, err := e.GetWebhookEndpoint(context.Background(), wd.ID); tender.ErrorCodeOf(err) != tender.ENotFound {
				t.Errorf("GetWebhookEndpoint(deleted) = %v, want not found", err)
			}
		})
	}
}

// TestWebhookTwoDispatchers: two Tender instances on one database deliver
// every event once, never the same one concurrently.
func TestWebhookTwoDispatchers(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			open := b.open(t)
			s1, s2 := open(), open()
			e1, reg1 := newEngine(t, s1, nil, func(o *engine.WebhookOptions) { o.Workers = 3 })
			e2, reg2 := newEngine(t, s2, nil, func(o *engine.WebhookOptions) { o.Workers = 3 })
			r := newReceiver(t, nil)
			r.delay = 3 * time.Millisecond
			r.endpoint(t, e1, []string{"payment.created", "payment.captured"})
			run(t, e1)
			run(t, e2)
			const n = 30
			var wg sync.WaitGroup
			for i := range n {
				s := s1
				if i%2 == 1 {
					s = s2
				}
				wg.Go(func() { pay(t, s, tender.StatusCaptured) })
			}
			wg.Wait()
			waitFor(t, "every event delivered", func() bool { return len(r.delivered()) == 2*n })
			// A dispatcher counts a delivery once its attempt is recorded,
			// which may commit after the receiver answered.
			waitFor(t, "every delivery recorded", func() bool {
				return counter(t, reg1, "delivered")+counter(t, reg2, "delivered") >= 2*n
			})
			time.Sleep(100 * time.Millisecond)
			r.mu.Lock()
			defer r.mu.Unlock()
			for id, c := range r.count {
				if c != 1 {
					t.Errorf("event %d delivered %d times", id, c)
				}
			}
			if r.overlaps != 0 {
				t.Errorf("%d concurrent deliveries of one event", r.overlaps)
			}
			d1, d2 := counter(t, reg1, "delivered"), counter(t, reg2, "delivered")
			if d1+d2 != 2*n {
				t.Errorf("dispatchers delivered %v + %v, want %d", d1, d2, 2*n)
			}
			t.Logf("instance 1 delivered %v, instance 2 %v", d1, d2)
		})
	}
}

func TestWebhookEndpointValidation(t *testing.T) {
	s, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live, _ := newEngine(t, s, nil, func(o *engine.WebhookOptions) { o.AllowHTTP = false })
	tests := []struct {
		url    string
		events []string
		param  string
	}{
		{"", nil, "url"},
		{"shop.example/hooks", nil, "url"},
		{"/hooks", nil, "url"},
		{"http://shop.example/hooks", nil, "url"},
		{"ftp://shop.example/hooks", nil, "url"},
		{"https://user:pw@shop.example/hooks", nil, "url"},
		{"https://shop.example/hooks#x", nil, "url"},
		{"https:///hooks", nil, "url"},
		{"https://shop.example/" + strings.Repeat("a", 2100), nil, "url"},
		{"https://shop.example/hooks", []string{}, "events"},
		{"https://shop.example/hooks", []string{"payment.captured", "payment.capture_requested"}, "events"},
		{"https://shop.example/hooks", []string{"callback.rejected"}, "events"},
	}
	for _, tt := range tests {
		_, err := live.CreateWebhookEndpoint(context.Background(), engine.WebhookEndpointRequest{URL: tt.url, Events: tt.events})
		if e := tender.AsError(err); e == nil || e.Code != tender.EInvalid || e.Param != tt.param {
			t.Errorf("url %q events %q: %v, want invalid %s", tt.url, tt.events, err, tt.param)
		} else if strings.Contains(e.Message, "pw") {
			t.Errorf("the error echoes the password: %s", e.Message)
		}
	}
	w, err := live.CreateWebhookEndpoint(context.Background(), engine.WebhookEndpointRequest{URL: "https://shop.example:8443/hooks?a=b",
		Events: []string{"payment.captured", "payment.captured", "payment.refund_succeeded"}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(w.Events) != "[payment.captured payment.refund_succeeded]" || !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) < 40 {
		t.Errorf("endpoint %+v", w)
	}
	stored, _ := s.GetWebhookEndpoint(context.Background(), w.ID)
	if len(stored.Sealed) == 0 || bytes.Contains(stored.Sealed, []byte(w.Secret)) || stored.Secret != "" {
		t.Error("the secret is not sealed at rest")
	}
	if got, _ := live.GetWebhookEndpoint(context.Background(), w.ID); got.Secret != "" || got.Sealed != nil {
		t.Error("GetWebhookEndpoint returns the secret")
	}
	all, _ := live.CreateWebhookEndpoint(context.Background(), engine.WebhookEndpointRequest{URL: "https://shop.example/all"})
	if fmt.Sprint(all.Events) != fmt.Sprint(engine.WebhookEventTypes) {
		t.Errorf("default events %v, want all of %v", all.Events, engine.WebhookEventTypes)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
