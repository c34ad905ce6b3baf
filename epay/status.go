package epay

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/tenderpay/tender"
)

// findIntent returns the payment's sale intent, looked up by
// CustomerReference (the payment id), preferring the id txninit returned.
func (c *Connector) findIntent(ctx context.Context, wc *WebECRClient, apiKey string, p *tender.Payment, st *payState) (*Intent, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	ins, err := wc.IntentsByReference(ctx, apiKey, p.ID)
	if err != nil {
		return nil, err
	}
	var found *Intent
	for i := range ins {
		in := &ins[i]
		if in.CustomerReference != p.ID {
			continue
		}
		if st.IntentID != "" && string(in.ID) == st.IntentID {
			return in, nil
		}
		if found == nil || idLess(found.ID, in.ID) {
			found = in
		}
	}
	return found, nil
}

func idLess(a, b NumID) bool {
	x, err1 := strconv.ParseInt(string(a), 10, 64)
	y, err2 := strconv.ParseInt(string(b), 10, 64)
	if err1 != nil || err2 != nil {
		return a < b
	}
	return x < y
}

// findTransaction returns the host record of an intent: by the intent's
// Transaction link, else by CustomerReference (a Result UNKNOWN intent has
// lost the link; notes §7.9 "communication lost").
func (c *Connector) findTransaction(ctx context.Context, wc *WebECRClient, apiKey string, st *payState, in *Intent) (*Transaction, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	recs, err := wc.Transactions(ctx, apiKey, st.TID, st.StartedAt.Add(-transactionLookback))
	if err != nil {
		return nil, err
	}
	var byRef *Transaction
	for i := range recs {
		r := &recs[i]
		if in.Transaction != nil && *in.Transaction != "" && string(r.ID) == string(*in.Transaction) {
			return r, nil
		}
		if r.CustomerReference == in.CustomerReference && (r.TxnType == TxnSale || r.TxnType == TxnPreAuth) && (byRef == nil || r.Approved) {
			byRef = r
		}
	}
	return byRef, nil
}

// lookup reads what Status and Cancel both start from: the account and
// terminal configuration, the payment's state and its intent at ePay (nil
// if ePay has none).
func (c *Connector) lookup(ctx context.Context, op *tender.Op) (*config, *WebECRClient, string, *payState, *Intent, error) {
	cfg, err := accountConfig(op.Account)
	if err != nil {
		return nil, nil, "", nil, nil, err
	}
	tid, apiKey, err := terminalConfig(op.Terminal)
	if err != nil {
		return nil, nil, "", nil, nil, err
	}
	st := loadState(op.Payment)
	st.TID = tid
	wc := c.webecr(cfg)
	in, err := c.findIntent(ctx, wc, apiKey, op.Payment, st)
	if err != nil {
		return nil, nil, "", nil, nil, tender.Wrap(tender.EUnavailable, err, "ePay could not be asked about the payment")
	}
	return cfg, wc, apiKey, st, in, nil
}

// Status asks ePay what became of the payment.
func (c *Connector) Status(ctx context.Context, op *tender.Op) (tender.Update, error) {
	p := op.Payment
	cfg, wc, apiKey, st, in, err := c.lookup(ctx, op)
	if err != nil {
		return tender.Update{}, err
	}
	if in == nil {
		// Status never sends a payment: txninit is Start's alone. ePay
		// registers an intent when txninit arrives, so once LostAfter has
		// passed none will appear.
		if c.opts.Clock.Now().Sub(st.StartedAt) < c.opts.LostAfter {
			return tender.Update{CheckIn: c.opts.PollInterval, Note: "ePay has no intent for the payment yet"}, nil
		}
		if op.CancelRequested {
			return tender.Update{Status: tender.StatusCanceled, Note: "ePay has no transaction intent for the payment; canceled as asked",
				Failure: &tender.Failure{Code: tender.FailCanceled, Message: "The payment was canceled before it reached ePay; no money moved."}}, nil
		}
		return tender.Update{Status: tender.StatusFailed, Note: "ePay has no transaction intent for the payment",
			Failure: &tender.Failure{Code: tender.FailProvider, Message: "The payment never reached ePay; no money moved."}}, nil
	}
	if st.IntentID == "" {
		st.IntentID = string(in.ID)
	}
	u, err := c.interpret(ctx, cfg, wc, apiKey, p, st, *in)
	if err != nil {
		return tender.Update{}, err
	}
	u.ProviderReference = string(in.ID)
	u.State = st.raw()
	return u, nil
}

