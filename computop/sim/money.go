package sim

import "github.com/tenderpay/tender/computop"

// Money is what Paygate believes one payment moved: its approved
// payments (more than one per TransID is a double charge), what is
// captured and not reversed, and what is credited back.
type Money struct {
	Authorized         int
	Captured, Refunded int64
}

// Money sums the ledger per TransID (Tender's payment id).
func (s *Sim) Money() map[string]Money {
	out := map[string]Money{}
	for _, e := range s.Ledger() {
		m := out[e.TransID]
		if e.Code == computop.CodeOK {
			m.Authorized++
			m.Captured += e.AmountCap
			m.Refunded += e.AmountCred
		}
		out[e.TransID] = m
	}
	return out
}
