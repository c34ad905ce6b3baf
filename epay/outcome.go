package epay

import (
	"strconv"

	"github.com/tenderpay/tender"
)

// decide turns a completed intent and its host transaction record (nil
// when ePay has none) into an Update. The host record is what says whether
// money moved: an approved record is a capture whatever the intent's
// result, and a contradiction is raised. Only results the notes document as
// final (§7.5) end the payment without an approved record; an intent with no
// result or an unlisted one and no record stays open.
func (c *Connector) decide(cfg *config, p *tender.Payment, st *payState, in Intent, rec *Transaction) tender.Update {
	result := in.ResultCode()
	name := resultNames[result]
	if name == "" {
		name = "RESULT_" + strconv.Itoa(result)
		if in.Result == nil {
			name = "no result"
		}
	}
	if st.PreAuth && rec != nil && rec.Approved && rec.Voided {
		return tender.Update{Status: tender.StatusCanceled, Note: "the host record shows the pre-authorization voided",
			Failure: &tender.Failure{Code: tender.FailCanceled, Message: "The pre-authorization was voided; the held amount is released."}}
	}
	if rec != nil && rec.Approved && rec.Voided && !p.Status.Settled() {
		// The void that withdraws a queued payment (Cancel) reached ePay
		// after the terminal had approved it: the sale was voided in its
		// batch, so no money moved in the end.
		return tender.Update{Status: tender.StatusCanceled, Note: "the terminal approved the sale, then the cancel's void reversed it in its batch",
			Details: map[string]string{"voided_after_approval": "true"},
			Failure: &tender.Failure{Code: tender.FailCanceled, Message: "The payment was approved on the terminal and then voided by the cancel; no money moved."}}
	}
	if result == ResultApproved || rec != nil && rec.Approved {
		u := c.approved(cfg, p, st, in, rec)
		switch result {
		case ResultApproved:
		case ResultUnknown:
			// Documented communication loss (notes §7.9): not a contradiction.
			u.Note = "terminal reported UNKNOWN; the host transaction record shows it approved"
		default:
			u.Note = "terminal reported " + name + "; the host transaction record shows it approved"
			u.Discrepancy = joinDiscrepancy(u.Discrepancy, "the terminal reported "+name+" but ePay's host record shows the sale approved")
		}
		return u
	}
	documented := result == ResultDeclined || result == ResultCancelled || result == ResultFailed ||
		result == ResultBusy || result == ResultMaxTransaction
	switch {
	case rec != nil && !rec.Approved && result != ResultCancelled:
		// The host declined it: a decline whatever the device said.
		s, f := failure(ResultDeclined, rec.HostResponseCode)
		return tender.Update{Status: s, Failure: f, Receipt: c.receipt(cfg, p, st, in, rec, ResultDeclined, ""),
			Note: "declined (terminal result " + name + ", host response " + rec.HostResponseCode + ")"}
	case documented:
		s, f := failure(result, "")
		u := tender.Update{Status: s, Failure: f, Note: "terminal result " + name}
		if result == ResultDeclined || result == ResultCancelled {
			// The cardholder saw the outcome on the terminal: so does
			// the receipt. BUSY, FAILED, MAX_TRANSACTIONS never reached a card.
			u.Receipt = c.receipt(cfg, p, st, in, rec, result, "")
		}
		return u
	}
	// UNKNOWN, no result or an unlisted one, and no host record (yet): the
	// outcome stays in doubt; never guess.
	u := tender.Update{CheckIn: 15 * c.opts.PollInterval,
		Note: "terminal reported " + name + " and ePay has no host record for it; asking again"}
	if result == ResultUnknown && p.Status != tender.StatusUnknown {
		u.Status = tender.StatusUnknown
	}
	return u
}

// approved is the Update of an approved sale. The amount and tip the
// terminal took (the host record's when there is one, else the intent's)
// are recorded as taken and compared with what the payment asked for: the
// signed payable and the tip the POS asked for (invoice.tip_amount) are
// the payment's amount and no discrepancy. Another amount, or a tip the
// terminal added unasked (or another tip than asked), is captured as ePay
// reports it (details amount, tip_amount; myDATA amount, tipAmount) and
// raised as a discrepancy: money the merchant's POS did not ask for moved.
func (c *Connector) approved(cfg *config, p *tender.Payment, st *payState, in Intent, rec *Transaction) tender.Update {
	amount, tip := in.Amount, in.TipAmount
	if rec != nil && rec.Amount > 0 {
		amount, tip = rec.Amount, rec.TipAmount
	}
	in.Amount, in.TipAmount = amount, tip
	d := approvedDetails(st, in, rec)
	u := tender.Update{Status: tender.StatusCaptured, Details: d, Receipt: c.receipt(cfg, p, st, in, rec, ResultApproved, d[DetailMyDATATransactionID]), Note: "approved on the terminal"}
	if st.PreAuth {
		// A pre-authorization holds the amount; Capture completes it.
		u.Status, u.Note = tender.StatusAuthorized, "pre-authorization approved on the terminal"
		if amount != p.Amount {
			u.Discrepancy = "the terminal pre-authorized EUR " + string(Euros(amount)) + " for this payment of EUR " + string(Euros(p.Amount))
		}
		return u
	}
	payable := p.Amount - st.Tip
	if st.Payable != 0 {
		payable = st.Payable
	}
	taken := amount + tip
	if tipInSignedPayable {
		taken = amount
	}
	if st.Tip != 0 {
		d[DetailTip] = string(Euros(tip))
	}
	if amount != payable || tip != st.Tip {
		u.Captured = taken
		d[DetailAmount], d[DetailTip] = string(Euros(amount)), string(Euros(tip))
		msg := "the terminal approved EUR " + string(Euros(amount))
		switch {
		case tip != 0 && st.Tip == 0:
			msg += " plus a tip of EUR " + string(Euros(tip)) + " that the payment did not ask for"
		case tip != st.Tip:
			msg += " plus a tip of EUR " + string(Euros(tip)) + " (asked: EUR " + string(Euros(st.Tip)) + ")"
		}
		u.Discrepancy = msg + " for this payment of EUR " + string(Euros(p.Amount))
	}
	return u
}

func joinDiscrepancy(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// notSent turns a failure before anything was sent for operation what into
// a refusal: ePay certainly did nothing.
func notSent(err error, what string) error {
	if e := tender.AsError(err); e != nil && e.Code != tender.EUnavailable {
		return err
	}
	return tender.Wrap(tender.EProvider, err, "ePay could not be asked about the payment before the %s; nothing was sent, try again", what)
}
