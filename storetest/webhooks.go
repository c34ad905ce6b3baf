package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

var endpointSeq int

func newEndpoint(t *testing.T, s tender.Store, events ...string) *tender.WebhookEndpoint {
	t.Helper()
	endpointSeq++
	w := &tender.WebhookEndpoint{
		ID: fmt.Sprintf("we%021d", endpointSeq), URL: "https://shop.example/hooks?x=1", Description: "orders ✓",
		Events: events, Sealed: []byte("sealed-secret"), CreatedAt: base,
	}
	if err := s.CreateWebhookEndpoint(context.Background(), w); err != nil {
		t.Fatalf("CreateWebhookEndpoint: %v", err)
	}
	return w
}

func deliveries(t *testing.T, s tender.Store, endpoint string) []*tender.WebhookDelivery {
	t.Helper()
	ds, _, err := s.ListWebhookDeliveries(context.Background(), tender.DeliveryFilter{EndpointID: endpoint, Limit: 100})
	if err != nil {
		t.Fatalf("ListWebhookDeliveries: %v", err)
	}
	return ds
}

func testWebhookEndpoints(t *testing.T, s tender.Store) {
	ctx := context.Background()
	w := newEndpoint(t, s, "payment.captured", "payment.failed")
	want := *w
	want.CreatedAt = at(0)
	diff(t, "endpoint after create", &want, w)
	got, err := s.GetWebhookEndpoint(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "GetWebhookEndpoint", &want, got)

	dup := *w
	wantCode(t, "CreateWebhookEndpoint(duplicate)", s.CreateWebhookEndpoint(ctx, &dup), tender.EConflict)
	_, err = s.GetWebhookEndpoint(ctx, "we-missing")
	wantCode(t, "GetWebhookEndpoint(missing)", err, tender.ENotFound)

	w2 := newEndpoint(t, s, "payment.created")
	w3 := newEndpoint(t, s, "payment.created")
	list, more, err := s.ListWebhookEndpoints(ctx, tender.ListFilter{Limit: 2})
	if err != nil || !more || len(list) != 2 || list[0].ID != w.ID || list[1].ID != w2.ID {
		t.Fatalf("ListWebhookEndpoints(limit 2) = %v, %v, %v", list, more, err)
	}
	list, more, err = s.ListWebhookEndpoints(ctx, tender.ListFilter{Limit: 2, StartingAfter: w2.ID})
	if err != nil || more || len(list) != 1 || list[0].ID != w3.ID {
		t.Fatalf("ListWebhookEndpoints(after) = %v, %v, %v", list, more, err)
	}

	if err := s.DeleteWebhookEndpoint(ctx, w2.ID, base.Add(time.Hour)); err != nil {
		t.Fatalf("DeleteWebhookEndpoint: %v", err)
	}
	_, err = s.GetWebhookEndpoint(ctx, w2.ID)
	wantCode(t, "GetWebhookEndpoint(deleted)", err, tender.ENotFound)
	wantCode(t, "DeleteWebhookEndpoint(again)", s.DeleteWebhookEndpoint(ctx, w2.ID, base), tender.ENotFound)
	wantCode(t, "DeleteWebhookEndpoint(missing)", s.DeleteWebhookEndpoint(ctx, "we-missing", base), tender.ENotFound)
	list, _, _ = s.ListWebhookEndpoints(ctx, tender.ListFilter{Limit: 10})
	if len(list) != 2 {
		t.Errorf("after delete, %d endpoints listed, want 2", len(list))
	}
	// A deleted id stays taken: its deliveries still name it.
	dup = *w2
	wantCode(t, "CreateWebhookEndpoint(deleted id)", s.CreateWebhookEndpoint(ctx, &dup), tender.EConflict)
}

