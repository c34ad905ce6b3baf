package trustpayments

import (
	"context"
	"strconv"

	"github.com/tenderpay/tender"
)

var _ tender.OperationChecker = (*Connector)(nil)

// Trust Payments settles an authorization once (notes §6.4: settlestatus 0
// or 1 releases it, settlebaseamount may only go down): a capture, full or
// partial, closes the authorization, and the part not captured is never
// settled. A cancel (settlestatus 3) cancels the whole AUTH, so it is only
// sent while nothing of it has been released.

// errReleased is the refusal of a cancel once any part was captured.
var errReleased = &tender.Error{Code: tender.ENotSupported,
	Message: "Trust Payments settles an authorization once: the capture released the rest of the authorization, so nothing is left to cancel; refund the captured amount instead"}

// Cancel cancels an authorization (TRANSACTIONUPDATE settlestatus 3, notes
// §6.4) or an open checkout (after checking no AUTH was made). It refuses
// once any part of the authorization was captured: cancelling then would
// cancel the settled part.
func (c *Connector) Cancel(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	switch p.Status {
	case tender.StatusPartiallyCaptured, tender.StatusCaptured, tender.StatusPartiallyRefunded, tender.StatusRefunded:
		return tender.Update{}, errReleased
	}
	if p.CapturedAmount > 0 {
		return tender.Update{}, errReleased
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ref := p.ProviderReference
	var auth Result
	if ref == "" {
		records, err := c.ws(cfg).Query(ctx, map[string]string{"sitereference": cfg.SiteReference, "orderreference": p.ID})
		if err != nil {
			return tender.Update{}, notSent(err, "cancel")
		}
		for _, r := range records {
			if r.Get("requesttypedescription") == "AUTH" && r.Get("errorcode") == "0" && !isInstalment(r) {
				ref, auth = r.Get("transactionreference"), r
			}
		}
		if ref == "" {
			return tender.Update{Status: tender.StatusCanceled, Failure: &tender.Failure{Code: tender.FailCanceled, Message: "the payment was canceled"}, Note: "trustpayments: checkout canceled before any AUTH"}, nil
		}
	} else if auth, err = c.record(ctx, cfg, ref); err != nil {
		if tender.ErrorCodeOf(err) == tender.ENotFound {
			err = tender.Wrap(tender.EProvider, err, "Trust Payments does not show the payment's authorization yet; nothing was canceled, try again")
		}
		return tender.Update{}, notSent(err, "cancel")
	}
	if p.CaptureMode == tender.CaptureManual {
		switch auth.Get("settlestatus") {
		case "0", "1", "10", "100":
			// Released for settlement by a capture Tender has not booked
			// (its answer was lost): the capture decides, not a cancel.
			return tender.Update{}, &tender.Error{Code: tender.EConflict, ProviderCode: "settlestatus " + auth.Get("settlestatus"),
				Message: "Trust Payments has already released this authorization for settlement (a capture went through); it can no longer be canceled"}
		}
	}
	if err := c.cancelAuth(ctx, cfg, ref); err != nil {
		return tender.Update{}, err
	}
	return tender.Update{Status: tender.StatusCanceled, ProviderReference: ref, Details: map[string]string{"settlestatus": "3"},
		Failure: &tender.Failure{Code: tender.FailCanceled, Message: "the payment was canceled"}, Note: "trustpayments: AUTH cancelled (settlestatus 3)"}, nil
}

func (c *Connector) cancelAuth(ctx context.Context, cfg Config, ref string) error {
	res, err := c.ws(cfg).Update(ctx, cfg.SiteReference, ref, map[string]string{"settlestatus": "3"})
	if err != nil {
		return err
	}
	if code := res.Get("errorcode"); code != "0" {
		// A retry after a lost answer finds the AUTH already cancelled.
		if r, qerr := c.record(ctx, cfg, ref); qerr == nil && r.Get("settlestatus") == "3" {
			return nil
		}
		return wsError(code, "Trust Payments did not cancel the authorization")
	}
	return nil
}

// Capture releases a suspended authorization for settlement (TRANSACTIONUPDATE
// settlestatus 0), lowering the settled amount for a partial capture
// (settlebaseamount may only go down, notes §6.4). Trust Payments settles an
// authorization once, so there is one capture per payment, and it closes the
// authorization: the Update says captured also for a partial capture.
func (c *Connector) Capture(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	if p.ProviderReference == "" {
		return tender.Update{}, tender.Errorf(tender.EConflict, "the payment has no Trust Payments transaction to capture")
	}
	if p.CapturedAmount > 0 {
		return tender.Update{}, tender.Errorf(tender.ENotSupported, "Trust Payments settles an authorization once; it has already been captured")
	}
	if op.Amount <= 0 || op.Amount > p.Amount {
		return tender.Update{}, tender.Invalid("amount", "capture amount must be between 1 and the authorized amount")
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	updates := map[string]string{"settlestatus": "0"}
	if op.Amount < p.Amount {
		k, v := c.amountField(cfg, "settle", op.Amount, p.Currency)
		updates[k] = v
	}
	res, err := c.ws(cfg).Update(ctx, cfg.SiteReference, p.ProviderReference, updates)
	if err != nil {
		return tender.Update{}, err
	}
	if code := res.Get("errorcode"); code != "0" {
		// A retry whose first attempt went through: the AUTH is already
		// released for this amount.
		r, qerr := c.record(ctx, cfg, p.ProviderReference)
		if qerr != nil || !released(r, op.Amount, p) {
			return tender.Update{}, wsError(code, "Trust Payments did not release the authorization")
		}
	}
	return captured(op.Amount, p), nil
}

// captured is the Update of a capture of amount that went through.
func captured(amount int64, p *tender.Payment) tender.Update {
	u := tender.Update{Status: tender.StatusCaptured,
		Details: map[string]string{"settlestatus": "0", "settlebaseamount": strconv.FormatInt(amount, 10)},
		Note:    "trustpayments: authorization released for settlement"}
	if amount < p.Amount {
		u.Note += "; the rest (" + tender.FormatMinor(p.Amount-amount, p.Currency) + " " + p.Currency + ") is released, as Trust Payments settles once"
	}
	return u
}

func released(r Result, amount int64, p *tender.Payment) bool {
	switch r.Get("settlestatus") {
	case "0", "1", "10", "100":
	default:
		return false
	}
	if s := r.Get("settlebaseamount"); s != "" {
		return s == strconv.FormatInt(amount, 10)
	}
	return amount == p.Amount
}

// notSent turns a failed question asked before operation what was sent
// into a refusal: the gateway certainly did nothing.
func notSent(err error, what string) error {
	if e := tender.AsError(err); e != nil && e.Code != tender.EUnavailable {
		return err
	}
	return tender.Wrap(tender.EProvider, err, "Trust Payments could not be asked about the payment before the %s; nothing was sent, try again", what)
}

// CheckOperation implements tender.OperationChecker: whether a capture or
// refund whose answer was lost took effect, by TRANSACTIONQUERY. A capture
// is seen in the AUTH (released for settlement for op.Amount); a refund by
// its orderreference, derived from op.ID (refundReference). With no trace
// of the operation the answer is pending: a Webservices request that has
// not acted leaves no record, so nothing proves it never will (a retry of
// the same request with its Idempotency-Key settles it).
func (c *Connector) CheckOperation(ctx context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return "", tender.Update{}, err
	}
	p := op.Payment
	if p.ProviderReference == "" {
		// No AUTH is known, so no capture or refund was sent.
		return tender.OpFailed, tender.Update{Note: "trustpayments: the payment has no AUTH"}, nil
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	switch kind {
	case tender.OpCapture:
		auth, err := c.record(ctx, cfg, p.ProviderReference)
		if err != nil {
			if tender.ErrorCodeOf(err) == tender.ENotFound {
				err = tender.Wrap(tender.EUnavailable, err, "Trust Payments does not show the payment's authorization")
			}
			return "", tender.Update{}, err
		}
		return captureOutcome(auth, op)
	case tender.OpRefund:
		ref := refundReference(op.ID)
		records, err := c.ws(cfg).Query(ctx, map[string]string{"sitereference": cfg.SiteReference, "orderreference": ref})
		if err != nil {
			return "", tender.Update{}, err
		}
		var done *Result
		refused := false
		for i, r := range records {
			if r.Get("requesttypedescription") != "REFUND" || r.Get("parenttransactionreference") != p.ProviderReference {
				continue
			}
			switch Classify(r.Get("errorcode")) {
			case OutcomeOK:
				done = &records[i]
			case OutcomeUnknown:
			default:
				refused = true // declined or invalid: that request moved nothing
			}
		}
		switch {
		case done == nil && refused:
			return tender.OpFailed, tender.Update{Note: "trustpayments: refund " + ref + " was refused by the gateway"}, nil
		case done == nil:
			return tender.OpPending, tender.Update{Note: "trustpayments: no refund " + ref + " on record yet"}, nil
		}
		st := tender.StatusPartiallyRefunded
		if p.RefundedAmount+op.Amount >= capturedTotal(p) {
			st = tender.StatusRefunded
		}
		return tender.OpSucceeded, tender.Update{Status: st, Details: map[string]string{"refund_transactionreference": done.Get("transactionreference")},
			Note: "trustpayments: refund " + ref + " found by TRANSACTIONQUERY"}, nil
	}
	return "", tender.Update{}, tender.Errorf(tender.ENotSupported, "Trust Payments cannot check a %s operation", kind)
}

// captureOutcome reads a capture of op.Amount from the AUTH record.
func captureOutcome(auth Result, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
	p := op.Payment
	ss := auth.Get("settlestatus")
	switch {
	case released(auth, op.Amount, p):
		u := captured(op.Amount, p)
		u.Note += " (found by TRANSACTIONQUERY)"
		return tender.OpSucceeded, u, nil
	case ss == "3":
		return tender.OpFailed, tender.Update{Note: "trustpayments: the AUTH is cancelled; the capture did not take effect"}, nil
	case ss == "10" || ss == "100":
		// Settling or settled for another amount: no update can change it
		// any more (60017).
		return tender.OpFailed, tender.Update{Note: "trustpayments: the AUTH settled for " + auth.Get("settlebaseamount") + ", not this capture"}, nil
	case ss == "0" || ss == "1":
		// Released for another amount: settlebaseamount may only go down,
		// so a capture of more can no longer arrive.
		if n, err := strconv.ParseInt(auth.Get("settlebaseamount"), 10, 64); err == nil && op.Amount > n {
			return tender.OpFailed, tender.Update{Note: "trustpayments: the AUTH is released for " + auth.Get("settlebaseamount") + ", less than this capture"}, nil
		}
	}
	return tender.OpPending, tender.Update{Note: "trustpayments: the AUTH is not released for this capture (settlestatus " + ss + ")"}, nil
}
