package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// createSeries stores n payments, each a second newer than the one before,
// plus two sharing one CreatedAt (ordered by id), and returns all ids newest
// first.
func createSeries(t *testing.T, s tender.Store, n int, edit func(i int, p *tender.Payment)) []string {
	var want []string
	for i := range n {
		p := minimalPayment()
		p.CreatedAt = base.Add(time.Duration(i) * time.Second)
		if i == n-1 {
			p.CreatedAt = base.Add(time.Duration(i-1) * time.Second) // a tie with the previous one
		}
		if edit != nil {
			edit(i, p)
		}
		mustCreate(t, s, p)
		want = append(want, p.ID)
	}
	slices.Reverse(want)
	return want
}

func testListPayments(t *testing.T, s tender.Store) {
	ctx := context.Background()
	ps, more, err := s.ListPayments(ctx, tender.PaymentFilter{Limit: 10})
	if err != nil || len(ps) != 0 || more {
		t.Fatalf("ListPayments(empty store) = %v, %v, %v", ids(ps), more, err)
	}
	want := createSeries(t, s, 25, nil)

	var got []string
	var pages []bool
	after := ""
	for range 10 {
		ps, more, err := s.ListPayments(ctx, tender.PaymentFilter{Limit: 10, StartingAfter: after})
		if err != nil {
			t.Fatalf("ListPayments(after %q): %v", after, err)
		}
		got = append(got, ids(ps)...)
		pages = append(pages, more)
		if !more {
			break
		}
		after = ps[len(ps)-1].ID
	}
	diff(t, "ids over all pages, newest first", want, got)
	diff(t, "has more per page", []bool{true, true, false}, pages)

	// An exact last page says no more.
	ps, more, err = s.ListPayments(ctx, tender.PaymentFilter{Limit: 5, StartingAfter: want[19]})
	if err != nil || more || len(ps) != 5 {
		t.Errorf("last exact page: %d payments, more %v, err %v; want 5, false", len(ps), more, err)
	}
	// A full payment comes back whole from a list too.
	full := fullPayment()
	full.CreatedAt = base.Add(time.Hour)
	mustCreate(t, s, full)
	ps, _, err = s.ListPayments(ctx, tender.PaymentFilter{Limit: 1})
	if err != nil || len(ps) != 1 {
		t.Fatalf("ListPayments(limit 1) = %v, %v", ids(ps), err)
	}
	diff(t, "listed payment", full, ps[0])

	// Limits outside 1..100 are clamped, not errors.
	ps, _, err = s.ListPayments(ctx, tender.PaymentFilter{Limit: 1000})
	if err != nil || len(ps) != 26 {
		t.Errorf("ListPayments(limit 1000) = %d payments, %v; want all 26", len(ps), err)
	}
	ps, _, err = s.ListPayments(ctx, tender.PaymentFilter{})
	if err != nil || len(ps) < 1 || len(ps) > 100 {
		t.Errorf("ListPayments(limit 0) = %d payments, %v; want a default page", len(ps), err)
	}
}

