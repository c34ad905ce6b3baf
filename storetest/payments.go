package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func testPaymentRoundTrip(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := fullPayment()
	p.Version = 7 // ignored: a new payment is version 1
	want := *p
	want.Version = 1
	want.CreatedAt = at(0)
	want.UpdatedAt = at(time.Second)
	want.NextCheckAt = at(time.Minute)

	mustCreate(t, s, p)
	diff(t, "payment after CreatePayment", &want, p)
	got := mustGet(t, s, p.ID)
	diff(t, "GetPayment", &want, got)
	for name, tm := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt, "NextCheckAt": got.NextCheckAt} {
		if tm.Location() != time.UTC {
			t.Errorf("%s location = %v, want UTC", name, tm.Location())
		}
	}
	if string(got.Input) != string(want.Input) {
		t.Errorf("Input = %s, want it byte for byte: %s", got.Input, want.Input)
	}

	// Every field changed and written by UpdatePayment reads back.
	got.Status = tender.StatusCaptured
	got.Amount = 1100
	got.Currency = "USD"
	got.Connector = "trustpayments"
	got.Account = "tp"
	got.Terminal = ""
	got.Reference = "order-43"
	got.Description = ""
	got.ReturnURL = "https://shop.example/other"
	got.CaptureMode = tender.CaptureAutomatic
	got.Metadata = map[string]string{}
	got.Input = nil
	got.ProviderReference = "PAYID-0002"
	got.NextAction = nil
	got.Failure = nil
	got.Receipt = &tender.Receipt{Lines: []string{}}
	got.Details = nil
	got.CapturedAmount = 1100
	got.RefundedAmount = 0
	got.State = json.RawMessage(`[]`)
	got.NextCheckAt = time.Time{}
	got.CheckCount = 4
	got.OperationID = "op_456"
	got.CreatedAt = base.Add(time.Hour) // ignored: creation time never changes
	if err := s.UpdatePayment(ctx, got); err != nil {
		t.Fatalf("UpdatePayment: %v", err)
	}
	want2 := *got
	want2.CreatedAt = at(0)
	again := mustGet(t, s, p.ID)
	diff(t, "GetPayment after update", &want2, again)
	if !again.NextCheckAt.IsZero() {
		t.Errorf("NextCheckAt = %v, want zero (NULL)", again.NextCheckAt)
	}
}

func testPaymentMinimalRoundTrip(t *testing.T, s tender.Store) {
	p := minimalPayment()
	p.CreatedAt = time.Time{}
	before := time.Now().Add(-time.Second)
	mustCreate(t, s, p)
	if p.CreatedAt.Before(before) || p.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("zero CreatedAt became %v, want now", p.CreatedAt)
	}
	if !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Errorf("zero UpdatedAt became %v, want CreatedAt %v", p.UpdatedAt, p.CreatedAt)
	}
	got := mustGet(t, s, p.ID)
	diff(t, "GetPayment", p, got)
	if got.Metadata != nil || got.Details != nil || got.Input != nil || got.State != nil ||
		got.NextAction != nil || got.Failure != nil || got.Receipt != nil || !got.NextCheckAt.IsZero() {
		t.Errorf("unset fields came back set: %+v", got)
	}
}

func testCreatePaymentDuplicate(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := minimalPayment()
	mustCreate(t, s, p, tender.Event{Type: "payment.created"})
	dup := minimalPayment()
	dup.ID = p.ID
	dup.Amount = 999
	err := s.CreatePayment(ctx, dup, tender.Event{Type: "payment.duplicate"})
	wantCode(t, "CreatePayment(duplicate)", err, tender.EConflict)
	if got := mustGet(t, s, p.ID); got.Amount != p.Amount {
		t.Errorf("duplicate create changed the amount to %d", got.Amount)
	}
	evs, err := s.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Errorf("duplicate create appended events: %+v", evs)
	}
}

func testGetPaymentNotFound(t *testing.T, s tender.Store) {
	_, err := s.GetPayment(context.Background(), "pay00000000000000000000")
	wantCode(t, "GetPayment(missing)", err, tender.ENotFound)
}

