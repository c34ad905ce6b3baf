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