func testListPaymentsFilters(t *testing.T, s tender.Store) {
	ctx := context.Background()
	connectors := []string{"sepay", "computop", "epay"}
	statuses := []tender.Status{tender.StatusCaptured, tender.StatusFailed}
	all := createSeries(t, s, 12, func(i int, p *tender.Payment) {
		p.Connector = connectors[i%3]
		p.Status = statuses[i%2]
		if i%4 == 0 {
			p.Terminal = "t1"
		}
	})
	// all is newest first; index i of the series is all[11-i].
	pick := func(keep func(i int) bool) []string {
		var out []string
		for j, id := range all {
			if keep(11 - j) {
				out = append(out, id)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    tender.PaymentFilter
		want []string
	}{
		{"status", tender.PaymentFilter{Status: tender.StatusFailed}, pick(func(i int) bool { return i%2 == 1 })},
		{"connector", tender.PaymentFilter{Connector: "computop"}, pick(func(i int) bool { return i%3 == 1 })},
		{"terminal", tender.PaymentFilter{Terminal: "t1"}, pick(func(i int) bool { return i%4 == 0 })},
		{"status and connector", tender.PaymentFilter{Status: tender.StatusCaptured, Connector: "sepay"},
			pick(func(i int) bool { return i%2 == 0 && i%3 == 0 })},
		{"none match", tender.PaymentFilter{Connector: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Page by two so the cursor is combined with the filter.
			var got []string
			f := tc.f
			f.Limit = 2
			for {
				ps, more, err := s.ListPayments(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(ps)...)
				if !more {
					break
				}
				f.StartingAfter = ps[len(ps)-1].ID
			}
			diff(t, "ids", tc.want, got)
		})
	}
}

func testListPaymentsBadCursor(t *testing.T, s tender.Store) {
	_, _, err := s.ListPayments(context.Background(), tender.PaymentFilter{Limit: 10, StartingAfter: "pay_missing"})
	wantCode(t, "ListPayments(unknown starting_after)", err, tender.EInvalid)
	if e := tender.AsError(err); e != nil && e.Param != "starting_after" {
		t.Errorf("Param = %q, want starting_after", e.Param)
	}
}

func testClaimDue(t *testing.T, s tender.Store) {
	ctx := context.Background()
	now := base.Add(time.Hour)
	mk := func(next time.Time) *tender.Payment {
		p := minimalPayment()
		p.Status = tender.StatusUnknown
		p.NextCheckAt = next
		mustCreate(t, s, p)
		return p
	}
	due2 := mk(now.Add(-time.Minute))
	due1 := mk(now.Add(-time.Hour))
	due3 := mk(now) // due exactly now
	later := mk(now.Add(time.Microsecond))
	mk(time.Time{})

	const lease = 30 * time.Second
	got, err := s.ClaimDue(ctx, now, lease, 2)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "first claim (oldest due first, limit 2)", []string{due1.ID, due2.ID}, ids(got))
	for _, p := range got {
		if !p.NextCheckAt.Equal(at(time.Hour+lease)) || p.Version != 2 {
			t.Errorf("claimed %s: NextCheckAt %v version %d; want %v, 2", p.ID, p.NextCheckAt, p.Version, at(time.Hour+lease))
		}
		diff(t, "claimed payment as stored", mustGet(t, s, p.ID), p)
	}
	got, err = s.ClaimDue(ctx, now, lease, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "second claim", []string{due3.ID}, ids(got))
	got, err = s.ClaimDue(ctx, now, lease, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("third claim = %v, %v; want none (all leased)", ids(got), err)
	}
	// The lease ends: they are due again, after the one that was due at
	// now+1µs; ties in NextCheckAt go by id.
	got, err = s.ClaimDue(ctx, now.Add(lease), lease, 10)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "claim after the lease", []string{later.ID, due2.ID, due1.ID, due3.ID}, ids(got))

	// The claim bumped the version: the engine's older copy loses.
	due1.Status = tender.StatusCaptured
	wantCode(t, "update of a payment read before its claim", s.UpdatePayment(ctx, due1), tender.EConflict)
	claimed := got[0]
	claimed.Status = tender.StatusCaptured
	claimed.NextCheckAt = time.Time{}
	if err := s.UpdatePayment(ctx, claimed); err != nil {
		t.Fatalf("update of the claimed copy: %v", err)
	}
	if got, err := s.ClaimDue(ctx, now.Add(24*time.Hour), lease, 10); err != nil || len(got) != 3 {
		t.Errorf("claim a day later = %v, %v; want the 3 still scheduled", ids(got), err)
	}
	if got, err := s.ClaimDue(ctx, now, lease, 0); err != nil || len(got) != 0 {
		t.Errorf("claim with limit 0 = %v, %v; want none", ids(got), err)
	}
}

// testClaimDueConcurrent: claimers running at once never get one payment twice.
func testClaimDueConcurrent(t *testing.T, s tender.Store) {
	ctx := context.Background()
	const n = 40
	want := map[string]bool{}
	for i := range n {
		p := minimalPayment()
		p.Status = tender.StatusProcessing
		p.NextCheckAt = base.Add(time.Duration(i) * time.Millisecond)
		mustCreate(t, s, p)
		want[p.ID] = true
	}
	now := base.Add(time.Hour)
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				ps, err := s.ClaimDue(ctx, now, time.Hour, 3)
				if err != nil {
					t.Errorf("ClaimDue: %v", err)
					return
				}
				if len(ps) == 0 {
					return
				}
				mu.Lock()
				for _, p := range ps {
					seen[p.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, c := range seen {
		if c != 1 {
			t.Errorf("payment %s claimed %d times", id, c)
		}
	}
	if len(seen) != n {
		t.Errorf("%d payments claimed, want %d", len(seen), n)
	}
}
