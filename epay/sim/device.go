package sim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tenderpay/tender/epay"
)

// The virtual EFT-POS (notes §10.4). An intent waits PENDING until the
// operator presses the ECR key (Press, or automatically after PressDelay),
// is SENT to the device, and COMPLETED after ProcessDelay with a result
// chosen by the sandbox rules on its amount (minor units):
//
//	amount % 100 == 51, or 999 (9.99 €)   DECLINED (Result 2)
//	amount % 100 == 54                     CANCELLED by the cardholder/operator (Result 3)
//	amount % 100 == 55, or 1313 (13.13 €)  approved on the host, but the intent ends
//	                                       UNKNOWN (Result 5) and txninit never answers (55)
//	amount % 100 == 61                     the first txninit is dropped (see txninit)
//	amount % 100 == 77 (a sale, no tip asked) approved with a tip the cardholder
//	                                       adds on the terminal: 10 %, at least 1 €
//	2222 (22.22 €)                         approved after 150 s more
//	anything else                          APPROVED (Result 1)

// addIntent records a new intent. Call with s.mu held.
func (s *Sim) addIntent(in *intent) {
	s.intents = append(s.intents, in)
	if s.byRef == nil {
		s.byRef = map[string][]*intent{}
	}
	s.byRef[in.CustomerReference] = append(s.byRef[in.CustomerReference], in)
}

// advance moves every intent on as far as the clock says. Call with s.mu held.
func (s *Sim) advance() {
	now := s.clock.Now()
	for s.firstOpen < len(s.intents) && s.intents[s.firstOpen].Status == epay.StatusCompleted {
		s.firstOpen++ // a completed intent never changes again
	}
	for _, in := range s.intents[s.firstOpen:] {
		if in.Status == epay.StatusPending {
			press := in.created.Add(s.opts.PressDelay)
			switch {
			case s.opts.PressDelay >= 0 && !now.Before(press) && press.Before(in.created.Add(s.opts.PendingExpiry)):
				in.Status, in.sent = epay.StatusSent, press
			case !now.Before(in.created.Add(s.opts.PendingExpiry)):
				s.finish(in, epay.ResultFailed) // no terminal took it
			}
		}
		if in.Status == epay.StatusSent {
			d := s.opts.ProcessDelay
			if in.Amount == 2222 {
				d += 150 * time.Second
			}
			if !now.Before(in.sent.Add(d)) {
				s.complete(in, in.sent.Add(d))
			}
		}
	}
}

// complete ends a SENT intent by the sandbox rules.
func (s *Sim) complete(in *intent, at time.Time) {
	a := in.Amount
	switch {
	case a%100 == 51 || a == 999:
		code := "051"
		if a == 999 {
			code = "005"
		}
		rec := s.record(in, at, false, code)
		s.finish(in, epay.ResultDeclined)
		id := epay.NumID(rec.ID)
		in.Transaction = &id
	case a%100 == 54:
		s.finish(in, epay.ResultCancelled)
	case a%100 == 55 || a == 1313:
		s.record(in, at, true, "000") // the host approved; the device lost the line
		s.finish(in, epay.ResultUnknown)
	default:
		if a%100 == 77 && in.TxnType == epay.TxnSale && in.TipAmount == 0 {
			// The cardholder adds a tip on the terminal: 10 %, at least 1 €.
			in.TipAmount = max(a/10, 100)
		}
		rec := s.record(in, at, true, "000")
		s.finish(in, epay.ResultApproved)
		id := epay.NumID(rec.ID)
		in.Transaction = &id
		in.TransactionId = rec.transactionID
		in.ReceiptReference = "R" + string(in.ID)
	}
}

func (s *Sim) finish(in *intent, result int) {
	in.Status = epay.StatusCompleted
	in.Result = intp(result)
}

// record writes the host transaction.
func (s *Sim) record(in *intent, at time.Time, approved bool, code string) *txn {
	t := s.terminalByTID(in.tid)
	t.stan++
	auth := ""
	if approved {
		auth = randomDigits(6)
		if in.signature != "" {
			s.usedSigs[in.signature] = true
		}
	}
	card, pan, aid, label := "VISA", "476173******0119", "A0000000031010", "VISA CREDIT"
	if in.Amount%2 == 1 {
		card, pan, aid, label = "MASTERCARD", "516732******6411", "A0000000041010", "MASTERCARD"
	}
	rec := &txn{intentID: string(in.ID), at: at, initial: in.InitialTransaction}
	amount := in.Amount
	if in.hostAmount != nil {
		amount = *in.hostAmount
	}
	rec.Transaction = epay.Transaction{ID: epay.StrID(strconv.FormatInt(s.nextID(), 10)), CardPAN: pan, CardType: card,
		TID: t.TID, MID: "000000011719", Acquirer: "075", HostResponseCode: code, RRN: randomDigits(12), AuthCode: auth,
		CustomerReference: in.CustomerReference, Approved: approved, TxnType: in.TxnType, STAN: t.stan,
		BatchNumber: t.batch, Amount: amount, TipAmount: in.TipAmount, CurrencyCode: in.CurrencyCode,
		PosEntryMode: 7, AID: aid, ApplicationLabel: label, Timestamp: at.UTC().Format(time.RFC3339)}
	if approved {
		// AADE unique payment id: acquirer(3) batch(6) sequence(6) approval(6), notes §4.2.
		rec.transactionID = fmt.Sprintf("075%06d%06d%s", t.batch, t.stan, auth)
	}
	s.txns = append(s.txns, rec)
	return rec
}

// Press is the operator pressing the ECR key on terminal tid: the terminal
// takes its oldest pending intent. It reports whether there was one.
func (s *Sim) Press(tid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	var pending []*intent
	for _, in := range s.intents {
		if in.tid == tid && in.Status == epay.StatusPending {
			pending = append(pending, in)
		}
	}
	if len(pending) == 0 {
		return false
	}
	sortIntents(pending)
	pending[0].Status, pending[0].sent = epay.StatusSent, s.clock.Now()
	s.advance()
	return true
}

// CancelAtTerminal is the cardholder or operator cancelling on the device:
// the intent the terminal works on (or, failing that, the oldest pending
// one) ends CANCELLED.
func (s *Sim) CancelAtTerminal(tid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance()
	var target *intent
	for _, in := range s.intents {
		if in.tid != tid || in.Status == epay.StatusCompleted {
			continue
		}
		if target == nil || in.Status == epay.StatusSent && target.Status != epay.StatusSent {
			target = in
		}
	}
	if target == nil {
		return false
	}
	s.finish(target, epay.ResultCancelled)
	return true
}

// CloseBatch closes terminal tid's batch (end of day, notes §10.4): its
// transactions can no longer be voided, only refunded. It reports whether
// the terminal exists.
func (s *Sim) CloseBatch(tid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.terminalByTID(tid)
	if t == nil {
		return false
	}
	s.advance()
	t.batch++
	return true
}
