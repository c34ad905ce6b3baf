package sim

import (
	"errors"
	"strings"
)

// Faults a real Sepay may show that the sandbox rules do not produce: a
// terminal that takes another amount than it was asked (a cashier keying the
// amount anew), and status codes the notes do not list (§5.1: codes 03, 05,
// 08–10, 12 and 16 may exist).

// TakeAmount makes the terminal charge cents for transactionref ref instead
// of the amount it was sent; every later answer and the ledger report it.
func (s *Sim) TakeAmount(ref string, cents int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.byRef(ref)
	if tx == nil {
		return errors.New("sepay sim: no transaction " + ref)
	}
	tx.cents = cents
	return nil
}

// AnswerNext makes the next GetTransactionStatus of ref answer status code
// instead of the transaction's own (signed as usual).
func (s *Sim) AnswerNext(ref, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.byRef(ref)
	if tx == nil {
		return errors.New("sepay sim: no transaction " + ref)
	}
	s.answers[tx.key] = code
	return nil
}

// byRef finds a transaction by its transactionref under any login; s.mu
// must be held.
func (s *Sim) byRef(ref string) *txn {
	for k, tx := range s.txns {
		if strings.HasSuffix(k, "\x00"+ref) {
			return tx
		}
	}
	return nil
}
