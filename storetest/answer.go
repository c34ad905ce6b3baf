package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	old, err := s.CreatePaymentReserving(ctx, rec, tender.CreateChecks{}, p, tender.Event{Type: "payment.created", CreatedAt: base})
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
		old, err = s.CreatePaymentReserving(ctx, record("key_a", "k1", "hash2", base.Add(later)), tender.CreateChecks{}, q)
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
	_, err = s.CreatePaymentReserving(ctx, record("key_a", "k2", "hash1", base), tender.CreateChecks{}, dup)
	wantCode(t, "CreatePaymentReserving(duplicate payment)", err, tender.EConflict)
	wantCode(t, "the key of a payment not stored", errOf(s.GetIdempotency(ctx, "key_a", "k2")), tender.ENotFound)

	// An expired record is replaced.
	if err := s.CompleteIdempotency(ctx, "key_a", "k1", 201, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	q := minimalPayment()
	if old, err := s.CreatePaymentReserving(ctx, record("key_a", "k1", "hash9", base.Add(25*time.Hour)), tender.CreateChecks{}, q); err != nil || old != nil {
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
				old, err = s.CreatePaymentReserving(ctx, rec, tender.CreateChecks{}, ps[i])
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
	if old, err := s.CreatePaymentReserving(ctx, record("key_a", "k1", "hash1", base), tender.CreateChecks{}, p); err != nil || old != nil {
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
	if old, err := s.CreatePaymentReserving(ctx, record("key_a", "k3", "hash1", base), tender.CreateChecks{}, q); err != nil || old != nil {
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

// testCreatePaymentReservingChecks: the reads a create would make before
// its insert, made in its transaction (CreateChecks), on both of the
// insert's paths (PostgreSQL writes a terminal's payment in a transaction
// of several statements, any other in one).
func testCreatePaymentReservingChecks(t *testing.T, s tender.Store) {
	ctx := context.Background()
	acct := &tender.Account{ID: "chk-1", Connector: "sepay", Environment: tender.EnvSandbox, Default: true,
		Settings: map[string]string{}, Sealed: []byte("sealed-1"), CreatedAt: base}
	if err := s.CreateAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	for i, terminal := range []string{"", "chk-term"} {
		key := func(name string) *tender.IdempotencyRecord {
			return record("key_chk", fmt.Sprintf("%s-%d", name, i), "hash1", base)
		}
		pay := func(op string) *tender.Payment {
			p := minimalPayment()
			p.Account, p.OperationID, p.Terminal = acct.ID, op, terminal
			p.Status = tender.StatusFailed // keeps the terminal free
			return p
		}
		refused := func(what string, rec *tender.IdempotencyRecord, chk tender.CreateChecks, p *tender.Payment, want error) {
			t.Helper()
			old, err := s.CreatePaymentReserving(ctx, rec, chk, p)
			if old != nil || !errors.Is(err, want) {
				t.Fatalf("%s (terminal %q): %+v, %v; want %v", what, terminal, old, err, want)
			}
			wantCode(t, what+": the key", errOf(s.GetIdempotency(ctx, rec.Scope, rec.Key)), tender.ENotFound)
			wantCode(t, what+": the payment", errOf(s.GetPayment(ctx, p.ID)), tender.ENotFound)
		}
		stored := func(what string, rec *tender.IdempotencyRecord, chk tender.CreateChecks, p *tender.Payment) {
			t.Helper()
			if old, err := s.CreatePaymentReserving(ctx, rec, chk, p); err != nil || old != nil {
				t.Fatalf("%s (terminal %q): %+v, %v; want nil, nil", what, terminal, old, err)
			}
			mustGet(t, s, p.ID)
		}
		op := fmt.Sprintf("op-chk-%d", i)
		opOnly := tender.CreateChecks{Operation: true}
		stored("a first payment of its operation", key("first"), opOnly, pay(op))
		// A retry under a key released or expired finds the payment its
		// operation made.
		refused("a second payment of the operation", key("second"), opOnly, pay(op), tender.ErrOperationExists)
		// Unchecked, or another operation, or another merchant's: stored.
		stored("unchecked", key("unchecked"), tender.CreateChecks{}, pay(op))
		stored("another operation", key("other"), opOnly, pay(op+"-other"))
		theirs := pay(op)
		theirs.Merchant = "m_other"
		stored("another merchant's payment of the operation id", key("theirs"), opOnly, theirs)
		// A live key is answered before the check: its request's
		// response comes first.
		if err := s.CompleteIdempotency(ctx, "key_chk", fmt.Sprintf("first-%d", i), 201, []byte(`{"id":"first"}`)); err != nil {
			t.Fatal(err)
		}
		old, err := s.CreatePaymentReserving(ctx, key("first"), opOnly, pay(op))
		if err != nil || old == nil || !old.Done || string(old.Body) != `{"id":"first"}` {
			t.Fatalf("a live key with a payment of its operation (terminal %q): %+v, %v; want the record", terminal, old, err)
		}

		// The account as read.
		sealed := tender.CreateChecks{AccountSealed: []byte("sealed-1"), AccountDefault: true}
		stored("the account as read", key("acct"), sealed, pay(""))
		stale := tender.CreateChecks{AccountSealed: []byte("sealed-0")}
		refused("an account changed since it was read", key("stale"), stale, pay(""), tender.ErrStale)
	}

	// The default moves to another account: the first is no longer read
	// as the default.
	second := &tender.Account{ID: "chk-2", Connector: "sepay", Environment: tender.EnvSandbox, Default: false,
		Settings: map[string]string{}, Sealed: []byte("sealed-2"), CreatedAt: base}
	if err := s.CreateAccount(ctx, second); err != nil {
		t.Fatal(err)
	}
	second.Default, second.Sealed = true, []byte("sealed-2b")
	if err := s.UpdateAccount(ctx, second, []byte("sealed-2")); err != nil {
		t.Fatal(err)
	}
	p := minimalPayment()
	p.Account = acct.ID
	_, err := s.CreatePaymentReserving(ctx, record("key_chk", "moved", "hash1", base), tender.CreateChecks{AccountSealed: []byte("sealed-1"), AccountDefault: true}, p)
	if !errors.Is(err, tender.ErrStale) {
		t.Fatalf("a default account no longer the default: %v; want ErrStale", err)
	}
	if _, err := s.CreatePaymentReserving(ctx, record("key_chk", "named", "hash1", base), tender.CreateChecks{AccountSealed: []byte("sealed-1")}, p); err != nil {
		t.Fatalf("the same account named by id: %v", err)
	}
}