// testWebhookOutbox: a delivery row is written with its event, in the same
// transaction, for each subscribed endpoint; never for a change that did
// not commit.
func testWebhookOutbox(t *testing.T, s tender.Store) {
	ctx := context.Background()
	captured := newEndpoint(t, s, "payment.captured")
	all := newEndpoint(t, s, "payment.created", "payment.processing", "payment.captured")
	gone := newEndpoint(t, s, "payment.created", "payment.captured")
	if err := s.DeleteWebhookEndpoint(ctx, gone.ID, base); err != nil {
		t.Fatal(err)
	}

	p := minimalPayment()
	mustCreate(t, s, p, tender.Event{Type: "payment.created", CreatedAt: base.Add(time.Second)})
	if ds := deliveries(t, s, captured.ID); len(ds) != 0 {
		t.Fatalf("payment.created queued for an endpoint of payment.captured only: %+v", ds)
	}
	ds := deliveries(t, s, all.ID)
	evs, _ := s.ListEvents(ctx, p.ID)
	if len(ds) != 1 || len(evs) != 1 {
		t.Fatalf("after create: deliveries %+v, events %+v", ds, evs)
	}
	diff(t, "queued delivery", &tender.WebhookDelivery{
		ID: ds[0].ID, EndpointID: all.ID, EventID: evs[0].ID, EventType: "payment.created", PaymentID: p.ID,
		Status: tender.DeliveryPending, NextAttemptAt: at(time.Second), CreatedAt: at(time.Second),
	}, ds[0])

	// Two events in one update: each is queued where subscribed; an event
	// nobody subscribes to queues nothing.
	p.Status = tender.StatusCaptured
	if err := s.UpdatePayment(ctx, p, tender.Event{Type: "payment.capture_succeeded"}, tender.Event{Type: "payment.captured"}); err != nil {
		t.Fatal(err)
	}
	if n := len(deliveries(t, s, captured.ID)); n != 1 {
		t.Errorf("endpoint of payment.captured has %d deliveries, want 1", n)
	}
	if n := len(deliveries(t, s, all.ID)); n != 2 {
		t.Errorf("endpoint of three types has %d deliveries, want 2", n)
	}
	if n := len(deliveries(t, s, gone.ID)); n != 0 {
		t.Errorf("deleted endpoint has %d deliveries, want 0", n)
	}

	// A stale update rolls back: no event, no delivery.
	stale := *p
	stale.Version--
	err := s.UpdatePayment(ctx, &stale, tender.Event{Type: "payment.captured"})
	wantCode(t, "UpdatePayment(stale)", err, tender.EConflict)
	// A duplicate create rolls back too.
	dup := minimalPayment()
	dup.ID = p.ID
	wantCode(t, "CreatePayment(duplicate)", s.CreatePayment(ctx, dup, tender.Event{Type: "payment.captured"}), tender.EConflict)
	// So does an update of a payment that does not exist.
	ghost := minimalPayment()
	wantCode(t, "UpdatePayment(missing)", s.UpdatePayment(ctx, ghost, tender.Event{Type: "payment.captured"}), tender.ENotFound)
	// And one whose context ends before it commits.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.UpdatePayment(cctx, p, tender.Event{Type: "payment.captured"}); err == nil {
		t.Fatal("UpdatePayment with a canceled context succeeded")
	}
	if n := len(deliveries(t, s, captured.ID)); n != 1 {
		t.Errorf("failed writes queued deliveries: endpoint has %d, want 1", n)
	}
	if evs, _ := s.ListEvents(ctx, p.ID); len(evs) != 3 {
		t.Errorf("failed writes appended events: %d, want 3", len(evs))
	}
	// Events without a time take the store's clock (now).
	got, err := s.ClaimWebhookDeliveries(ctx, time.Now().Add(time.Hour), time.Minute, 100)
	if err != nil || len(got) != 3 {
		t.Fatalf("ClaimWebhookDeliveries = %d deliveries, %v; want the 3 queued", len(got), err)
	}
}

