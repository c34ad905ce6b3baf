package computop

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

var _ tender.OperationChecker = (*Connector)(nil)

// neverStarted answers Status for a payment still pending that Paygate does
// not know: its Start (which calls no one: the shopper's browser takes the
// request to WERO.aspx) never ran or its answer was never stored, so no
// shopper holds the redirect. It gets what Start gives, with the ReqId of
// the create request, so the shopper can still pay; canceled when the
// merchant asked to cancel; expired after AbandonAfter.
func (c *Connector) neverStarted(ctx context.Context, op *tender.Op, age time.Duration) (tender.Update, error) {
	switch {
	case op.CancelRequested:
		return tender.Update{Status: tender.StatusCanceled, Note: "canceled before the shopper was sent to Paygate",
			Failure: &tender.Failure{Code: tender.FailCanceled, Message: "The merchant canceled the payment."}}, nil
	case age >= c.abandonAfter:
		return tender.Update{Status: tender.StatusCanceled, Note: "Paygate never saw the payment",
			Failure: &tender.Failure{Code: tender.FailExpired, Message: "The shopper did not complete the payment in time."}}, nil
	}
	start := *op
	start.ID = firstNonEmpty(op.Payment.OperationID, op.ID)
	u, err := c.Start(ctx, &start)
	if err == nil {
		u.Note = "shopper redirect issued by Status (the payment's start was never stored)"
	}
	return u, err
}

// CheckOperation implements tender.OperationChecker for captures (Computop
// has no refund): Paygate's inquiry reports the captured total (AmountCap).
// The capture took effect when that total holds op.Amount on top of what
// Tender has booked (op.Payment.CapturedAmount, which excludes the
// operation in doubt). It certainly failed when it can no longer arrive:
// the authorization is cancelled, too little of it is left, or the 10-day
// window has closed. Otherwise it is pending: Paygate de-duplicates a ReqId
// only once the original action is final (notes §6), so a capture still
// being processed could yet take effect; a retry of the request with the
// same Idempotency-Key (the same ReqId) settles it without capturing twice.
func (c *Connector) CheckOperation(ctx context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
	if kind != tender.OpCapture {
		return "", tender.Update{}, tender.Errorf(tender.ENotSupported, "Computop Paygate has no %s operation for Wero in Tender", kind)
	}
	cfg, err := parseAccount(op.Account)
	if err != nil {
		return "", tender.Update{}, err
	}
	p := op.Payment
	st, err := loadState(p)
	if err != nil {
		return "", tender.Update{}, err
	}
	if st.PayID == "" || !st.ED {
		// Capture sends nothing without a PayID, and only for ED payments.
		return tender.OpFailed, tender.Update{Note: "no capture can have been sent for this payment"}, nil
	}
	r, err := c.client(cfg).Inquire(ctx, st.PayID, st.TransID)
	if err != nil {
		if errors.Is(err, ErrUnanswered) {
			return "", tender.Update{}, unavailable(err, "status inquiry")
		}
		return "", tender.Update{}, tender.Wrap(tender.EInternal, err, "the status inquiry could not be built")
	}
	if !r.OK() {
		return "", tender.Update{}, &tender.Error{Code: tender.EUnavailable, ProviderCode: r.Code,
			Message: "Paygate's status inquiry failed; the capture is checked again"}
	}
	if r.PayID != "" && r.PayID != st.PayID {
		return "", tender.Update{}, tender.Errorf(tender.EProvider, "Paygate's inquiry answered for another payment")
	}
	auth, err1 := strconv.ParseInt(r.Params.Get("AmountAuth"), 10, 64)
	capt, err2 := strconv.ParseInt(r.Params.Get("AmountCap"), 10, 64)
	if err1 != nil || err2 != nil {
		return "", tender.Update{}, tender.Errorf(tender.EUnavailable, "Paygate's inquiry did not report the authorized and captured amounts")
	}
	last := strings.ToUpper(r.Params.Get("LastStatus"))
	note := "Paygate inquiry: " + last + ", captured " + strconv.FormatInt(capt, 10) + " of " + strconv.FormatInt(auth, 10)
	switch {
	case capt >= p.CapturedAmount+op.Amount:
		u := tender.Update{Status: tender.StatusPartiallyCaptured, Note: note}
		if p.CapturedAmount+op.Amount >= p.Amount {
			u.Status = tender.StatusCaptured
		}
		return tender.OpSucceeded, u, nil
	case last == LastCanceled || last == LastFailed || auth-capt < op.Amount:
		return tender.OpFailed, tender.Update{Note: note}, nil
	case !st.AuthorizedAt.IsZero() && c.clock.Now().After(st.AuthorizedAt.Add(CaptureWindow)):
		return tender.OpFailed, tender.Update{Note: note + "; the 10-day capture window has closed"}, nil
	}
	return tender.OpPending, tender.Update{Note: note}, nil
}
