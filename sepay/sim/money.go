package sim

// Money is what Sepay believes one transaction moved: WECR only sells, so
// a transaction the terminal approved is one authorization whose amount is
// taken; nothing is ever returned.
type Money struct {
	Authorized         int
	Captured, Refunded int64
}

// Money sums the ledger per transactionref (Tender's payment id).
func (s *Sim) Money() map[string]Money {
	out := map[string]Money{}
	for _, e := range s.Ledger() {
		m := out[e.TransactionRef]
		if e.Charged {
			m.Authorized++
			m.Captured += e.Amount
		}
		out[e.TransactionRef] = m
	}
	return out
}