func testFindPayment(t *testing.T, s tender.Store) {
	ctx := context.Background()
	a := minimalPayment()
	a.Connector, a.ProviderReference = "computop", "REF-1"
	b := minimalPayment()
	b.Connector, b.ProviderReference = "trustpayments", "REF-1"
	c := minimalPayment()
	c.Connector = "computop" // no reference
	for _, p := range []*tender.Payment{a, b, c} {
		mustCreate(t, s, p)
	}
	for _, tc := range []struct{ connector, ref, want string }{
		{"computop", "REF-1", a.ID},
		{"trustpayments", "REF-1", b.ID},
		{"computop", "REF-2", ""},
		{"sepay", "REF-1", ""},
		{"computop", "", ""},
	} {
		got, err := s.FindPayment(ctx, tc.connector, tc.ref)
		if tc.want == "" {
			wantCode(t, "FindPayment("+tc.connector+", "+tc.ref+")", err, tender.ENotFound)
			continue
		}
		if err != nil {
			t.Fatalf("FindPayment(%s, %s): %v", tc.connector, tc.ref, err)
		}
		if got.ID != tc.want {
			t.Errorf("FindPayment(%s, %s) = %s, want %s", tc.connector, tc.ref, got.ID, tc.want)
		}
	}
	// A reference set by an update is found.
	c.ProviderReference = "REF-3"
	if err := s.UpdatePayment(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindPayment(ctx, "computop", "REF-3"); err != nil || got.ID != c.ID {
		t.Errorf("FindPayment after update = %v, %v; want %s", got, err, c.ID)
	}
}

func testUpdatePayment(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := minimalPayment()
	mustCreate(t, s, p)
	start := time.Now().Add(-time.Second)
	for v := int64(1); v <= 3; v++ {
		if p.Version != v {
			t.Fatalf("Version = %d, want %d", p.Version, v)
		}
		p.CheckCount++
		if err := s.UpdatePayment(ctx, p); err != nil {
			t.Fatalf("UpdatePayment (version %d): %v", v, err)
		}
	}
	if p.Version != 4 {
		t.Errorf("Version after three updates = %d, want 4", p.Version)
	}
	if p.UpdatedAt.Before(start) || p.UpdatedAt.Location() != time.UTC || p.UpdatedAt.Nanosecond()%1000 != 0 {
		t.Errorf("UpdatedAt = %v, want now in UTC at microsecond precision", p.UpdatedAt)
	}
	diff(t, "GetPayment", p, mustGet(t, s, p.ID))
}

func testUpdatePaymentVersionConflict(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := minimalPayment()
	mustCreate(t, s, p, tender.Event{Type: "payment.created"})
	stale := *p
	p.Status = tender.StatusProcessing
	if err := s.UpdatePayment(ctx, p, tender.Event{Type: "payment.processing"}); err != nil {
		t.Fatal(err)
	}
	stale.Status = tender.StatusFailed
	stale.Reference = "stale"
	err := s.UpdatePayment(ctx, &stale, tender.Event{Type: "payment.failed"})
	if !errors.Is(err, tender.ErrVersionConflict) {
		t.Errorf("stale UpdatePayment: %v, want ErrVersionConflict", err)
	}
	wantCode(t, "stale UpdatePayment", err, tender.EConflict)
	if stale.Version != 1 {
		t.Errorf("failed update changed the caller's Version to %d", stale.Version)
	}
	diff(t, "payment after stale update", p, mustGet(t, s, p.ID))
	evs, err := s.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	diff(t, "events after stale update", []string{"payment.created", "payment.processing"}, types)
}

func testUpdatePaymentNotFound(t *testing.T, s tender.Store) {
	p := minimalPayment()
	p.Version = 1
	err := s.UpdatePayment(context.Background(), p, tender.Event{Type: "x"})
	wantCode(t, "UpdatePayment(missing)", err, tender.ENotFound)
}

// testUpdatePaymentRace: of many updates of one version, exactly one wins
// and the rest get ErrVersionConflict (never a database-busy error).
func testUpdatePaymentRace(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := minimalPayment()
	mustCreate(t, s, p)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			q := *p
			q.CheckCount = i + 1
			errs[i] = s.UpdatePayment(ctx, &q, tender.Event{Type: "payment.checked"})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, tender.ErrVersionConflict):
		default:
			t.Errorf("UpdatePayment: %v, want nil or ErrVersionConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d updates of one version won, want 1", won)
	}
	evs, err := s.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Errorf("%d events appended, want 1 (losers append nothing)", len(evs))
	}
	if got := mustGet(t, s, p.ID); got.Version != 2 {
		t.Errorf("Version = %d, want 2", got.Version)
	}
}

