package sim

import (
	"github.com/tenderpay/tender/epay"
)

// Follow-up transactions (notes §7.4, §8.4): a refund (TxnType 1) linked by
// InitialTransaction to an approved sale or completion, never more in all
// than it took; a completion (TxnType 3) of an approved pre-authorization,
// once, of at most its amount.

// intentByID returns the intent with id. Call with s.mu held.
func (s *Sim) intentByID(id string) *intent {
	for _, in := range s.intents {
		if string(in.ID) == id {
			return in
		}
	}
	return nil
}

// rootOf returns the sale or pre-authorization a chain of follow-ups
// starts from. Call with s.mu held.
func (s *Sim) rootOf(in *intent) *intent {
	for range 4 {
		if in.InitialTransaction == nil || in.TxnType == epay.TxnSale || in.TxnType == epay.TxnPreAuth {
			return in
		}
		next := s.intentByID(string(*in.InitialTransaction))
		if next == nil {
			return in
		}
		in = next
	}
	return in
}

// checkFollowUp validates a refund's or completion's link to its original;
// it returns the field at fault and the message, or "" when acceptable.
// Call with s.mu held.
func (s *Sim) checkFollowUp(req epay.TxnInitRequest, t *terminal) (string, string) {
	if req.TxnType != epay.TxnRefund && req.TxnType != epay.TxnCompletion {
		return "", ""
	}
	if req.InitialTransaction == nil {
		if req.TxnType == epay.TxnCompletion {
			return "InitialTransaction", "This field is required for a pre-authorization completion."
		}
		return "", "" // an unlinked refund
	}
	orig := s.intentByID(string(*req.InitialTransaction))
	if orig == nil || orig.tid != t.TID {
		return "InitialTransaction", "Unknown original transaction."
	}
	rec := s.txnOf(orig)
	if rec == nil || !rec.Approved || rec.Voided {
		return "InitialTransaction", "The original transaction is not approved."
	}
	open := func(txnType int) (n int, sum int64) {
		for _, in := range s.intents {
			if in.TxnType != txnType || in.InitialTransaction == nil || string(*in.InitialTransaction) != string(orig.ID) {
				continue
			}
			if in.Status != epay.StatusCompleted {
				n, sum = n+1, sum+in.Amount
				continue
			}
			if r := s.txnOf(in); r != nil && r.Approved {
				n, sum = n+1, sum+in.Amount
			}
		}
		return n, sum
	}
	switch req.TxnType {
	case epay.TxnCompletion:
		if orig.TxnType != epay.TxnPreAuth {
			return "InitialTransaction", "Only a pre-authorization can be completed."
		}
		if n, _ := open(epay.TxnCompletion); n > 0 {
			return "InitialTransaction", "The pre-authorization is already completed."
		}
		if req.Amount > rec.Amount {
			return "Amount", "Amount exceeds the pre-authorized amount."
		}
	case epay.TxnRefund:
		if orig.TxnType != epay.TxnSale && orig.TxnType != epay.TxnCompletion {
			return "InitialTransaction", "Only a sale or a completion can be refunded."
		}
		if _, sum := open(epay.TxnRefund); sum+req.Amount > rec.Amount+rec.TipAmount {
			return "Amount", "The refunds exceed the original transaction."
		}
	}
	return "", ""
}
