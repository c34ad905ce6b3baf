package computop

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
)

// Status asks Paygate's status inquiry what happened to the payment. A
// payment whose notify is overdue and that Paygate cannot (yet) account for
// becomes unknown; one Paygate still does not know after AbandonAfter is
// canceled as expired.
func (c *Connector) Status(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := parseAccount(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	st, err := loadState(p)
	if err != nil {
		return tender.Update{}, err
	}
	age := c.clock.Now().Sub(p.CreatedAt)
	open := p.Status == tender.StatusRequiresAction || p.Status == tender.StatusPending || p.Status == tender.StatusProcessing
	inDoubt := func(why string) (tender.Update, error) {
		if open && age >= c.notifyGrace {
			return tender.Update{Status: tender.StatusUnknown, Note: why, CheckIn: c.notifyGrace}, nil
		}
		return tender.Update{Note: why}, nil
	}
	r, err := c.client(cfg).Inquire(ctx, st.PayID, st.TransID)
	if err != nil {
		if errors.Is(err, ErrUnanswered) {
			c.log.Warn("computop: inquiry unanswered", "payment", p.ID, "err", err)
			return inDoubt("Paygate's status inquiry did not answer")
		}
		return tender.Update{}, tender.Wrap(tender.EInternal, err, "the status inquiry could not be built")
	}
	if InquiryNotFound(r.Code) {
		if p.Status == tender.StatusPending && st.Outcome == "" {
			return c.neverStarted(ctx, op, age)
		}
		if open || p.Status == tender.StatusUnknown {
			if age >= c.abandonAfter && st.Outcome == "" {
				return tender.Update{Status: tender.StatusCanceled, Note: "Paygate never saw the payment",
					Failure: &tender.Failure{Code: tender.FailExpired, Message: "The shopper did not complete the payment in time."}}, nil
			}
		}
		return inDoubt("Paygate does not know the payment yet")
	}
	if !r.OK() {
		c.log.Warn("computop: inquiry refused", "payment", p.ID, "code", r.Code)
		return inDoubt("Paygate's status inquiry failed")
	}
	next := *st
	if r.PayID != "" {
		if st.PayID != "" && r.PayID != st.PayID {
			return tender.Update{}, tender.Errorf(tender.EProvider, "Paygate's inquiry answered for another payment")
		}
		next.PayID = r.PayID
	}
	auth, _ := strconv.ParseInt(r.Params.Get("AmountAuth"), 10, 64)
	capt, _ := strconv.ParseInt(r.Params.Get("AmountCap"), 10, 64)
	last := strings.ToUpper(r.Params.Get("LastStatus"))
	u := tender.Update{ProviderReference: next.PayID}
	switch {
	case last == LastFailed:
		u.Status, u.Failure = failureOf(r.Params.Get("LastCode"), "")
		next.Outcome = "failed:" + r.Params.Get("LastCode")
	case last == LastCanceled:
		u.Status = tender.StatusCanceled
		u.Failure = &tender.Failure{Code: tender.FailCanceled, Message: "The payment was canceled at Paygate."}
	case capt > 0 && capt >= p.Amount:
		u.Status = tender.StatusCaptured
	case capt > 0:
		u.Status = tender.StatusPartiallyCaptured
	case auth > 0 && st.ED:
		u.Status = tender.StatusAuthorized
	case auth > 0:
		u.Status = tender.StatusCaptured
	default: // pending, or nothing decided
		if next != *st {
			u.State = next.raw()
		}
		upd, err := inDoubt("Paygate reports the payment open")
		upd.State, upd.ProviderReference = u.State, u.ProviderReference
		return upd, err
	}
	if u.Status != tender.StatusCanceled && u.Status != tender.StatusFailed && next.Outcome == "" {
		next.Outcome = "ok"
		next.AuthorizedAt = c.clock.Now()
	}
	if u.Status == p.Status || !p.Status.CanTransition(u.Status) {
		u.Status, u.Failure = "", nil // nothing new, or nothing the state machine can take
	}
	if next != *st {
		u.State = next.raw()
	}
	u.Note = "Paygate inquiry: " + last
	return u, nil
}

// Capture captures op.Amount of an ED authorization via capture.aspx. Every
// rule Tender can check is checked before anything is sent: manual capture,
// the notify received, the 10-day window, the amount left.
func (c *Connector) Capture(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := parseAccount(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	st, err := loadState(p)
	if err != nil {
		return tender.Update{}, err
	}
	if !st.ED {
		return tender.Update{}, tender.Errorf(tender.EConflict, "only a payment with capture \"manual\" can be captured; this one was captured at once")
	}
	if err := followUpReady(p, st); err != nil {
		return tender.Update{}, err
	}
	if p.Status != tender.StatusAuthorized && p.Status != tender.StatusPartiallyCaptured {
		return tender.Update{}, tender.Errorf(tender.EConflict, "a %s payment cannot be captured", p.Status)
	}
	if deadline := st.AuthorizedAt.Add(CaptureWindow); !st.AuthorizedAt.IsZero() && c.clock.Now().After(deadline) {
		return tender.Update{}, tender.Errorf(tender.EConflict, "Wero allows captures for 10 days; this authorization could be captured until %s", deadline.UTC().Format("2006-01-02 15:04 UTC"))
	}
	left := p.Amount - p.CapturedAmount
	switch {
	case op.Amount <= 0:
		return tender.Update{}, tender.Invalid("amount", "the capture amount must be positive")
	case op.Amount > left:
		return tender.Update{}, tender.Invalid("amount", "the capture amount exceeds the %d cents left of the authorization", left)
	case op.Amount < cfg.minAmount:
		return tender.Update{}, tender.Invalid("amount", "captures below %d cents need Computop's helpdesk", cfg.minAmount)
	}
	r, err := c.client(cfg).Capture(ctx, &Action{PayID: st.PayID, TransID: st.TransID, Amount: op.Amount,
		Currency: p.Currency, RefNr: p.Reference, ReqID: ReqID(op.ID)})
	if err != nil {
		return tender.Update{}, actionError(err, "capture")
	}
	if !r.OK() {
		return tender.Update{}, refused(r, "capture")
	}
	u := tender.Update{Status: tender.StatusPartiallyCaptured, Details: map[string]string{"last_capture_xid": r.XID},
		Note: "Paygate capture " + strconv.FormatInt(op.Amount, 10)}
	if op.Amount == left {
		u.Status = tender.StatusCaptured
	}
	return u, nil
}

// Cancel reverses an authorization that nothing was captured of
// (reverse.aspx). Because reverse.aspx undoes the LAST step (notes §1), it
// first asks Paygate that no capture exists.
func (c *Connector) Cancel(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := parseAccount(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	st, err := loadState(p)
	if err != nil {
		return tender.Update{}, err
	}
	if p.Status == tender.StatusRequiresAction || p.Status == tender.StatusPending {
		// Not a state the payment will leave by retrying: Paygate has no
		// operation for it at all (README), so the API says not_supported
		// as for every operation a provider lacks.
		return tender.Update{}, tender.Errorf(tender.ENotSupported, "Paygate has no call to withdraw an open Wero request; the shopper may still pay. Wait for the result, then cancel")
	}
	if p.Status == tender.StatusPartiallyCaptured || p.CapturedAmount != 0 {
		// reverse.aspx undoes the LAST step (notes §1, §7.5): after a
		// capture it would reverse that capture, not release the rest, and
		// Paygate documents no call that releases an uncaptured remainder.
		return tender.Update{}, tender.Errorf(tender.ENotSupported, "Paygate cannot release the uncaptured rest of a partially captured Wero payment: its reversal undoes the last capture instead. Capture the rest, or leave it: the authorization lapses when the 10-day capture window ends")
	}
	if p.Status != tender.StatusAuthorized {
		return tender.Update{}, tender.Errorf(tender.EConflict, "only an authorized payment with nothing captured can be canceled")
	}
	if err := followUpReady(p, st); err != nil {
		return tender.Update{}, err
	}
	cl := c.client(cfg)
	q, err := cl.Inquire(ctx, st.PayID, st.TransID)
	if err != nil || !q.OK() {
		return tender.Update{}, &tender.Error{Code: tender.EProvider, Err: err,
			Message: "Paygate could not confirm the payment before the reversal; nothing was reversed, try again"}
	}
	if capt, _ := strconv.ParseInt(q.Params.Get("AmountCap"), 10, 64); capt > 0 {
		return tender.Update{}, tender.Errorf(tender.EConflict, "Paygate reports a capture on this payment; it was not reversed")
	}
	r, err := cl.Reverse(ctx, &Action{PayID: st.PayID, TransID: st.TransID, Amount: p.Amount,
		Currency: p.Currency, RefNr: p.Reference, ReqID: ReqID(op.ID)})
	if err != nil {
		return tender.Update{}, actionError(err, "reversal")
	}
	if !r.OK() {
		return tender.Update{}, refused(r, "reversal")
	}
	return tender.Update{Status: tender.StatusCanceled, Details: map[string]string{"reversal_xid": r.XID},
		Failure: &tender.Failure{Code: tender.FailCanceled, Message: "The merchant canceled the payment."},
		Note:    "Paygate reversal"}, nil
}

// Refund credits op.Amount of what was captured back to the shopper
// (credit.aspx, notes §13), in part and more than once. Tender checks what it
// can before sending: the notify answered, an amount within what is
// captured and not yet refunded. ReqId comes from the operation id, so a
// retried request never credits twice. A credit that Paygate reports still
// in transit (Code 6… or 7…) is in doubt: CheckOperation finds it in the
// inquiry's AmountCred once it is booked.
func (c *Connector) Refund(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := parseAccount(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	st, err := loadState(p)
	if err != nil {
		return tender.Update{}, err
	}
	if err := followUpReady(p, st); err != nil {
		return tender.Update{}, err
	}
	switch p.Status {
	case tender.StatusCaptured, tender.StatusPartiallyCaptured, tender.StatusPartiallyRefunded:
	default:
		return tender.Update{}, tender.Errorf(tender.EConflict, "a %s payment cannot be refunded", p.Status)
	}
	left := p.CapturedAmount - p.RefundedAmount
	switch {
	case op.Amount < creditMinAmount:
		return tender.Update{}, tender.Invalid("amount", "the refund amount must be positive")
	case op.Amount > left:
		return tender.Update{}, tender.Invalid("amount", "the refund amount exceeds the %d cents captured and not refunded", left)
	}
	r, err := c.client(cfg).Credit(ctx, &Action{PayID: st.PayID, TransID: st.TransID, Amount: op.Amount,
		Currency: p.Currency, ReqID: ReqID(op.ID)})
	if err != nil {
		return tender.Update{}, actionError(err, "refund")
	}
	switch KindOf(r.Code) {
	case KindOK:
	case KindPending, KindInfo:
		// notes §13: "6 or 7 still in transit (ask again later)".
		return tender.Update{}, &tender.Error{Code: tender.EUnavailable, ProviderCode: r.Code,
			Err:     fmt.Errorf("computop: credit: Status %s Code %s", r.Status, r.Code),
			Message: "Paygate is still processing the refund; Tender asks it for the outcome"}
	default:
		return tender.Update{}, refused(r, "refund")
	}
	return tender.Update{Details: map[string]string{"last_refund_xid": r.XID},
		Note: "Paygate credit " + strconv.FormatInt(op.Amount, 10)}, nil
}

// followUpReady enforces the seed: "Before follow-up actions (capture /
// credit / reversal) are carried out on an existing transaction, the first
// Notify must have been answered by the shop."
func followUpReady(p *tender.Payment, st *state) error {
	if st.PayID == "" || !st.Notified {
		return tender.Errorf(tender.EConflict, "Paygate's notification for this payment has not arrived yet; try again later")
	}
	return nil
}

func actionError(err error, what string) error {
	if errors.Is(err, ErrUnanswered) {
		return unavailable(err, what)
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &tender.Error{Code: tender.EInvalid, Param: paramName(fe.Field), Err: err,
			Message: "the " + what + " cannot be sent: " + paramName(fe.Field) + " must be " + ruleWords(fe)}
	}
	return tender.Wrap(tender.EInternal, err, "the %s could not be sent", what)
}
