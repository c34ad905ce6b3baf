package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// testPaymentByOperation: a retried request finds the payment it created.
func testPaymentByOperation(t *testing.T, s tender.Store) {
	ctx := context.Background()
	if _, err := s.PaymentByOperation(ctx, "op-none"); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Fatalf("PaymentByOperation(absent) = %v, want not_found", err)
	}
	if _, err := s.PaymentByOperation(ctx, ""); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Fatalf("PaymentByOperation(\"\") = %v, want not_found", err)
	}
	other := minimalPayment()
	mustCreate(t, s, other) // no operation id: never found by ""
	p := minimalPayment()
	p.OperationID = "op-1"
	mustCreate(t, s, p)
	got, err := s.PaymentByOperation(ctx, "op-1")
	if err != nil || got.ID != p.ID {
		t.Fatalf("PaymentByOperation(op-1) = %v, %v; want %s", got, err, p.ID)
	}
}

// testTerminalBusy: a second open payment on a terminal is refused by the
// store itself, also when many are created at once.
func testTerminalBusy(t *testing.T, s tender.Store) {
	ctx := context.Background()
	first := minimalPayment()
	first.Terminal, first.Status = "tb1", tender.StatusProcessing
	mustCreate(t, s, first)
	second := minimalPayment()
	second.Terminal = "tb1"
	err := s.CreatePayment(ctx, second)
	if tender.ErrorCodeOf(err) != tender.ETerminalBusy {
		t.Fatalf("second open payment on tb1: %v, want terminal_busy", err)
	}
	if _, err := s.GetPayment(ctx, second.ID); tender.ErrorCodeOf(err) != tender.ENotFound {
		t.Fatalf("the refused payment was stored: %v", err)
	}
	// A payment handed to a person (discrepancy) frees the terminal.
	first.Discrepancy = "gave up"
	if err := s.UpdatePayment(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePayment(ctx, second); err != nil {
		t.Fatalf("payment after the discrepancy freed tb1: %v", err)
	}

	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			p := minimalPayment()
			p.Terminal = "tb2"
			errs[i] = s.CreatePayment(ctx, p)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch tender.ErrorCodeOf(err) {
		case tender.ETerminalBusy:
		default:
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				continue
			}
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent payments on one terminal were stored, want 1", won, n)
	}
}

// testDiscrepancyFilter: ListPayments can keep only payments a person must
// look at.
func testDiscrepancyFilter(t *testing.T, s tender.Store) {
	ctx := context.Background()
	plain := minimalPayment()
	mustCreate(t, s, plain)
	flagged := minimalPayment()
	flagged.Discrepancy = "the provider took 1100, the payment was for 100"
	mustCreate(t, s, flagged)
	list, more, err := s.ListPayments(ctx, tender.PaymentFilter{Limit: 10, Discrepancy: true})
	if err != nil || more || len(list) != 1 || list[0].ID != flagged.ID || list[0].Discrepancy != flagged.Discrepancy {
		t.Fatalf("ListPayments(discrepancy) = %v, %v, %v; want only %s with its text", list, more, err, flagged.ID)
	}
}

// testIdempotencyLease: an in-flight key whose request died is taken over
// after its lease, by exactly one retry with the same request.
func testIdempotencyLease(t *testing.T, s tender.Store) {
	ctx := context.Background()
	rec := record("key_a", "lease", "hash", base)
	rec.LockedUntil = base.Add(30 * time.Second)
	if old, err := s.ReserveIdempotency(ctx, rec); err != nil || old != nil {
		t.Fatalf("reserve = %+v, %v", old, err)
	}
	// Within the lease: in flight.
	r2 := record("key_a", "lease", "hash", base.Add(10*time.Second))
	r2.LockedUntil = base.Add(40 * time.Second)
	if old, err := s.ReserveIdempotency(ctx, r2); err != nil || old == nil || old.Done {
		t.Fatalf("reserve within the lease = %+v, %v; want the in-flight record", old, err)
	}
	// Renewed: still in flight after the first lease would have ended.
	if err := s.RenewIdempotency(ctx, "key_a", "lease", base.Add(60*time.Second)); err != nil {
		t.Fatal(err)
	}
	r3 := record("key_a", "lease", "hash", base.Add(45*time.Second))
	r3.LockedUntil = base.Add(75 * time.Second)
	if old, err := s.ReserveIdempotency(ctx, r3); err != nil || old == nil {
		t.Fatalf("reserve after a renewal = %+v, %v; want the in-flight record", old, err)
	}
	// After the lease, another request with the key is still refused...
	other := record("key_a", "lease", "other-hash", base.Add(2*time.Minute))
	other.LockedUntil = base.Add(3 * time.Minute)
	if old, err := s.ReserveIdempotency(ctx, other); err != nil || old == nil || old.RequestHash != "hash" {
		t.Fatalf("reserve with another request after the lease = %+v, %v; want the record (mismatch)", old, err)
	}
	// ...and exactly one of many retries of the same request takes it over.
	const n = 20
	var wg sync.WaitGroup
	won := make([]bool, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r := record("key_a", "lease", "hash", base.Add(2*time.Minute+time.Duration(i)*time.Microsecond))
			r.LockedUntil = base.Add(3 * time.Minute)
			old, err := s.ReserveIdempotency(ctx, r)
			if err != nil {
				t.Errorf("takeover: %v", err)
			}
			won[i] = err == nil && old == nil
		})
	}
	close(start)
	wg.Wait()
	count := 0
	for _, w := range won {
		if w {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("%d of %d retries took the key over, want 1", count, n)
	}
	// The taker completes it; from then on it is a replay.
	if err := s.CompleteIdempotency(ctx, "key_a", "lease", 201, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	late := record("key_a", "lease", "hash", base.Add(time.Hour))
	late.LockedUntil = base.Add(time.Hour + time.Minute)
	if old, err := s.ReserveIdempotency(ctx, late); err != nil || old == nil || !old.Done || old.Status != 201 {
		t.Fatalf("reserve after completion = %+v, %v; want the stored response", old, err)
	}
}