func testEvents(t *testing.T, s tender.Store) {
	ctx := context.Background()
	p := minimalPayment()
	other := minimalPayment()
	mustCreate(t, s, other, tender.Event{Type: "payment.created"})
	mustCreate(t, s, p,
		tender.Event{Type: "payment.created", Data: json.RawMessage(`{"amount":100}`), CreatedAt: base},
		tender.Event{Type: "payment.pending"}, // no data, no time: gets the payment's time
	)
	p.Status = tender.StatusProcessing
	if err := s.UpdatePayment(ctx, p,
		tender.Event{Type: "payment.processing", Data: json.RawMessage(`{"terminal":"t1"}`)},
		tender.Event{Type: "payment.note", PaymentID: "ignored", CreatedAt: base.Add(time.Hour)},
	); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("ListEvents returned %d events, want 4: %+v", len(evs), evs)
	}
	wantTypes := []string{"payment.created", "payment.pending", "payment.processing", "payment.note"}
	for i, e := range evs {
		if e.Type != wantTypes[i] {
			t.Errorf("event %d type %q, want %q", i, e.Type, wantTypes[i])
		}
		if e.PaymentID != p.ID {
			t.Errorf("event %d PaymentID %q, want %q", i, e.PaymentID, p.ID)
		}
		if i > 0 && e.ID <= evs[i-1].ID {
			t.Errorf("event ids not increasing: %d after %d", e.ID, evs[i-1].ID)
		}
		if e.CreatedAt.IsZero() || e.CreatedAt.Location() != time.UTC {
			t.Errorf("event %d CreatedAt %v, want a UTC time", i, e.CreatedAt)
		}
	}
	if string(evs[0].Data) != `{"amount":100}` || evs[1].Data != nil || string(evs[2].Data) != `{"terminal":"t1"}` {
		t.Errorf("event data = %s, %s, %s", evs[0].Data, evs[1].Data, evs[2].Data)
	}
	if !evs[0].CreatedAt.Equal(at(0)) || !evs[1].CreatedAt.Equal(at(0)) || !evs[3].CreatedAt.Equal(at(time.Hour)) {
		t.Errorf("event times = %v, %v, %v", evs[0].CreatedAt, evs[1].CreatedAt, evs[3].CreatedAt)
	}
	if !evs[2].CreatedAt.Equal(p.UpdatedAt) {
		t.Errorf("update event time %v, want the payment's UpdatedAt %v", evs[2].CreatedAt, p.UpdatedAt)
	}
	none, err := s.ListEvents(ctx, "pay00000000000000000000")
	if err != nil || len(none) != 0 {
		t.Errorf("ListEvents(missing) = %v, %v; want none", none, err)
	}
}

