package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// TestIdempotencyKeyForm: a key is 1 to 255 printable ASCII characters
// without spaces; the bounds themselves are allowed.
func TestIdempotencyKeyForm(t *testing.T) {
	w := newWorld(t)
	e := w.engine(faultSchedule)
	ok := func(string) Response { return Response{Status: 200, Body: []byte("ok"), Keep: true} }
	for _, tc := range []struct {
		name, key string
		valid     bool
	}{
		{"255 characters", strings.Repeat("k", 255), true},
		{"256 characters", strings.Repeat("k", 256), false},
		{"lowest printable (!)", "a!b", true},
		{"highest printable (~)", "a~b", true},
		{"space", "a b", false},
		{"control character", "a\x1fb", false},
		{"DEL", "a\x7fb", false},
		{"not ASCII", "aéb", false},
	} {
		_, err := e.Idempotent(context.Background(), "scope", tc.key, "h", ok)
		if tc.valid && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.valid && tender.ErrorCodeOf(err) != tender.EInvalid {
			t.Errorf("%s: %v, want invalid", tc.name, err)
		}
	}
}

// TestIdempotencyDuplicateWaitsForTheFirst: a duplicate that arrives while
// the first request runs waits for it (for up to twice the provider
// timeout and ten seconds more) and answers with its response; it is never
// run itself.
func TestIdempotencyDuplicateWaitsForTheFirst(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.ProviderTimeout = 10 * time.Millisecond // the wait is then about the ten seconds alone
	e := w.engine(s)
	started := make(chan struct{})
	first := make(chan Response, 1)
	go func() {
		r, _ := e.Idempotent(context.Background(), "scope", "k", "h", func(string) Response {
			close(started)
			time.Sleep(400 * time.Millisecond)
			return Response{Status: 201, Body: []byte("first"), Keep: true}
		})
		first <- r
	}()
	<-started
	r, err := e.Idempotent(context.Background(), "scope", "k", "h", func(string) Response {
		t.Error("the duplicate ran")
		return Response{}
	})
	if err != nil || string(r.Body) != "first" || !r.Replayed {
		t.Fatalf("duplicate: %+v, %v; want the first's response replayed", r, err)
	}
	<-first
}

// TestIdempotencyLeaseRenewedWhileRunning: a request that runs longer than
// its key's lease renews it, so a duplicate waits instead of taking the key
// over and acting a second time.
func TestIdempotencyLeaseRenewedWhileRunning(t *testing.T) {
	w := newWorld(t)
	s := faultSchedule
	s.IdempotencyLease = 300 * time.Millisecond
	e := w.engine(s)
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Idempotent(context.Background(), "scope", "k", "h", func(string) Response {
			close(started)
			time.Sleep(time.Second)
			return Response{Status: 201, Body: []byte("first"), Keep: true}
		})
	}()
	<-started
	time.Sleep(700 * time.Millisecond) // past the first lease, not past its renewals
	other := w.engine(s)               // another instance: it polls the store
	r, err := other.Idempotent(context.Background(), "scope", "k", "h", func(string) Response {
		t.Error("the duplicate took over a request still running")
		return Response{Status: 500, Keep: false}
	})
	if err != nil || string(r.Body) != "first" {
		t.Fatalf("duplicate: %+v, %v; want the first's response", r, err)
	}
	<-done
}
