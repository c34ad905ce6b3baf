package epay

import (
	"context"

	"github.com/tenderpay/tender"
)

var _ tender.OperationChecker = (*Connector)(nil)

// CheckOperation implements tender.OperationChecker for refunds, which are
// voids of the whole sale (Refund): the host transaction record says
// whether it is voided. A sale not voided stays pending: a void still on
// its way could yet arrive, and a retry of the refund with the same
// Idempotency-Key finds a void that happened (rec.Voided) and never voids
// twice. ePay has no capture.
func (c *Connector) CheckOperation(ctx context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
	if kind != tender.OpRefund {
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
