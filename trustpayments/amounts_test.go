package trustpayments_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
	tp "github.com/tenderpay/tender/trustpayments"
)

// TestReconciledAuthOfAnotherAmountNotBelieved: a payment in doubt whose
// only approved AUTH at Trust Payments (found by TRANSACTIONQUERY under the
// payment's orderreference) is for another amount, lower as well as
// higher, is not decided by it: the update names no status, says why, and
// raises a discrepancy naming both amounts so that a person looks at the
// money held at the gateway.
func TestReconciledAuthOfAnotherAmountNotBelieved(t *testing.T) {
	for _, amount := range []int64{999, 1001} {
		e := newEnv(t)
		p := e.start(1000, false)
		cfg, _ := tp.ParseConfig(&e.acct)
		other, err := cfg.RequestJWT(tp.Order{Reference: p.ID, Amount: amount, Currency: "GBP"}, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.gateway(other, card("4111111111111111")); err != nil {
			t.Fatal(err)
		}
		p.Status = tender.StatusUnknown
		u, err := e.conn.Status(context.Background(), e.op(p, 0))
		if err != nil {
			t.Fatalf("AUTH of %d: %v", amount, err)
		}
		if u.Status != "" || !strings.Contains(u.Note, "another amount") {
			t.Fatalf("an approved AUTH of %d decided a payment of 1000: %+v", amount, u)
		}
		want := tender.FormatMinor(amount, "GBP") + " GBP"
		if !strings.Contains(u.Discrepancy, want) || !strings.Contains(u.Discrepancy, "10.00") {
			t.Fatalf("AUTH of %d: discrepancy %q does not name %s and the payment's 10.00", amount, u.Discrepancy, want)
		}
	}
}
