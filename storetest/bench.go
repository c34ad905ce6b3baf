package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tenderpay/tender"
)

// Bench runs every store benchmark as a sub-benchmark. open must return a
// new, empty, migrated store and close it when the benchmark ends.
func Bench(b *testing.B, open func(b *testing.B) tender.Store) {
	b.Run("CreatePayment", func(b *testing.B) { BenchCreatePayment(b, open(b)) })
	b.Run("UpdatePayment", func(b *testing.B) { BenchUpdatePayment(b, open(b)) })
}

// BenchCreatePayment measures CreatePayment of a payment with every field
// set and one event.
func BenchCreatePayment(b *testing.B, s tender.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p := fullPayment()
		if err := s.CreatePayment(ctx, p, tender.Event{Type: "payment.created", Data: json.RawMessage(`{}`)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchUpdatePayment measures UpdatePayment of one payment with one event.
func BenchUpdatePayment(b *testing.B, s tender.Store) {
	ctx := context.Background()
	p := fullPayment()
	if err := s.CreatePayment(ctx, p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.CheckCount++
		if err := s.UpdatePayment(ctx, p, tender.Event{Type: "payment.checked"}); err != nil {
			b.Fatal(err)
		}
	}
}