func testOpenPaymentOnTerminal(t *testing.T, s tender.Store) {
	ctx := context.Background()
	got, err := s.OpenPaymentOnTerminal(ctx, "t1")
	if err != nil || got != nil {
		t.Fatalf("OpenPaymentOnTerminal(empty store) = %v, %v; want nil, nil", got, err)
	}
	mk := func(terminal string, st tender.Status) *tender.Payment {
		p := minimalPayment()
		p.Terminal, p.Status = terminal, st
		mustCreate(t, s, p)
		return p
	}
	mk("t1", tender.StatusCaptured)
	mk("t1", tender.StatusFailed)
	mk("t2", tender.StatusProcessing)
	mk("", tender.StatusPending)
	if got, err := s.OpenPaymentOnTerminal(ctx, "t1"); err != nil || got != nil {
		t.Fatalf("OpenPaymentOnTerminal(t1, only settled) = %v, %v; want nil, nil", got, err)
	}
	for _, st := range []tender.Status{tender.StatusPending, tender.StatusProcessing, tender.StatusUnknown} {
		p := mk("t3", st)
		got, err := s.OpenPaymentOnTerminal(ctx, "t3")
		if err != nil || got == nil || got.ID != p.ID {
			t.Fatalf("OpenPaymentOnTerminal(t3 with %s) = %v, %v; want %s", st, got, err, p.ID)
		}
		p.Status = tender.StatusCanceled
		if err := s.UpdatePayment(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.OpenPaymentOnTerminal(ctx, "t3"); err != nil || got != nil {
		t.Fatalf("OpenPaymentOnTerminal(t3, all canceled) = %v, %v; want nil, nil", got, err)
	}
	if got, err := s.OpenPaymentOnTerminal(ctx, ""); err != nil || got != nil {
		t.Errorf("OpenPaymentOnTerminal(\"\") = %v, %v; want nil, nil", got, err)
	}
}

// testConcurrentWriters: 50 goroutines create, update and reserve at once;
// none may fail (no "database is locked").
func testConcurrentWriters(t *testing.T, s tender.Store) {
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n*10)
	for range n {
		wg.Go(func() {
			p := minimalPayment()
			if err := s.CreatePayment(ctx, p, tender.Event{Type: "payment.created"}); err != nil {
				errs <- err
				return
			}
			for range 3 {
				p.CheckCount++
				if err := s.UpdatePayment(ctx, p, tender.Event{Type: "payment.checked"}); err != nil {
					errs <- err
					return
				}
			}
			rec := &tender.IdempotencyRecord{Scope: "key_1", Key: p.ID, RequestHash: "h",
				CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
			if old, err := s.ReserveIdempotency(ctx, rec); err != nil || old != nil {
				errs <- errors.Join(err, errors.New("reserve of a fresh key returned a record"))
				return
			}
			if _, err := s.GetPayment(ctx, p.ID); err != nil {
				errs <- err
			}
			if _, _, err := s.ListPayments(ctx, tender.PaymentFilter{Limit: 5}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent writer: %v", err)
	}
	ps, _, err := s.ListPayments(ctx, tender.PaymentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != n {
		t.Errorf("%d payments stored, want %d", len(ps), n)
	}
	for _, p := range ps {
		if p.Version != 4 {
			t.Errorf("payment %s version %d, want 4", p.ID, p.Version)
		}
	}
}

// testPaymentWithEvents: a store that reads a payment with its events in
// one call (PostgreSQL) gives what GetPayment and ListEvents give.
func testPaymentWithEvents(t *testing.T, s tender.Store) {
	pe, ok := s.(interface {
		PaymentWithEvents(ctx context.Context, id string) (*tender.Payment, []tender.Event, error)
	})
	if !ok {
		t.Skip("the store reads a payment and its events apart")
	}
	ctx := context.Background()
	p := fullPayment()
	mustCreate(t, s, p, tender.Event{Type: "payment.created", Data: []byte(`{"a":1}`)})
	if err := s.UpdatePayment(ctx, p, tender.Event{Type: "payment.processing"}); err != nil {
		t.Fatal(err)
	}
	got, events, err := pe.PaymentWithEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "payment", mustGet(t, s, p.ID), got)
	want, err := s.ListEvents(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "events", want, events)
	bare := minimalPayment()
	mustCreate(t, s, bare)
	if _, events, err := pe.PaymentWithEvents(ctx, bare.ID); err != nil || len(events) != 0 {
		t.Errorf("a payment without events: %v, %v", events, err)
	}
	_, _, err = pe.PaymentWithEvents(ctx, "pay_missing")
	wantCode(t, "PaymentWithEvents(missing)", err, tender.ENotFound)
}