func testWebhookClaim(t *testing.T, s tender.Store) {
	ctx := context.Background()
	w := newEndpoint(t, s, "payment.captured")
	var ids []int64
	for i := range 3 {
		p := minimalPayment()
		mustCreate(t, s, p, tender.Event{Type: "payment.captured", CreatedAt: base.Add(time.Duration(3-i) * time.Second)})
	}
	for _, d := range deliveries(t, s, w.ID) {
		ids = append([]int64{d.ID}, ids...) // oldest id first
	}
	now := base.Add(time.Minute)
	lease := 2 * time.Minute

	got, err := s.ClaimWebhookDeliveries(ctx, base.Add(2*time.Second), lease, 10)
	if err != nil || len(got) != 2 || got[0].ID != ids[2] || got[1].ID != ids[1] {
		t.Fatalf("ClaimWebhookDeliveries(due two) = %+v, %v; want %d, %d (oldest due first)", got, err, ids[2], ids[1])
	}
	for _, d := range got {
		if d.Attempts != 1 || !d.NextAttemptAt.Equal(at(2*time.Second+lease)) {
			t.Errorf("claimed %+v: want attempts 1, next attempt at the lease's end", d)
		}
	}
	got, err = s.ClaimWebhookDeliveries(ctx, now, lease, 10)
	if err != nil || len(got) != 1 || got[0].ID != ids[0] {
		t.Fatalf("second claim = %+v, %v; want only the unclaimed %d", got, err, ids[0])
	}
	third := got[0]

	// Succeeded: never claimed again.
	d := third
	d.Status, d.NextAttemptAt, d.LastAttemptAt, d.LastStatusCode = tender.DeliverySucceeded, time.Time{}, now, 204
	if err := s.RecordWebhookAttempt(ctx, d, tender.WebhookAttempt{DeliveryID: d.ID, Attempt: 1, At: now, StatusCode: 204, Duration: 1500 * time.Microsecond}); err != nil {
		t.Fatalf("RecordWebhookAttempt: %v", err)
	}
	// Failed, retry later.
	first, err := s.ClaimWebhookDeliveries(ctx, now.Add(lease), lease, 10)
	if err != nil || len(first) != 2 || first[0].Attempts != 2 {
		t.Fatalf("claim after the lease = %+v, %v; want the two leased, attempt 2", first, err)
	}
	retry := first[0]
	retry.NextAttemptAt, retry.LastAttemptAt, retry.LastStatusCode, retry.LastError = now.Add(time.Hour), now.Add(lease), 500, "HTTP 500"
	if err := s.RecordWebhookAttempt(ctx, retry, tender.WebhookAttempt{DeliveryID: retry.ID, Attempt: 2, At: now.Add(lease), StatusCode: 500, Error: "HTTP 500"}); err != nil {
		t.Fatal(err)
	}
	// A stale claim (attempt 1 of the same delivery) cannot overwrite it.
	staleClaim := *retry
	staleClaim.Attempts = 1
	staleClaim.Status = tender.DeliverySucceeded
	err = s.RecordWebhookAttempt(ctx, &staleClaim, tender.WebhookAttempt{DeliveryID: retry.ID, Attempt: 1, At: now, StatusCode: 200})
	wantCode(t, "RecordWebhookAttempt(stale claim)", err, tender.EConflict)

	byID := map[int64]*tender.WebhookDelivery{}
	for _, d := range deliveries(t, s, w.ID) {
		byID[d.ID] = d
	}
	diff(t, "succeeded delivery", &tender.WebhookDelivery{ID: third.ID, EndpointID: w.ID, EventID: third.EventID,
		EventType: "payment.captured", PaymentID: third.PaymentID, Status: tender.DeliverySucceeded, Attempts: 1,
		LastAttemptAt: at(time.Minute), LastStatusCode: 204, CreatedAt: third.CreatedAt}, byID[third.ID])
	if r := byID[retry.ID]; r.Status != tender.DeliveryPending || r.LastStatusCode != 500 || r.LastError != "HTTP 500" ||
		!r.NextAttemptAt.Equal(at(time.Minute+time.Hour)) || r.Attempts != 2 {
		t.Errorf("retried delivery = %+v", r)
	}
	atts, err := s.ListWebhookAttempts(ctx, retry.ID)
	if err != nil || len(atts) != 2 || atts[0].Attempt != 2 || atts[0].StatusCode != 500 || atts[1].Attempt != 1 {
		t.Errorf("ListWebhookAttempts = %+v, %v; want attempt 2 (500) then the stale attempt 1, both recorded", atts, err)
	}
	atts, _ = s.ListWebhookAttempts(ctx, third.ID)
	diff(t, "attempts", []tender.WebhookAttempt{{DeliveryID: third.ID, Attempt: 1, At: at(time.Minute), StatusCode: 204, Duration: 1500 * time.Microsecond}}, atts)

	// Not due before its next attempt; due after.
	if got, _ := s.ClaimWebhookDeliveries(ctx, now.Add(59*time.Minute), lease, 10); len(got) != 1 || got[0].ID == retry.ID {
		t.Errorf("claim before the retry time = %+v", got)
	}
	if got, _ := s.ClaimWebhookDeliveries(ctx, now.Add(2*time.Hour), lease, 10); len(got) != 2 {
		t.Errorf("claim after the retry time = %d deliveries, want 2", len(got))
	}
	if got, err := s.ClaimWebhookDeliveries(ctx, now.Add(24*time.Hour), lease, 0); err != nil || len(got) != 0 {
		t.Errorf("claim with limit 0 = %v, %v", got, err)
	}

	// Paging, newest first.
	page, more, err := s.ListWebhookDeliveries(ctx, tender.DeliveryFilter{EndpointID: w.ID, Limit: 2})
	if err != nil || !more || len(page) != 2 || page[0].ID != ids[2] {
		t.Fatalf("ListWebhookDeliveries(limit 2) = %+v, %v, %v", page, more, err)
	}
	page, more, err = s.ListWebhookDeliveries(ctx, tender.DeliveryFilter{EndpointID: w.ID, Limit: 2, StartingAfter: page[1].ID})
	if err != nil || more || len(page) != 1 || page[0].ID != ids[0] {
		t.Fatalf("ListWebhookDeliveries(next page) = %+v, %v, %v", page, more, err)
	}

	// Purging removes finished deliveries older than the cutoff with their
	// attempts, never a pending one.
	if n, err := s.PurgeWebhookDeliveries(ctx, third.CreatedAt); err != nil || n != 0 {
		t.Fatalf("PurgeWebhookDeliveries(at the oldest) = %d, %v; want 0", n, err)
	}
	if n, err := s.PurgeWebhookDeliveries(ctx, base.Add(24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("PurgeWebhookDeliveries = %d, %v; want the 1 succeeded", n, err)
	}
	left := deliveries(t, s, w.ID)
	if len(left) != 2 {
		t.Fatalf("after purge %d deliveries, want the 2 pending", len(left))
	}
	for _, d := range left {
		if d.ID == third.ID || d.Status != tender.DeliveryPending {
			t.Errorf("purge left %+v", d)
		}
	}
	if atts, err := s.ListWebhookAttempts(ctx, third.ID); err != nil || len(atts) != 0 {
		t.Errorf("attempts of a purged delivery = %+v, %v", atts, err)
	}
}

// testWebhookDelete: deleting an endpoint cancels what it still had to
// receive, and a claim in flight cannot revive it.
func testWebhookDelete(t *testing.T, s tender.Store) {
	ctx := context.Background()
	w := newEndpoint(t, s, "payment.captured")
	for range 2 {
		mustCreate(t, s, minimalPayment(), tender.Event{Type: "payment.captured", CreatedAt: base})
	}
	inFlight, err := s.ClaimWebhookDeliveries(ctx, base, time.Minute, 1)
	if err != nil || len(inFlight) != 1 {
		t.Fatal(inFlight, err)
	}
	if err := s.DeleteWebhookEndpoint(ctx, w.ID, base); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, minimalPayment(), tender.Event{Type: "payment.captured", CreatedAt: base})
	ds := deliveries(t, s, w.ID)
	if len(ds) != 2 {
		t.Fatalf("deleted endpoint has %d deliveries, want the 2 from before", len(ds))
	}
	for _, d := range ds {
		if d.Status != tender.DeliveryCanceled || !d.NextAttemptAt.IsZero() {
			t.Errorf("after delete: %+v, want canceled", d)
		}
	}
	d := inFlight[0]
	d.Status, d.NextAttemptAt = tender.DeliverySucceeded, time.Time{}
	err = s.RecordWebhookAttempt(ctx, d, tender.WebhookAttempt{DeliveryID: d.ID, Attempt: 1, At: base, StatusCode: 200})
	wantCode(t, "RecordWebhookAttempt(canceled)", err, tender.EConflict)
	if got, _ := s.ClaimWebhookDeliveries(ctx, base.Add(time.Hour), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed %d deliveries of a deleted endpoint", len(got))
	}
	if atts, _ := s.ListWebhookAttempts(ctx, d.ID); len(atts) != 1 {
		t.Errorf("the in-flight attempt was not recorded: %+v", atts)
	}
}

