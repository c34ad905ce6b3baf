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

// CheckOperation implements tender.OperationChecker for captures and
// refunds: Paygate's inquiry reports the captured total (AmountCap) and the
// credited total (AmountCred).
//
// A capture took effect when AmountCap holds op.Amount on top of what
// Tender has booked (op.Payment.CapturedAmount, which excludes the
// operation in doubt). It certainly failed when it can no longer arrive:
// the authorization is cancelled, too little of it is left, or the 10-day
// window has closed. Otherwise it is pending: Paygate de-duplicates a ReqId
// only once the original action is final (notes §6), so a capture still
// being processed could yet take effect; a retry of the request with the
// same Idempotency-Key (the same ReqId) settles it without capturing twice.
//
// A refund (credit) took effect when AmountCred holds op.Amount on top of
// op.Payment.RefundedAmount; it certainly failed when the captured amount
// no longer leaves room for it (AmountCap-AmountCred < op.Amount) or the
// payment is cancelled or failed; otherwise it is pending, for the same
// reason as a capture (a credit in transit, notes §13, is not yet counted).
func (c *Connector) CheckOperation(ctx context.Context, kind tender.OpKind, op *tender.Op) (tender.OpOutcome, tender.Update, error) {
	if kind != tender.OpCapture && kind != tender.OpRefund {
		return "", tender.Update{}, tender.Errorf(tender.ENotSupported, "Computop Paygate has no %s operation to check", kind)
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
	if st.PayID == "" || (kind == tender.OpCapture && !st.ED) {
		// Capture and credit send nothing without a PayID; captures only
		// for ED payments.
		return tender.OpFailed, tender.Update{Note: "no " + string(kind) + " can have been sent for this payment"}, nil
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
			Message: "Paygate's status inquiry failed; the " + string(kind) + " is checked again"}
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
	if kind == tender.OpRefund {
		return checkCredit(r, op, last, capt)
	}
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

// checkCredit decides a refund in doubt from the inquiry's credited total.
func checkCredit(r *Result, op *tender.Op, last string, capt int64) (tender.OpOutcome, tender.Update, error) {
	cred, err := strconv.ParseInt(r.Params.Get("AmountCred"), 10, 64)
	if err != nil {
		return "", tender.Update{}, tender.Errorf(tender.EUnavailable, "Paygate's inquiry did not report the credited amount")
	}
	note := "Paygate inquiry: " + last + ", credited " + strconv.FormatInt(cred, 10) + " of " + strconv.FormatInt(capt, 10) + " captured"
	switch {
	case cred >= op.Payment.RefundedAmount+op.Amount:
		return tender.OpSucceeded, tender.Update{Note: note}, nil
	case last == LastCanceled || last == LastFailed || capt-cred < op.Amount:
		return tender.OpFailed, tender.Update{Note: note}, nil
	}
	return tender.OpPending, tender.Update{Note: note}, nil
}
