package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func record(scope, key, hash string, created time.Time) *tender.IdempotencyRecord {
	return &tender.IdempotencyRecord{Scope: scope, Key: key, RequestHash: hash,
		CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour)}
}

func testIdempotency(t *testing.T, s tender.Store) {
	ctx := context.Background()
	rec := record("key_a", "k1", "hash1", base)
	old, err := s.ReserveIdempotency(ctx, rec)
	if err != nil || old != nil {
		t.Fatalf("first ReserveIdempotency = %+v, %v; want nil, nil", old, err)
	}

	// A second request with the key finds the first in flight.
	old, err = s.ReserveIdempotency(ctx, record("key_a", "k1", "hash2", base.Add(time.Second)))
	if err != nil || old == nil {
		t.Fatalf("second ReserveIdempotency = %+v, %v; want the in-flight record", old, err)
	}
	want := &tender.IdempotencyRecord{Scope: "key_a", Key: "k1", RequestHash: "hash1",
		CreatedAt: at(0), ExpiresAt: at(24 * time.Hour)}
	diff(t, "in-flight record", want, old)

	// The same key under another scope (API key) is another record.
	if old, err := s.ReserveIdempotency(ctx, record("key_b", "k1", "hash3", base)); err != nil || old != nil {
		t.Fatalf("ReserveIdempotency(other scope) = %+v, %v; want nil, nil", old, err)
	}

	body := []byte(`{"id":"pay_1","status":"captured"}`)
	if err := s.CompleteIdempotency(ctx, "key_a", "k1", 201, body); err != nil {
		t.Fatalf("CompleteIdempotency: %v", err)
	}
	old, err = s.ReserveIdempotency(ctx, record("key_a", "k1", "hash1", base.Add(time.Minute)))
	if err != nil || old == nil {
		t.Fatalf("ReserveIdempotency after completion = %+v, %v; want the stored response", old, err)
	}
	want.Done, want.Status, want.Body = true, 201, body
	diff(t, "completed record", want, old)

	// The first response is final: no second completion, no release.
	wantCode(t, "second CompleteIdempotency", s.CompleteIdempotency(ctx, "key_a", "k1", 500, []byte("x")), tender.EConflict)
	if err := s.ReleaseIdempotency(ctx, "key_a", "k1"); err != nil {
		t.Fatalf("ReleaseIdempotency(completed): %v", err)
	}
	old, err = s.ReserveIdempotency(ctx, record("key_a", "k1", "hash1", base.Add(time.Minute)))
	if err != nil || old == nil || old.Status != 201 || string(old.Body) != string(body) {
		t.Fatalf("completed record after release = %+v, %v; want it kept", old, err)
	}
	wantCode(t, "CompleteIdempotency(missing)", s.CompleteIdempotency(ctx, "key_a", "nope", 200, nil), tender.ENotFound)

	// Release of an in-flight record lets the request be made again.
	if err := s.ReleaseIdempotency(ctx, "key_b", "k1"); err != nil {
		t.Fatalf("ReleaseIdempotency: %v", err)
	}
	if old, err := s.ReserveIdempotency(ctx, record("key_b", "k1", "hash4", base)); err != nil || old != nil {
		t.Fatalf("ReserveIdempotency after release = %+v, %v; want nil, nil", old, err)
	}
	if err := s.ReleaseIdempotency(ctx, "key_b", "missing"); err != nil {
		t.Errorf("ReleaseIdempotency(missing) = %v, want nil", err)
	}

	// An empty response body is a response too.
	if err := s.CompleteIdempotency(ctx, "key_b", "k1", 204, nil); err != nil {
		t.Fatal(err)
	}
	old, err = s.ReserveIdempotency(ctx, record("key_b", "k1", "hash4", base))
	if err != nil || old == nil || !old.Done || old.Status != 204 || len(old.Body) != 0 {
		t.Fatalf("record with empty body = %+v, %v", old, err)
	}
}

func testIdempotencyExpiry(t *testing.T, s tender.Store) {
	ctx := context.Background()
	short := func(key string, created time.Time, ttl time.Duration) *tender.IdempotencyRecord {
		r := record("key_a", key, "h-"+key, created)
		r.ExpiresAt = created.Add(ttl)
		return r
	}
	for _, r := range []*tender.IdempotencyRecord{
		short("old1", base, time.Minute),
		short("old2", base, 2*time.Minute),
		short("fresh", base, time.Hour),
	} {
		if old, err := s.ReserveIdempotency(ctx, r); err != nil || old != nil {
			t.Fatalf("ReserveIdempotency(%s) = %+v, %v", r.Key, old, err)
		}
	}
	if err := s.CompleteIdempotency(ctx, "key_a", "old1", 200, []byte("first")); err != nil {
		t.Fatal(err)
	}
	// Not yet expired: the stored record answers.
	if old, err := s.ReserveIdempotency(ctx, short("old1", base.Add(30*time.Second), time.Hour)); err != nil || old == nil {
		t.Fatalf("ReserveIdempotency before expiry = %+v, %v; want the record", old, err)
	}
	// Expired at the new request's time: the key is free again.
	next := short("old1", base.Add(time.Minute), time.Hour)
	if old, err := s.ReserveIdempotency(ctx, next); err != nil || old != nil {
		t.Fatalf("ReserveIdempotency after expiry = %+v, %v; want nil, nil", old, err)
	}
	old, err := s.ReserveIdempotency(ctx, short("old1", base.Add(2*time.Minute), time.Hour))
	if err != nil || old == nil || old.Done || old.RequestHash != "h-old1" || !old.CreatedAt.Equal(at(time.Minute)) {
		t.Fatalf("record replacing the expired one = %+v, %v; want a new in-flight record", old, err)
	}

	// Purge removes what expired strictly before t: old2 expires at +2m.
	n, err := s.PurgeIdempotency(ctx, base.Add(2*time.Minute))
	if err != nil || n != 0 {
		t.Fatalf("PurgeIdempotency(+2m) = %d, %v; want 0", n, err)
	}
	n, err = s.PurgeIdempotency(ctx, base.Add(3*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("PurgeIdempotency(+3m) = %d, %v; want 1 (old2)", n, err)
	}
	n, err = s.PurgeIdempotency(ctx, base.Add(3*time.Minute))
	if err != nil || n != 0 {
		t.Fatalf("second PurgeIdempotency(+3m) = %d, %v; want 0", n, err)
	}
	n, err = s.PurgeIdempotency(ctx, base.Add(48*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PurgeIdempotency(later) = %d, %v; want 2", n, err)
	}
	if old, err := s.ReserveIdempotency(ctx, short("fresh", base, time.Hour)); err != nil || old != nil {
		t.Fatalf("ReserveIdempotency after purge = %+v, %v; want nil, nil", old, err)
	}
}

// testIdempotencyConcurrent: 50 concurrent requests with one key, exactly
// one reserves it; the others all see the winner's record.
func testIdempotencyConcurrent(t *testing.T, s tender.Store) {
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	type result struct {
		old *tender.IdempotencyRecord
		err error
	}
	res := make([]result, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			rec := record("key_a", "same", "hash", base.Add(time.Duration(i)*time.Microsecond))
			old, err := s.ReserveIdempotency(ctx, rec)
			res[i] = result{old, err}
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, r := range res {
		switch {
		case r.err != nil:
			t.Errorf("ReserveIdempotency: %v", r.err)
		case r.old == nil:
			won++
		case r.old.Done || r.old.Key != "same" || r.old.Scope != "key_a":
			t.Errorf("loser saw %+v, want the in-flight record", r.old)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent reservers won, want exactly 1", won, n)
	}
}
