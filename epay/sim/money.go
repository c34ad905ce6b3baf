package sim

import "github.com/tenderpay/tender/epay"

// Money is what the host believes one payment moved: how many sales or
// pre-authorizations it approved (more than one is a double charge), what
// was taken (tips included: a card is charged the amount plus its tip) and
// what went back (voids and refund transactions).
type Money struct {
	Authorized         int
	Captured, Refunded int64
}

// Money sums the ledger per payment (by the CustomerReference Tender sent,
// its payment id), follow-ups counted with the payment they follow.
func (s *Sim) Money() map[string]Money {
	out := map[string]Money{}
	for _, e := range s.Ledger() {
		ref := e.CustomerReference
		if e.Of != "" {
			ref = e.Of
		}
		m := out[ref]
		if e.Approved {
			taken := e.Amount + e.TipAmount
			switch e.TxnType {
			case epay.TxnSale:
				m.Authorized++
				m.Captured += taken
				if e.Voided {
					m.Refunded += taken
				}
			case epay.TxnPreAuth:
				m.Authorized++
			case epay.TxnCompletion:
				m.Captured += taken
			case epay.TxnRefund:
				m.Refunded += e.Amount
			}
		}
		out[ref] = m
	}
	return out
}
