package engine

import (
	"testing"

	"github.com/tenderpay/tender"
)

// TestIdempotencyScope: the default merchant's scope is the key id alone,
// as before merchants (a retry across the upgrade finds its record and its
// operation id); every other merchant's is its own.
func TestIdempotencyScope(t *testing.T) {
	if s := IdempotencyScope(tender.DefaultMerchant, "key_1"); s != "key_1" {
		t.Errorf("default merchant's scope = %q, want the key id", s)
	}
	if s := IdempotencyScope("", "key_1"); s != "key_1" {
		t.Errorf("no merchant's scope = %q, want the key id", s)
	}
	ops := map[string]bool{}
	for _, m := range []string{tender.DefaultMerchant, "mer_a", "mer_b"} {
		for _, k := range []string{"key_1", "key_2"} {
			ops[OperationID(IdempotencyScope(m, k), "order-1")] = true
		}
	}
	if len(ops) != 6 {
		t.Errorf("3 merchants × 2 keys with one Idempotency-Key give %d operation ids, want 6", len(ops))
	}
}