// testWebhookClaimConcurrent: dispatchers claiming at once (other
// instances) never get one delivery twice, while events keep arriving.
func testWebhookClaimConcurrent(t *testing.T, s tender.Store) {
	ctx := context.Background()
	w := newEndpoint(t, s, "payment.captured")
	const n = 40
	now := base.Add(time.Hour)
	var (
		mu    sync.Mutex
		seen  = map[int64]int{}
		wg    sync.WaitGroup
		write sync.WaitGroup
	)
	write.Go(func() {
		for range n {
			p := minimalPayment()
			if err := s.CreatePayment(ctx, p, tender.Event{Type: "payment.captured", CreatedAt: base}); err != nil {
				t.Errorf("CreatePayment: %v", err)
				return
			}
		}
	})
	for range 8 {
		wg.Go(func() {
			for {
				ds, err := s.ClaimWebhookDeliveries(ctx, now, time.Hour, 3)
				if err != nil {
					t.Errorf("ClaimWebhookDeliveries: %v", err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				done := len(seen) == n
				mu.Unlock()
				if done || t.Failed() {
					return
				}
			}
		})
	}
	write.Wait()
	wg.Wait()
	for id, c := range seen {
		if c != 1 {
			t.Errorf("delivery %d claimed %d times", id, c)
		}
	}
	if len(seen) != n || len(deliveries(t, s, w.ID)) != n {
		t.Errorf("%d deliveries claimed, want %d", len(seen), n)
	}
}
