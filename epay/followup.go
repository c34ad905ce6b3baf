package epay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/tenderpay/tender"
)

// Follow-up operations on a sale or pre-authorization are transactions of
// their own on the terminal (notes §7.4 TxnType, §8.4): a refund (TxnType 1)
// or a pre-authorization completion (TxnType 3), each with the original
// intent as InitialTransaction. Each has its own CustomerReference, derived
// from the operation id, so a retried request finds the transaction it
// started instead of starting another, and an operation in doubt is found
// by it (CheckOperation).

// opReference is the CustomerReference of follow-up operation opID of kind
// ("r" refund, "c" completion) on p: stable across retries of one request,
// never the sale's (the payment id), at most 50 characters (notes §7.4).
func opReference(p *tender.Payment, kind, opID string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + opID))
	suffix := "-" + kind + hex.EncodeToString(h[:])[:12]
	id := p.ID
	if len(id)+len(suffix) > 50 {
		id = id[:50-len(suffix)]
	}
	return id + suffix
}

// original is the sale (or pre-authorization) an operation follows up:
// its intent and approved host record.
type original struct {
	cfg    *config
	wc     *WebECRClient
	apiKey string
	st     *payState
	in     *Intent
	rec    *Transaction
}

// findOriginal reads the payment's own intent and host record. Every
// error means nothing was sent.
func (c *Connector) findOriginal(ctx context.Context, op *tender.Op, what string) (*original, error) {
	cfg, err := accountConfig(op.Account)
	if err != nil {
		return nil, err
	}
	tid, apiKey, err := terminalConfig(op.Terminal)
	if err != nil {
		return nil, err
	}
	st := loadState(op.Payment)
	st.TID = tid
	wc := c.webecr(cfg)
	in, err := c.findIntent(ctx, wc, apiKey, op.Payment, st)
	if err != nil {
		return nil, tender.Wrap(tender.EProvider, err, "ePay could not be asked about the payment; nothing was sent for the %s, try again", what)
	}
	if in == nil || in.Status != StatusCompleted {
		return nil, tender.Errorf(tender.EConflict, "ePay has no completed transaction for the payment")
	}
	rec, err := c.findTransaction(ctx, wc, apiKey, st, in)
	if err != nil {
		return nil, tender.Wrap(tender.EProvider, err, "ePay's transaction records could not be read; nothing was sent for the %s, try again", what)
	}
	if rec == nil || !rec.Approved {
		return nil, tender.Errorf(tender.EConflict, "ePay has no approved transaction for the payment")
	}
	if st.TerminalID == "" {
		if st.TerminalID, err = c.terminalID(ctx, cfg, wc, op.Terminal, apiKey); err != nil {
			return nil, tender.Wrap(tender.EProvider, err, "ePay could not be reached; nothing was sent, try again")
		}
	}
	return &original{cfg: cfg, wc: wc, apiKey: apiKey, st: st, in: in, rec: rec}, nil
}

// followUp starts (or, on a retry, finds) the follow-up transaction ref of
// txnType for amount, and waits up to OperationWait for the terminal to
// complete it. It returns the completed intent and its host record (nil
// when declined without one). An error with EUnavailable leaves the
// operation in doubt; any other means nothing was done.
func (c *Connector) followUp(ctx context.Context, o *original, ref string, txnType int, amount int64, what string) (*Intent, *Transaction, error) {
	in, err := c.intentByRef(ctx, o, ref)
	if err != nil {
		return nil, nil, tender.Wrap(tender.EProvider, err, "ePay could not be asked about an earlier attempt; nothing was sent for the %s, try again", what)
	}
	if in == nil {
		if txnType == TxnRefund && refundSigned || txnType == TxnCompletion && !completionUnsigned {
			// The choice in assumptions.go: a signed follow-up would need a
			// credit note signed by Impact, which the API does not take.
			return nil, nil, tender.Errorf(tender.ENotSupported, "a signed %s needs a document signed by the e-invoicing provider, which Tender does not take yet", what)
		}
		initial := o.in.ID
		req := TxnInitRequest{TxnType: txnType, Amount: amount, CurrencyCode: CurrencyEUR, CustomerReference: ref,
			InitialTransaction: &initial}
		tctx, cancel := c.timeout(ctx)
		got, err := o.wc.TxnInit(tctx, o.apiKey, o.st.TerminalID, req)
		cancel()
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Status < 500 || errors.Is(err, ErrAuth) {
				return nil, nil, tender.Wrap(tender.EProvider, err, "ePay refused the %s", what)
			}
			return nil, nil, tender.Wrap(tender.EUnavailable, err, "ePay did not answer the %s; Tender asks it for the outcome", what)
		}
		in = &got
	}
	deadline := time.Now().Add(c.opts.OperationWait)
	for in.Status != StatusCompleted {
		if time.Now().After(deadline) {
			return nil, nil, tender.Errorf(tender.EUnavailable, "the terminal has not completed the %s yet (press the ECR key on the terminal); Tender asks ePay for the outcome", what)
		}
		select {
		case <-ctx.Done():
			return nil, nil, tender.Wrap(tender.EUnavailable, ctx.Err(), "the terminal has not completed the %s yet; Tender asks ePay for the outcome", what)
		case <-time.After(c.opts.PollInterval):
		}
		next, err := c.intentByRef(ctx, o, ref)
		if err != nil || next == nil {
			continue // asked again; the intent exists
		}
		in = next
	}
	rec, err := c.recordByRef(ctx, o, in, ref, txnType)
	if err != nil {
		return nil, nil, tender.Wrap(tender.EUnavailable, err, "ePay's transaction records could not be read; Tender asks it for the outcome of the %s", what)
	}
	return in, rec, nil
}

