package epay

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tenderpay/tender"
)

// Capture completes a pre-authorization (capture "manual", TxnType 2) with
// a pre-authorization completion (TxnType 3) of op.Amount, at most the
// pre-authorized amount, linked to it by InitialTransaction (notes §7.4:
// required for a completion). A terminal completes a pre-authorization
// once, so the completion closes it: what is not completed is released
// (Update status captured). The completion carries no ProviderData: the
// pre-authorization's signature covers the payment (completionUnsigned).
// Its AADE transaction id replaces the pre-authorization's in the myDATA
// details: it is the payment that took the money.
func (c *Connector) Capture(ctx context.Context, op *tender.Op) (tender.Update, error) {
	p := op.Payment
	st := loadState(p)
	if !st.PreAuth {
		return tender.Update{}, tender.Errorf(tender.EConflict, "ePay terminal sales are captured when approved; only a payment with capture \"manual\" (a pre-authorization) is captured")
	}
	if p.Status != tender.StatusAuthorized {
		return tender.Update{}, tender.Errorf(tender.EConflict, "a %s payment cannot be captured", p.Status)
	}
	if op.Amount <= 0 || op.Amount > p.Amount {
		return tender.Update{}, tender.Invalid("amount", "the capture amount must be positive and at most the pre-authorized amount")
	}
	cfg, err := accountConfig(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	tid, apiKey, err := terminalConfig(op.Terminal)
	if err != nil {
		return tender.Update{}, err
	}
	st.TID = tid
	if st.IntentID == "" {
		return tender.Update{}, tender.Errorf(tender.EConflict, "the pre-authorization's intent is not known yet; try again")
	}
	wc := c.webecr(cfg)
	if st.TerminalID == "" {
		if st.TerminalID, err = c.terminalID(ctx, cfg, wc, op.Terminal, apiKey); err != nil {
			return tender.Update{}, tender.Wrap(tender.EProvider, err, "ePay could not be reached; nothing was sent, try again")
		}
	}
	o := &original{cfg: cfg, wc: wc, apiKey: apiKey, st: st, in: &Intent{ID: NumID(st.IntentID)}}
	in, rec, err := c.followUp(ctx, o, opReference(p, "c", op.ID), TxnCompletion, op.Amount, "capture")
	if err != nil {
		return tender.Update{}, err
	}
	switch followUpOutcome(in, rec) {
	case tender.OpSucceeded:
		return c.completionDone(cfg, p, st, in, rec, op.Amount), nil
	case tender.OpPending:
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "the terminal reported %s for the completion and ePay has no host record for it yet; Tender asks again", resultNames[in.ResultCode()])
	}
	return tender.Update{}, followUpRefused(in, rec, "capture")
}

// completionDone is the Update of an approved completion: captured (the
// authorization closes), with the myDATA block and the receipt of the
// completion.
func (c *Connector) completionDone(cfg *config, p *tender.Payment, st *payState, in *Intent, rec *Transaction, amount int64) tender.Update {
	taken := *in
	if rec != nil && rec.Amount > 0 {
		taken.Amount, taken.TipAmount = rec.Amount, rec.TipAmount
	}
	d := approvedDetails(st, taken, rec)
	d[DetailCompletionIntentID] = string(in.ID)
	d[DetailIntentID] = st.IntentID
	taken.TxnType = TxnCompletion
	u := tender.Update{Status: tender.StatusCaptured, Details: d, Note: "pre-authorization completed on the terminal",
		Receipt: c.receipt(cfg, p, st, taken, rec, ResultApproved, d[DetailMyDATATransactionID])}
	if taken.Amount != amount {
		u.Discrepancy = "the terminal completed EUR " + string(Euros(taken.Amount)) + " of a capture of EUR " + string(Euros(amount))
	}
	return u
}

// DetailCompletionIntentID is the intent of the pre-authorization completion.
const DetailCompletionIntentID = "completion_intent_id"

// cancelAuthorization voids an approved pre-authorization (txnvoid by
// intent id), which releases the held amount.
func (c *Connector) cancelAuthorization(ctx context.Context, op *tender.Op, cfg *config, wc *WebECRClient, apiKey string, st *payState, in *Intent) (tender.Update, error) {
	var err error
	if st.TerminalID == "" {
		if st.TerminalID, err = c.terminalID(ctx, cfg, wc, op.Terminal, apiKey); err != nil {
			return tender.Update{}, tender.Wrap(tender.EProvider, err, "ePay could not be reached; nothing was sent, try again")
		}
	}
	vctx, cancel := c.timeout(ctx)
	v, err := wc.Void(vctx, apiKey, st.TerminalID, VoidRequest{OriginalIdentifier: string(in.ID), OriginalIdentifierType: VoidByIntentID})
	cancel()
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 {
			return tender.Update{}, tender.Wrap(tender.EConflict, err, "ePay refused to void the pre-authorization")
		}
		return tender.Update{}, tender.Wrap(tender.EUnavailable, err, "ePay did not confirm the void of the pre-authorization")
	}
	if v.Status != StatusCompleted || v.ResultCode() != ResultApproved {
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "ePay has not completed the void of the pre-authorization yet (%s)", resultNames[v.ResultCode()])
	}
	b, _ := json.Marshal(st)
	return tender.Update{Status: tender.StatusCanceled, State: b, Note: "pre-authorization voided",
		Details: map[string]string{DetailVoidTransactionID: v.TransactionId},
		Failure: &tender.Failure{Code: tender.FailCanceled, Message: "The merchant canceled the pre-authorization; the held amount is released."}}, nil
}
