package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// The key reserved with the payment's insert, and answered with its update
// (CreatePaymentReserving, UpdatePaymentAnswering, GetIdempotency).

func testCreatePaymentReserving(t *testing.T, s tender.Store) {
	ctx := context.Background()
	wantCode(t, "GetIdempotency(missing)", errOf(s.GetIdempotency(ctx, "key_a", "k1")), tender.ENotFound)

	p := minimalPayment()
	rec := record("key_a", "k1", "hash1", base)
	rec.LockedUntil = base.Add(30 * time.Second)
	old, err := s.CreatePaymentReserving(ctx, rec, p, tender.Event{Type: "payment.created", CreatedAt: base})
	if err != nil || old != nil {
		t.Fatalf("CreatePaymentReserving = %+v, %v; want nil, nil", old, err)
	}
	if p.Version != 1 {
		t.Fatalf("payment version %d, want 1", p.Version)
	}
	mustGet(t, s, p.ID)
	if evs, err := s.ListEvents(ctx, p.ID); err != nil || len(evs) != 1 {
		t.Fatalf("events %+v, %v; want the created event", evs, err)
	}
	got, err := s.GetIdempotency(ctx, "key_a", "k1")
	if err != nil {
		t.Fatalf("GetIdempotency: %v", err)
	}
	diff(t, "reserved record", &tender.IdempotencyRecord{Scope: "key_a", Key: "k1", RequestHash: "hash1",
		CreatedAt: at(0), ExpiresAt: at(24 * time.Hour), LockedUntil: at(30 * time.Second)}, got)

	// The key is taken, in flight: a second create with it stores nothing,
	// whatever its hash, even after the lock ended (taking over is
	// ReserveIdempotency's).
	for _, later := range []time.Duration{time.Second, time.Minute} {
		q := minimalPayment()
		old, err = s.CreatePaymentReserving(ctx, record("key_a", "k1", "hash2", base.Add(later)), q)
		if err != nil || old == nil || old.RequestHash != "hash1" || old.Done {
			t.Fatalf("second CreatePaymentReserving = %+v, %v; want the in-flight record", old, err)
		}
		wantCode(t, "the second payment", errOf(s.GetPayment(ctx, q.ID)), tender.ENotFound)
	}
	// ReserveIdempotency sees the key too.
	if old, err := s.ReserveIdempotency(ctx, record("key_a", "k1", "hash1", base.Add(time.Second))); err != nil || old == nil {
		t.Fatalf("ReserveIdempotency of a key reserved with its payment = %+v, %v; want the record", old, err)
	}

	// A payment that cannot be stored reserves no key.
	dup := minimalPayment()
	dup.ID = p.ID
	_, err = s.CreatePaymentReserving(ctx, record("key_a", "k2", "hash1", base), dup)
	wantCode(t, "CreatePaymentReserving(duplicate payment)", err, tender.EConflict)
	wantCode(t, "the key of a payment not stored", errOf(s.GetIdempotency(ctx, "key_a", "k2")), tender.ENotFound)

	// An expired record is replaced.
	if err := s.CompleteIdempotency(ctx, "key_a", "k1", 201, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	q := minimalPayment()
	if old, err := s.CreatePaymentReserving(ctx, record("key_a", "k1", "hash9", base.Add(25*time.Hour)), q); err != nil || old != nil {
		t.Fatalf("CreatePaymentReserving over an expired record = %+v, %v; want nil, nil", old, err)
	}
	if got, _ := s.GetIdempotency(ctx, "key_a", "k1"); got == nil || got.RequestHash != "hash9" || got.Done {
		t.Fatalf("record after replacing the expired one: %+v", got)
	}
}

func testCreatePaymentReservingConcurrent(t *testing.T, s tender.Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	won := make([]bool, n)
	ps := make([]*tender.Payment, n)
	for i := range n {
		ps[i] = minimalPayment()
		wg.Go(func() {
			rec := record("key_c", "race", "hash", base)
			var old *tender.IdempotencyRecord
			var err error
			if i%2 == 0 {
				old, err = s.CreatePaymentReserving(ctx, rec, ps[i])
			} else {
				old, err = s.ReserveIdempotency(ctx, rec)
			}
			if err != nil {
				t.Errorf("reserver %d: %v", i, err)
			}
			won[i] = err == nil && old == nil
		})
	}
	wg.Wait()
	wins := 0
	for i, w := range won {
		if w {
			wins++
		}
		_, err := s.GetPayment(ctx, ps[i].ID)
		if stored := err == nil; stored != (w && i%2 == 0) {
			t.Errorf("reserver %d (won %v): payment stored %v", i, w, stored)
		}
	}
	if wins != 1 {
		t.Fatalf("%d reservers won the key, want 1", wins)
	}
}

func testUpdatePaymentAnswering(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := minimalPayment()
	if old, err := s.CreatePaymentReserving(ctx, record("key_a", "k1", "hash1", base), p); err != nil || old != nil {
		t.Fatalf("CreatePaymentReserving = %+v, %v", old, err)
	}
	p.Status = tender.StatusRequiresAction
	var seen tender.Payment
	respond := func(q *tender.Payment) (int, []byte, bool) {
		seen = *q
		b, _ := json.Marshal(map[string]any{"id": q.ID, "version": q.Version, "status": q.Status, "updated_at": q.UpdatedAt})
		return 201, b, true
	}
	ok, err := s.UpdatePaymentAnswering(ctx, p, tender.IdempotencyAnswer{Scope: "key_a", Key: "k1", Respond: respond},
		tender.Event{Type: "payment.requires_action", CreatedAt: base})
	if err != nil || !ok {
		t.Fatalf("UpdatePaymentAnswering = %v, %v; want true, nil", ok, err)
	}
	stored := mustGet(t, s, p.ID)
	if stored.Version != 2 || p.Version != 2 || stored.Status != tender.StatusRequiresAction {
		t.Fatalf("stored payment v%d %s (caller's v%d), want v2 requires_action", stored.Version, stored.Status, p.Version)
	}
	// Respond saw the payment as stored.
	if seen.Version != stored.Version || !seen.UpdatedAt.Equal(stored.UpdatedAt) || seen.Status != stored.Status {
		t.Fatalf("Respond saw v%d %s %v; stored v%d %s %v", seen.Version, seen.Status, seen.UpdatedAt, stored.Version, stored.Status, stored.UpdatedAt)
	}
	rec, err := s.GetIdempotency(ctx, "key_a", "k1")
	if err != nil || !rec.Done || rec.Status != 201 {
		t.Fatalf("answered record %+v, %v", rec, err)
	}
	want, _ := json.Marshal(map[string]any{"id": p.ID, "version": 2, "status": "requires_action", "updated_at": stored.UpdatedAt})
	if string(rec.Body) != string(want) {
		t.Fatalf("stored body %s, want %s", rec.Body, want)
	}
	if evs, _ := s.ListEvents(ctx, p.ID); len(evs) != 1 {
		t.Fatalf("%d events, want the update's", len(evs))
	}

	// The record has its response: a second answer keeps the first, and
	// the payment is stored all the same.
	p.Status = tender.StatusFailed
	ok, err = s.UpdatePaymentAnswering(ctx, p, tender.IdempotencyAnswer{Scope: "key_a", Key: "k1", Respond: respond})
	if err != nil || ok {
		t.Fatalf("UpdatePaymentAnswering of a done record = %v, %v; want false, nil", ok, err)
	}
	if rec, _ := s.GetIdempotency(ctx, "key_a", "k1"); string(rec.Body) != string(want) {
		t.Fatalf("second answer replaced the first: %s", rec.Body)
	}
	if got := mustGet(t, s, p.ID); got.Version != 3 || got.Status != tender.StatusFailed {
		t.Fatalf("payment v%d %s, want v3 failed", got.Version, got.Status)
	}

	// No record, or Respond declines: the payment is stored, no record made.
	p.Status = tender.StatusCanceled
	ok, err = s.UpdatePaymentAnswering(ctx, p, tender.IdempotencyAnswer{Scope: "key_a", Key: "none", Respond: respond})
	if err != nil || ok || mustGet(t, s, p.ID).Version != 4 {
		t.Fatalf("UpdatePaymentAnswering without a record = %v, %v", ok, err)
	}
	wantCode(t, "GetIdempotency(none)", errOf(s.GetIdempotency(ctx, "key_a", "none")), tender.ENotFound)
	q := minimalPayment()
	if old, err := s.CreatePaymentReserving(ctx, record("key_a", "k3", "hash1", base), q); err != nil || old != nil {
		t.Fatal(err)
	}
	ok, err = s.UpdatePaymentAnswering(ctx, q, tender.IdempotencyAnswer{Scope: "key_a", Key: "k3",
		Respond: func(*tender.Payment) (int, []byte, bool) { return 500, nil, false }})
	if err != nil || ok {
		t.Fatalf("UpdatePaymentAnswering declined = %v, %v", ok, err)
	}
	if rec, _ := s.GetIdempotency(ctx, "key_a", "k3"); rec == nil || rec.Done {
		t.Fatalf("declined answer stored: %+v", rec)
	}

	// A stale payment stores neither.
	stale := *q
	stale.Version = 1
	_, err = s.UpdatePaymentAnswering(ctx, &stale, tender.IdempotencyAnswer{Scope: "key_a", Key: "k3", Respond: respond})
	if err != tender.ErrVersionConflict {
		t.Fatalf("stale UpdatePaymentAnswering: %v, want ErrVersionConflict", err)
	}
	if rec, _ := s.GetIdempotency(ctx, "key_a", "k3"); rec == nil || rec.Done {
		t.Fatalf("a stale update answered the key: %+v", rec)
	}
}

func errOf[T any](_ T, err error) error { return err }