// intentByRef finds the follow-up intent ref. The question changes
// nothing, so a failed one is asked once more before giving up.
func (c *Connector) intentByRef(ctx context.Context, o *original, ref string) (*Intent, error) {
	var ins []Intent
	var err error
	for range 2 {
		qctx, cancel := c.timeout(ctx)
		ins, err = o.wc.IntentsByReference(qctx, o.apiKey, ref)
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	var found *Intent
	for i := range ins {
		if ins[i].CustomerReference == ref && (found == nil || idLess(found.ID, ins[i].ID)) {
			found = &ins[i]
		}
	}
	return found, nil
}

// recordByRef returns the host record of a follow-up intent: by its
// Transaction link, else by CustomerReference and type (an intent that
// ended UNKNOWN lost the link).
func (c *Connector) recordByRef(ctx context.Context, o *original, in *Intent, ref string, txnType int) (*Transaction, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	recs, err := o.wc.Transactions(ctx, o.apiKey, o.st.TID, o.st.StartedAt.Add(-transactionLookback))
	if err != nil {
		return nil, err
	}
	var byRef *Transaction
	for i := range recs {
		r := &recs[i]
		if in.Transaction != nil && *in.Transaction != "" && string(r.ID) == string(*in.Transaction) {
			return r, nil
		}
		if r.CustomerReference == ref && r.TxnType == txnType && (byRef == nil || r.Approved) {
			byRef = r
		}
	}
	return byRef, nil
}

// followUpOutcome decides a completed follow-up intent by its host record,
// as decide does for a sale: an approved record is success whatever the
// intent says; UNKNOWN without a record stays in doubt.
func followUpOutcome(in *Intent, rec *Transaction) tender.OpOutcome {
	switch {
	case in.Status != StatusCompleted:
		return tender.OpPending
	case rec != nil && rec.Approved:
		return tender.OpSucceeded
	case rec == nil && (in.ResultCode() == ResultUnknown || in.Result == nil):
		return tender.OpPending
	}
	return tender.OpFailed
}

// followUpRefused is the error of a follow-up the terminal did not carry out.
func followUpRefused(in *Intent, rec *Transaction, what string) error {
	name := resultNames[in.ResultCode()]
	if rec != nil && !rec.Approved {
		name += ", host response " + rec.HostResponseCode
	}
	return &tender.Error{Code: tender.EProvider, ProviderCode: resultCodeText(in),
		Message: "the terminal did not carry out the " + what + " (" + name + ")"}
}

func resultCodeText(in *Intent) string {
	if in.Result == nil {
		return ""
	}
	return resultNames[*in.Result]
}

// Refund returns op.Amount of an approved sale. The whole amount, before
// any other refund, is voided (txnvoid) while ePay allows it (the sale's
// batch is open); otherwise, and for partial and later refunds, a refund
// transaction (TxnType 1) linked to the sale is sent to the terminal. Its
// AADE transaction id, which the invoice's credit note needs, is returned in
// details (refund_<intent>_transaction_id, last_refund_transaction_id).
func (c *Connector) Refund(ctx context.Context, op *tender.Op) (tender.Update, error) {
	p := op.Payment
	if op.Amount <= 0 || op.Amount > p.CapturedAmount-p.RefundedAmount {
		return tender.Update{}, tender.Invalid("amount", "the refund amount must be positive and at most what is captured and not refunded")
	}
	o, err := c.findOriginal(ctx, op, "refund")
	if err != nil {
		return tender.Update{}, err
	}
	if o.rec.Voided { // a retried full refund: the void already happened
		return tender.Update{Status: tender.StatusRefunded, Note: "voided"}, nil
	}
	ref := opReference(p, "r", op.ID)
	if o.st.PreAuth {
		// What took the money is the completion: the refund follows it up.
		id := p.Details[DetailCompletionIntentID]
		if id == "" {
			return tender.Update{}, tender.Errorf(tender.EConflict, "the pre-authorization's completion is not known; nothing was refunded")
		}
		o.in = &Intent{ID: NumID(id)}
	} else if op.Amount == p.CapturedAmount && p.RefundedAmount == 0 {
		u, tried, err := c.voidSale(ctx, o, op, ref)
		if tried {
			return u, err
		}
	}
	in, rec, err := c.followUp(ctx, o, ref, TxnRefund, op.Amount, "refund")
	if err != nil {
		return tender.Update{}, err
	}
	if followUpOutcome(in, rec) != tender.OpSucceeded {
		if followUpOutcome(in, rec) == tender.OpPending {
			return tender.Update{}, tender.Errorf(tender.EUnavailable, "the terminal reported %s for the refund and ePay has no host record for it yet; Tender asks again", resultNames[in.ResultCode()])
		}
		return tender.Update{}, followUpRefused(in, rec, "refund")
	}
	return refundDone(in, rec), nil
}

// refundDone is the Update of a refund transaction the host approved.
func refundDone(in *Intent, rec *Transaction) tender.Update {
	txID := in.TransactionId
	if txID == "" && rec != nil {
		txID = uniquePaymentID(rec)
	}
	id := string(in.ID)
	return tender.Update{Note: "refund transaction " + id + " approved",
		Details: map[string]string{
			"refund_" + id + "_transaction_id": txID,
			"refund_" + id + "_amount":         string(Euros(in.Amount)),
			DetailLastRefundTransactionID:      txID,
		}}
}

// DetailLastRefundTransactionID is the AADE transaction id of the latest
// refund transaction (each also has refund_<intent id>_transaction_id).
const DetailLastRefundTransactionID = "last_refund_transaction_id"

// voidSale voids the whole sale. tried is false when ePay refused the void
// as such (for example after the batch closed): nothing was done, and a
// refund transaction is sent instead.
func (c *Connector) voidSale(ctx context.Context, o *original, op *tender.Op, ref string) (u tender.Update, tried bool, err error) {
	// A refund transaction already started for this request settles it.
	if prior, err := c.intentByRef(ctx, o, ref); err != nil || prior != nil {
		return tender.Update{}, false, nil
	}
	vctx, cancel := c.timeout(ctx)
	v, err := o.wc.Void(vctx, o.apiKey, o.st.TerminalID, VoidRequest{OriginalIdentifier: string(o.in.ID), OriginalIdentifierType: VoidByIntentID})
	cancel()
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			c.log.Info("epay: void refused, refunding instead", "payment", op.Payment.ID, "err", err)
			return tender.Update{}, false, nil
		}
		if errors.As(err, &ae) && ae.Status < 500 {
			return tender.Update{}, true, tender.Wrap(tender.EProvider, err, "ePay refused the void")
		}
		return tender.Update{}, true, tender.Wrap(tender.EUnavailable, err, "ePay did not confirm the void")
	}
	if v.Status != StatusCompleted || v.ResultCode() != ResultApproved {
		// The void intent is still open or failed; the engine may retry,
		// and the check of rec.Voided keeps a retry from voiding twice.
		return tender.Update{}, true, tender.Errorf(tender.EUnavailable, "ePay has not completed the void yet (%s)", resultNames[v.ResultCode()])
	}
	return tender.Update{Status: tender.StatusRefunded, Note: "voided",
		Details: map[string]string{DetailVoidTransactionID: v.TransactionId}}, true, nil
}
