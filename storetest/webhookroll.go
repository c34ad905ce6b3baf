package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// testWebhookSecretRoll: a roll keeps the replaced secret until its end,
// a second roll replaces it, and deleting the endpoint forgets it.
func testWebhookSecretRoll(t *testing.T, s tender.Store) {
	ctx := context.Background()
	w := newEndpoint(t, s, "payment.captured")
	if prev, err := s.PreviousWebhookSecret(ctx, w.ID, base); err != nil || prev != nil {
		t.Fatalf("before any roll: %q, %v", prev, err)
	}
	until := base.Add(24 * time.Hour)
	if err := s.RollWebhookSecret(ctx, w.ID, []byte("sealed-2"), until); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWebhookEndpoint(ctx, w.ID)
	if err != nil || string(got.Sealed) != "sealed-2" {
		t.Fatalf("after a roll the endpoint has %q, %v", got.Sealed, err)
	}
	if prev, err := s.PreviousWebhookSecret(ctx, w.ID, until.Add(-time.Second)); err != nil || string(prev) != "sealed-secret" {
		t.Fatalf("previous secret before its end: %q, %v", prev, err)
	}
	if prev, err := s.PreviousWebhookSecret(ctx, w.ID, until); err != nil || prev != nil {
		t.Fatalf("previous secret at its end: %q, %v", prev, err)
	}
	if err := s.RollWebhookSecret(ctx, w.ID, []byte("sealed-3"), until.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if prev, _ := s.PreviousWebhookSecret(ctx, w.ID, base); !bytes.Equal(prev, []byte("sealed-2")) {
		t.Fatalf("after a second roll the previous secret is %q, want the second", prev)
	}
	wantCode(t, "RollWebhookSecret(missing)", s.RollWebhookSecret(ctx, "we_missing", []byte("x"), until), tender.ENotFound)
	if err := s.DeleteWebhookEndpoint(ctx, w.ID, base); err != nil {
		t.Fatal(err)
	}
	if prev, err := s.PreviousWebhookSecret(ctx, w.ID, base); err != nil || prev != nil {
		t.Fatalf("a deleted endpoint's previous secret: %q, %v", prev, err)
	}
	wantCode(t, "RollWebhookSecret(deleted)", s.RollWebhookSecret(ctx, w.ID, []byte("x"), until), tender.ENotFound)
}

// testWebhookRetry: a finished delivery is made pending and due again; a
// pending one is refused.
func testWebhookRetry(t *testing.T, s tender.Store) {
	ctx := context.Background()
	w := newEndpoint(t, s, "payment.captured")
	mustCreate(t, s, minimalPayment(), tender.Event{Type: "payment.captured", CreatedAt: base})
	d := deliveries(t, s, w.ID)[0]
	_, err := s.RetryWebhookDelivery(ctx, w.ID, d.ID, base)
	wantCode(t, "RetryWebhookDelivery(pending)", err, tender.EConflict)

	claimed, err := s.ClaimWebhookDeliveries(ctx, base.Add(time.Second), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claimed {
		if c.ID != d.ID {
			continue
		}
		c.Status, c.NextAttemptAt, c.LastAttemptAt, c.LastStatusCode = tender.DeliverySucceeded, time.Time{}, base, 204
		if err := s.RecordWebhookAttempt(ctx, c, tender.WebhookAttempt{DeliveryID: c.ID, Attempt: c.Attempts, At: base, StatusCode: 204}); err != nil {
			t.Fatal(err)
		}
	}
	at := base.Add(time.Hour)
	r, err := s.RetryWebhookDelivery(ctx, w.ID, d.ID, at)
	if err != nil || r.Status != tender.DeliveryPending || !r.NextAttemptAt.Equal(at.UTC().Truncate(time.Microsecond)) || r.ID != d.ID {
		t.Fatalf("RetryWebhookDelivery = %+v, %v", r, err)
	}
	again, err := s.ClaimWebhookDeliveries(ctx, at, time.Minute, 100)
	found := false
	for _, c := range again {
		if c.ID == d.ID {
			found = c.Attempts == 2
		}
	}
	if err != nil || !found {
		t.Fatalf("the retried delivery is not claimed again as its second attempt: %+v, %v", again, err)
	}
	_, err = s.RetryWebhookDelivery(ctx, "we_other", d.ID, at)
	wantCode(t, "RetryWebhookDelivery(other endpoint)", err, tender.ENotFound)
	_, err = s.RetryWebhookDelivery(ctx, w.ID, 1<<40, at)
	wantCode(t, "RetryWebhookDelivery(missing)", err, tender.ENotFound)
}
