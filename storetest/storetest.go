// Package storetest is the conformance suite of tender.Store: every store
// implementation runs Run (and Bench) from its own tests, so that SQLite
// and PostgreSQL behave the same.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tenderpay/tender"
)

// Run runs the conformance suite. open must return a new, empty, migrated
// store for each call, and close it when the test ends.
func Run(t *testing.T, open func(t *testing.T) tender.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tender.Store)
	}{
		{"PaymentRoundTrip", testPaymentRoundTrip},
		{"PaymentMinimalRoundTrip", testPaymentMinimalRoundTrip},
		{"CreatePaymentDuplicate", testCreatePaymentDuplicate},
		{"GetPaymentNotFound", testGetPaymentNotFound},
		{"FindPayment", testFindPayment},
		{"UpdatePayment", testUpdatePayment},
		{"UpdatePaymentVersionConflict", testUpdatePaymentVersionConflict},
		{"UpdatePaymentNotFound", testUpdatePaymentNotFound},
		{"UpdatePaymentRace", testUpdatePaymentRace},
		{"PaymentWithEvents", testPaymentWithEvents},
		{"Events", testEvents},
		{"ListPayments", testListPayments},
		{"ListPaymentsFilters", testListPaymentsFilters},
		{"ListPaymentsBadCursor", testListPaymentsBadCursor},
		{"OpenPaymentOnTerminal", testOpenPaymentOnTerminal},
		{"ClaimDue", testClaimDue},
		{"ClaimDueConcurrent", testClaimDueConcurrent},
		{"Idempotency", testIdempotency},
		{"IdempotencyExpiry", testIdempotencyExpiry},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"IdempotencyLease", testIdempotencyLease},
		{"PaymentByOperation", testPaymentByOperation},
		{"CreatePaymentReserving", testCreatePaymentReserving},
		{"CreatePaymentReservingConcurrent", testCreatePaymentReservingConcurrent},
		{"CreatePaymentReservingChecks", testCreatePaymentReservingChecks},
		{"UpdatePaymentAnswering", testUpdatePaymentAnswering},
		{"TerminalBusy", testTerminalBusy},
		{"DiscrepancyFilter", testDiscrepancyFilter},
		{"APIKeys", testAPIKeys},
		{"Accounts", testAccounts},
		{"AccountsList", testAccountsList},
		{"Terminals", testTerminals},
		{"ConcurrentWriters", testConcurrentWriters},
		{"WebhookEndpoints", testWebhookEndpoints},
		{"WebhookOutbox", testWebhookOutbox},
		{"WebhookClaim", testWebhookClaim},
		{"WebhookDelete", testWebhookDelete},
		{"WebhookClaimConcurrent", testWebhookClaimConcurrent},
		{"Merchants", testMerchants},
		{"APIKeyLifecycle", testAPIKeyLifecycle},
		{"MerchantScoping", testMerchantScoping},
		{"WebhookSecretRoll", testWebhookSecretRoll},
		{"WebhookRetry", testWebhookRetry},
		{"Ping", testPing},
		{"Users", testUsers},
		{"PaymentMethods", testPaymentMethods},
		{"MoneyEvents", testMoneyEvents},
		{"TouchTerminal", testTouchTerminal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// base is a time with nanoseconds in a zone other than UTC: a store must
// give it back as UTC at microsecond precision.
var base = time.Date(2025, 3, 1, 12, 30, 15, 123456789, time.FixedZone("CET", 3600))

// at returns base+d as a store keeps it.
func at(d time.Duration) time.Time {
	return base.Add(d).UTC().Truncate(time.Microsecond)
}

var idSeq atomic.Int64

// newID returns a unique payment id (23 characters like tender.NewID) whose
// order follows creation order in the suite.
func newID() string {
	return fmt.Sprintf("pay%020d", idSeq.Add(1))
}

// fullPayment returns a payment with every field set.
func fullPayment() *tender.Payment {
	return &tender.Payment{
		ID:          newID(),
		Merchant:    "mer_shop1",
		Amount:      1050,
		Currency:    "EUR",
		Status:      tender.StatusRequiresAction,
		Connector:   "computop",
		Account:     "computop-sandbox",
		Terminal:    "term-1",
		Reference:   "order-42",
		Description: "Two coffees, \"oat\" milk; ünïcode ✓",
		ReturnURL:   "https://shop.example/return?x=1&y=2",
		CaptureMode: tender.CaptureManual,
		Metadata:    map[string]string{"cart": "42", "empty": ""},
		Input:       json.RawMessage(`{"invoice": {"net_amount": 1000, "lines": [1, 2]}}`),

		ProviderReference: "PAYID-0001",
		NextAction: &tender.NextAction{Type: "redirect", URL: "https://pay.example/p/1",
			Data: map[string]string{"jwt": "eyJ.x.y"}},
		Failure: &tender.Failure{Code: tender.FailDeclined, Message: "The card was declined.", ProviderCode: "05"},
		Receipt: &tender.Receipt{Lines: []string{"CARD ****1234", "APPROVED"}, Raw: "<receipt/>"},
		Details: map[string]string{"brand": "visa", "last4": "1234"},

		CapturedAmount: 500,
		RefundedAmount: 100,
		State:          json.RawMessage(`{"ref":"abc","n":1}`),
		NextCheckAt:    base.Add(time.Minute),
		CheckCount:     3,
		OperationID:    "op_123",
		CreatedAt:      base,
		UpdatedAt:      base.Add(time.Second),
	}
}

// minimalPayment returns a payment with only the required fields set.
func minimalPayment() *tender.Payment {
	return &tender.Payment{
		ID:        newID(),
		Amount:    100,
		Currency:  "EUR",
		Status:    tender.StatusPending,
		Connector: "sepay",
		CreatedAt: base,
	}
}

func mustCreate(t testing.TB, s tender.Store, p *tender.Payment, events ...tender.Event) {
	t.Helper()
	if err := s.CreatePayment(context.Background(), p, events...); err != nil {
		t.Fatalf("CreatePayment(%s): %v", p.ID, err)
	}
}

func mustGet(t testing.TB, s tender.Store, id string) *tender.Payment {
	t.Helper()
	p, err := s.GetPayment(context.Background(), id)
	if err != nil {
		t.Fatalf("GetPayment(%s): %v", id, err)
	}
	return p
}

// wantCode fails unless err is a *tender.Error with code.
func wantCode(t testing.TB, what string, err error, code tender.ErrorCode) {
	t.Helper()
	var e *tender.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T), want a *tender.Error with code %s", what, err, err, code)
	}
	if e.Code != code {
		t.Fatalf("%s: error code %s (%v), want %s", what, e.Code, err, code)
	}
}

func diff(t testing.TB, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func ids(ps []*tender.Payment) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func testPing(t *testing.T, s tender.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
