package epay

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

// ParseInvoice's limits, at each boundary: the value on the limit is
// taken, one past it is refused naming the field (mutation survivors).
func TestInvoiceBoundaries(t *testing.T) {
	doc := func(amounts string, extra string) string {
		return `{"issuer_vat":"EL999999999","date":"2026-03-02","branch":0,"type":"11.1","series":"A","number":"7",` + amounts + extra + `}`
	}
	total := func(net, vat int64) string {
		return fmt.Sprintf(`"net_amount":%d,"vat_amount":%d,"total_amount":%d`, net, vat, net+vat)
	}
	for _, tc := range []struct {
		name   string
		raw    string
		amount int64
		field  string // "" = valid
	}{
		{"series of 50", strings.Replace(doc(total(100, 24), ""), `"series":"A"`, `"series":"`+strings.Repeat("A", 50)+`"`, 1), 124, ""},
		{"series of 51", strings.Replace(doc(total(100, 24), ""), `"series":"A"`, `"series":"`+strings.Repeat("A", 51)+`"`, 1), 124, "invoice.series"},
		{"number of 51", strings.Replace(doc(total(100, 24), ""), `"number":"7"`, `"number":"`+strings.Repeat("7", 51)+`"`, 1), 124, "invoice.number"},
		{"zero VAT", doc(total(124, 0), ""), 124, ""},
		{"negative VAT", doc(`"net_amount":125,"vat_amount":-1,"total_amount":124`, ""), 124, "invoice.vat_amount"},
		{"net at the largest amount", doc(fmt.Sprintf(`"net_amount":%d,"vat_amount":0,"total_amount":%d`, tender.MaxAmount, tender.MaxAmount), ""), 124, ""},
		{"net past the largest amount", doc(fmt.Sprintf(`"net_amount":%d,"vat_amount":0,"total_amount":%d`, tender.MaxAmount+1, tender.MaxAmount+1), ""), 124, "invoice.net_amount"},
		{"no tip", doc(total(100, 24), `,"tip_amount":0`), 124, ""},
		{"tip one less than the amount", doc(total(100, 24), `,"tip_amount":123`), 124, ""},
		{"tip equal to the amount", doc(total(100, 24), `,"tip_amount":124`), 124, "invoice.tip_amount"},
		{"negative tip", doc(total(100, 24), `,"tip_amount":-1`), 124, "invoice.tip_amount"},
		{"payable equal to the total", doc(total(100, 24), ""), 124, ""},
		{"payable over the total", doc(total(100, 24), ""), 125, "amount"},
		{"payable over the total with a tip", doc(total(100, 24), `,"tip_amount":10`), 135, "amount"},
		{"MARK of 18 digits", doc(total(100, 24), `,"mark":"`+strings.Repeat("4", 18)+`"`), 124, ""},
		{"MARK of 19 digits", doc(total(100, 24), `,"mark":"`+strings.Repeat("4", 19)+`"`), 124, "invoice.mark"},
		{"type 99.99", strings.Replace(doc(total(100, 24), ""), `"type":"11.1"`, `"type":"99.99"`, 1), 124, ""},
		{"type 100.1", strings.Replace(doc(total(100, 24), ""), `"type":"11.1"`, `"type":"100.1"`, 1), 124, "invoice.type"},
		{"type 1.100", strings.Replace(doc(total(100, 24), ""), `"type":"11.1"`, `"type":"1.100"`, 1), 124, "invoice.type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInvoice([]byte(tc.raw), tc.amount)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid: %v", err)
				}
				return
			}
			if e, ok := err.(*tender.Error); !ok || e.Param != tc.field {
				t.Fatalf("want refused naming %s: %v", tc.field, err)
			}
		})
	}
}
