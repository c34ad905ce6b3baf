package epay

import (
	"context"

	"github.com/tenderpay/tender"
)

var _ tender.OperationChecker = (*Connector)(nil)

// CheckOperation implements tender.OperationChecker for refunds and
// pre-authorization completions (captures), from ePay's records:
//
//   - the follow-up transaction the operation started (found by its
//     CustomerReference, opReference): completed with an approved host
//     record, succeeded; completed otherwise, failed; still open, or UNKNOWN
//     without a record, pending;
//   - no such transaction, for a refund of the whole sale: it was a void,
//     decided by the sale's host record (Voided: succeeded; not voided:
//     pending, a void still on its way could yet arrive, and a retry with
//     the same Idempotency-Key finds a void that happened and never voids
//     twice);
//   - no such transaction otherwise: its txninit never reached ePay, which
//     registers an intent on arrival: failed.
func (c *Connector) CheckOperation(ctx context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
	if kind != tender.OpRefund && kind != tender.OpCapture {
		return "", tender.Update{}, tender.Errorf(tender.ENotSupported, "ePay has no %s operation to check", kind)
	}
	cfg, err := accountConfig(op.Account)
	if err != nil {
		return "", tender.Update{}, err
	}
	tid, apiKey, err := terminalConfig(op.Terminal)
	if err != nil {
		return "", tender.Update{}, err
	}
	p := op.Payment
	st := loadState(p)
	st.TID = tid
	wc := c.webecr(cfg)
	o := &original{cfg: cfg, wc: wc, apiKey: apiKey, st: st}
	refKind, txnType := "r", TxnRefund
	if kind == tender.OpCapture {
		refKind, txnType = "c", TxnCompletion
	}
	ref := opReference(p, refKind, op.ID)
	fin, err := c.intentByRef(ctx, o, ref)
	if err != nil {
		return "", tender.Update{}, tender.Wrap(tender.EUnavailable, err, "ePay could not be asked about the %s", kind)
	}
	if fin != nil {
		rec, err := c.recordByRef(ctx, o, fin, ref, txnType)
		if err != nil {
			return "", tender.Update{}, tender.Wrap(tender.EUnavailable, err, "ePay's transaction records could not be read")
		}
		out := followUpOutcome(fin, rec)
		note := string(kind) + " transaction " + string(fin.ID) + ": " + resultNames[fin.ResultCode()]
		if out != tender.OpSucceeded {
			return out, tender.Update{Note: note}, nil
		}
		if kind == tender.OpCapture {
			return out, c.completionDone(cfg, p, st, fin, rec, op.Amount), nil
		}
		u := refundDone(fin, rec)
		u.Note = note
		return out, u, nil
	}
	if kind == tender.OpCapture || op.Amount != p.CapturedAmount || p.RefundedAmount != 0 {
		return tender.OpFailed, tender.Update{Note: "ePay has no transaction for the " + string(kind) + ": it never arrived"}, nil
	}
	in, err := c.findIntent(ctx, wc, apiKey, p, st)
	if err != nil {
		return "", tender.Update{}, tender.Wrap(tender.EUnavailable, err, "ePay could not be asked about the payment")
	}
	if in == nil || in.Status != StatusCompleted {
		return tender.OpFailed, tender.Update{Note: "ePay has no completed sale for the payment, so nothing was voided"}, nil
	}
	rec, err := c.findTransaction(ctx, wc, apiKey, st, in)
	if err != nil {
		return "", tender.Update{}, tender.Wrap(tender.EUnavailable, err, "ePay's transaction records could not be read")
	}
	switch {
	case rec == nil || !rec.Approved:
		return tender.OpFailed, tender.Update{Note: "ePay has no approved sale for the payment, so nothing was voided"}, nil
	case rec.Voided:
		return tender.OpSucceeded, tender.Update{Status: tender.StatusRefunded, Note: "the host record shows the sale voided"}, nil
	}
	return tender.OpPending, tender.Update{Note: "the host record does not show the sale voided (yet)"}, nil
}