// interpret turns an intent into an Update. A completed intent is always
// read together with its host transaction record, which is what says
// whether money moved; see decide.
func (c *Connector) interpret(ctx context.Context, cfg *config, wc *WebECRClient, apiKey string, p *tender.Payment, st *payState, in Intent) (tender.Update, error) {
	switch in.Status {
	case StatusPending, StatusSent:
		u := tender.Update{CheckIn: c.opts.PollInterval, Note: "waiting for the terminal"}
		if in.Status == StatusSent {
			u.Note = "the terminal is taking the payment"
			u.CheckIn = c.opts.WorkingPollInterval
		}
		if p.Status != tender.StatusProcessing {
			u.Status = tender.StatusProcessing
		}
		return u, nil
	case StatusCompleted:
	default:
		return tender.Update{CheckIn: c.opts.PollInterval,
			Note: "ePay reported intent status " + strconv.Itoa(in.Status) + ", which is not documented; asking again"}, nil
	}
	rec, err := c.findTransaction(ctx, wc, apiKey, st, &in)
	if err != nil {
		return tender.Update{}, tender.Wrap(tender.EUnavailable, err, "ePay's transaction records could not be read")
	}
	return c.decide(cfg, p, st, in, rec), nil
}

// Cancel withdraws a payment the terminal has not taken yet (intent
// PENDING) with txnvoid by intent id; see withdrawPendingByVoid.
func (c *Connector) Cancel(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, wc, apiKey, st, in, err := c.lookup(ctx, op)
	if err != nil {
		return tender.Update{}, notSent(err, "cancel")
	}
	canceled := tender.Update{Status: tender.StatusCanceled, Note: "withdrawn before the terminal took it",
		Failure: &tender.Failure{Code: tender.FailCanceled, Message: "The payment was cancelled before the terminal took it."}}
	switch {
	case in == nil:
		if c.opts.Clock.Now().Sub(st.StartedAt) >= c.opts.LostAfter {
			return canceled, nil
		}
		return tender.Update{}, tender.Errorf(tender.EConflict, "ePay has not registered the payment yet; try again in a moment")
	case in.Status == StatusSent:
		return tender.Update{}, tender.Errorf(tender.EConflict, "the terminal has already taken the payment; it can only be cancelled on the terminal")
	case in.Status == StatusCompleted && st.PreAuth && op.Payment.Status == tender.StatusAuthorized:
		return c.cancelAuthorization(ctx, op, cfg, wc, apiKey, st, in)
	case in.Status == StatusCompleted:
		return tender.Update{}, tender.Errorf(tender.EConflict, "the terminal has already completed the payment")
	case !withdrawPendingByVoid:
		return tender.Update{}, tender.Errorf(tender.ENotSupported, "ePay has no way to withdraw a queued payment")
	}
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
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			return tender.Update{}, tender.Wrap(tender.EConflict, err, "the terminal has already taken the payment; it can only be cancelled on the terminal")
		}
		return tender.Update{}, tender.Wrap(tender.EUnavailable, err, "ePay did not confirm the cancellation")
	}
	if v.Status != StatusCompleted {
		// The void is still open at ePay: it may yet withdraw the payment.
		return tender.Update{}, tender.Errorf(tender.EUnavailable, "ePay has not completed the cancellation yet; the payment's status is checked again")
	}
	if v.ResultCode() != ResultApproved {
		return tender.Update{}, tender.Errorf(tender.EConflict, "ePay did not withdraw the payment (%s)", resultNames[v.ResultCode()])
	}
	canceled.State = st.raw()
	return canceled, nil
}

// Callback: ePay's webhooks are not documented for ePay (notes §7.6), so
// the connector polls and accepts no callbacks.
func (c *Connector) Callback(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
	return nil, tender.Errorf(tender.ENotFound, "epay takes no callbacks")
}
