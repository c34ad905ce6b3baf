package sim

// Money is what the gateway believes one payment moved: its approved AUTHs
// (more than one is a double charge), what they settle, and the approved
// REFUNDs of them.
type Money struct {
	Authorized         int
	Captured, Refunded int64
	// Instalments are the approved AUTHs the subscription module made on
	// the payment's schedule (accounttypedescription RECUR), and what they
	// settle; each is a payment of its own at Tender.
	Instalments         int
	InstalmentsCaptured int64
}

// Money sums the ledger per orderreference (Tender's payment id): approved
// AUTHs, what they settle (settlestatus 0, 1, 10 or 100; 2 is suspended, 3
// cancelled), and the approved REFUNDs of each.
func (s *Sim) Money() map[string]Money {
	txs := s.Ledger()
	out := map[string]Money{}
	order := map[string]string{} // AUTH transactionreference → orderreference
	for _, tx := range txs {
		if tx.Type != "AUTH" || tx.ErrorCode != "0" {
			continue
		}
		m := out[tx.OrderReference]
		settles := tx.SettleStatus == "0" || tx.SettleStatus == "1" || tx.SettleStatus == "10" || tx.SettleStatus == "100"
		switch {
		case tx.AccountType == "RECUR":
			m.Instalments++
			if settles {
				m.InstalmentsCaptured += tx.SettleAmount
			}
		default:
			m.Authorized++
			if settles {
				m.Captured += tx.SettleAmount
			}
		}
		out[tx.OrderReference] = m
		order[tx.Reference] = tx.OrderReference
	}
	for _, tx := range txs {
		if tx.Type == "REFUND" && tx.ErrorCode == "0" {
			m := out[order[tx.Parent]]
			m.Refunded += tx.BaseAmount
			out[order[tx.Parent]] = m
		}
	}
	return out
}
