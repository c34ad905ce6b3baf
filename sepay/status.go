package sepay

import (
	"context"
	"errors"
	"strings"

	"github.com/tenderpay/tender"
)

// Status implements tender.Connector: GetTransactionStatus about the
// payment's own transactionref. A payment in doubt is never started anew;
// only when Sepay does not know the reference at all (the first request was
// lost on its way) is StartTransaction sent again with the same reference,
// within ResendWindow, which Sepay deduplicates (06).
func (c *Connector) Status(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, st, err := c.prepare(op)
	if err != nil {
		return tender.Update{}, err
	}
	cl := c.client(cfg)
	res, err := cl.GetTransactionStatus(ctx, st.SID, st.TransactionRef, c.opts.LongPoll)
	if err != nil && errors.Is(err, ErrSignature) {
		// Not believed, not a decline: ask again at once.
		c.log.Warn("sepay status answer failed verification; asking again", "transactionref", st.TransactionRef)
		res, err = cl.GetTransactionStatus(ctx, st.SID, st.TransactionRef, 0)
	}
	if err != nil {
		return tender.Update{}, c.callError("ask the payment's status", st, err)
	}
	if res.Status() == StatusUnknownRef {
		return c.notAtSepay(ctx, op, cfg, st, res)
	}
	return c.resultUpdate(op.Payment, st, res)
}

// notAtSepay handles a reference Sepay does not know.
func (c *Connector) notAtSepay(ctx context.Context, op *tender.Op, cfg *config, st State, res *Result) (tender.Update, error) {
	p := op.Payment
	if op.CancelRequested && (p.Status == tender.StatusUnknown || p.Status == tender.StatusPending) {
		// The merchant asked to cancel: a payment Sepay never saw is never
		// sent (again); nothing moved, so it is canceled.
		u := tender.Update{Status: tender.StatusCanceled, Failure: &tender.Failure{Code: tender.FailCanceled,
			Message: "Canceled before the payment reached Sepay; no money moved", ProviderCode: res.Status()}}
		u.Note = "Sepay does not know transactionref " + st.TransactionRef + "; canceled as the merchant asked, not sent again"
		return u, nil
	}
	if p.Status == tender.StatusUnknown || p.Status == tender.StatusPending {
		if c.opts.Clock.Now().Sub(p.CreatedAt) < c.opts.ResendWindow {
			u, err := c.start(ctx, op, cfg, st)
			if tender.ErrorCodeOf(err) == tender.ETerminalBusy {
				return failed(tender.FailTerminalBusy, err.(*tender.Error).Message, StatusPending), nil
			}
			if err == nil {
				u.Note = "the first request never reached Sepay; sent again with the same reference"
			}
			return u, err
		}
		u := failed(tender.FailProvider, "The payment never reached Sepay, so no money moved", res.Status())
		u.Note = "Sepay does not know transactionref " + st.TransactionRef
		return u, nil
	}
	return tender.Update{}, refusal("ask the payment's status", st, res)
}

// receipt is the ticket of a final result (00, 13, 14), raw and rendered;
// nil when the result has none. A ticket of a sale still in progress (17,
// notes §7) is not taken: the final result brings the one that counts, and
// storing each poll's would rewrite the payment on every poll.
func receipt(res *Result) *tender.Receipt {
	t := res.Get("ticket")
	if t == "" {
		return nil
	}
	return &tender.Receipt{Raw: t, Lines: RenderTicket(t)}
}

// final reports whether status code is a transaction's last word: approved
// (00), failed or declined (13), canceled (14).
func final(code string) bool {
	return code == StatusOK || code == StatusFailed || code == StatusCanceled
}

func failed(code, msg, providerCode string) tender.Update {
	return tender.Update{Status: tender.StatusFailed,
		Failure: &tender.Failure{Code: code, Message: msg, ProviderCode: providerCode}}
}

// resultUpdate maps a verified GetTransactionStatus result (or a callback's).
func (c *Connector) resultUpdate(p *tender.Payment, st State, res *Result) (tender.Update, error) {
	code := res.Status()
	u := tender.Update{ProviderReference: st.TransactionRef, Details: details(st, res)}
	reported := p.Amount
	if a, ok := res.Values["amount"]; ok && code != StatusUnknownRef {
		v, err := ParseAmount(a)
		if err != nil || v <= 0 {
			return tender.Update{}, &tender.Error{Code: tender.EProvider, ProviderCode: code,
				Message: "Sepay reports an unreadable amount for this payment; check it on the terminal",
				Err:     errors.New("sepay amount " + a)}
		}
		reported = v
	}
	if reported != p.Amount {
		// A signed answer about this very transactionref: what Sepay says
		// happened is stored as it says, and a person looks at it.
		u.Details["amount"] = FormatAmount(reported)
		u.Discrepancy = "Sepay reports amount " + FormatAmount(reported) + " EUR for this payment of " +
			FormatAmount(p.Amount) + " EUR"
	}
	switch code {
	case StatusOK:
		u.Status = tender.StatusCaptured
		if reported != p.Amount {
			u.Captured = reported
		}
		u.Receipt = receipt(res)
		u.Note = "approved by the terminal"
		if b := strings.TrimSpace(res.Get("brand")); b != "" {
			u.Note += " (" + b + ")"
		}
	case StatusFailed:
		te, tr := res.Get("transactionerror"), res.Get("transactionresult")
		pc := strings.TrimSpace(te)
		if isZeroCode(pc) {
			pc = strings.TrimSpace(tr)
		}
		f := &tender.Failure{Code: tender.FailDeclined, Message: DescribeFailure(te, tr), ProviderCode: pc}
		u.Status = tender.StatusFailed
		if TerminalCanceledResults[strings.TrimLeft(strings.TrimSpace(tr), "0")] {
			u.Status, f.Code = tender.StatusCanceled, tender.FailCanceledAtTerminal
		}
		u.Failure = f
		u.Receipt = receipt(res)
	case StatusCanceled:
		msg := "Canceled"
		if m := strings.TrimSpace(res.Get("message")); m != "" {
			msg += ": " + m
		}
		u.Status = tender.StatusCanceled
		u.Failure = &tender.Failure{Code: tender.FailCanceledAtTerminal, Message: msg, ProviderCode: code}
		// A sale canceled on the terminal after the card was presented
		// has a ticket, the cardholder's proof that nothing was taken.
		u.Receipt = receipt(res)
	case StatusQueued, StatusInProgress:
		if p.Status != tender.StatusProcessing {
			u.Status = tender.StatusProcessing
		}
		u.CheckIn = c.pollInterval(st)
		u.Note = "waiting for the terminal to pick the payment up"
		if code == StatusInProgress {
			u.Note = "the terminal is working on the payment"
		}
		// An amount that differs while the terminal still works is raised
		// once, with the final answer; nothing has moved yet.
		u.Discrepancy = ""
	default:
		return tender.Update{}, refusal("ask the payment's status", st, res)
	}
	return u, nil
}

// Cancel implements tender.Connector. CancelTransaction succeeds only while
// the transaction is queued; once the terminal has it, only the terminal
// can cancel it (notes §3.4). So, as the notes advise (§8.6), Cancel first
// asks GetTransactionStatus and sends CancelTransaction only while it is
// queued (15): a cancel of a sale that already finished may be answered 00
// (§3.4), which must not be read as a cancel.
func (c *Connector) Cancel(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, st, err := c.prepare(op)
	if err != nil {
		return tender.Update{}, err
	}
	cl := c.client(cfg)
	canceled := tender.Update{Status: tender.StatusCanceled, ProviderReference: st.TransactionRef,
		Failure: &tender.Failure{Code: tender.FailCanceled, Message: "Canceled before the terminal picked the payment up"}}
	q, err := cl.GetTransactionStatus(ctx, st.SID, st.TransactionRef, 0)
	if err != nil {
		// Only a question was asked: nothing was canceled.
		c.log.Warn("sepay status before cancel failed", "transactionref", st.TransactionRef, "err", err)
		return tender.Update{}, tender.Wrap(tender.EProvider, err, "Sepay could not be asked about the payment before cancelling it; nothing was canceled, try again")
	}
	if err := cancelable(q.Status()); err != nil {
		if q.Status() == StatusCanceled {
			canceled.Failure.ProviderCode, canceled.Note = StatusCanceled, "already canceled at Sepay (14)"
			canceled.Receipt = receipt(q)
			return canceled, nil
		}
		return tender.Update{}, err
	}
	res, err := cl.CancelTransaction(ctx, st.SID, st.TransactionRef, false)
	if err != nil {
		return tender.Update{}, c.callError("cancel the payment", st, err)
	}
	code := res.Status()
	switch code {
	case StatusOK, StatusCanceled:
		canceled.Failure.ProviderCode, canceled.Note = code, "canceled at Sepay ("+code+")"
		return canceled, nil
	case StatusInProgress, StatusFailed, StatusUnknownRef:
		return tender.Update{}, cancelable(code)
	}
	return tender.Update{}, refusal("cancel the payment", st, res)
}

// cancelable says whether a transaction in status code can still be
// canceled with CancelTransaction; every refusal means nothing was done.
func cancelable(code string) error {
	switch code {
	case StatusQueued:
		return nil
	case StatusInProgress:
		return &tender.Error{Code: tender.EConflict, ProviderCode: code,
			Message: "The terminal has already picked up this payment; Sepay can no longer cancel it. Cancel it on the terminal itself."}
	case StatusOK:
		return &tender.Error{Code: tender.EConflict, ProviderCode: code,
			Message: "The terminal has already approved this payment; it can no longer be canceled"}
	case StatusFailed, StatusCanceled:
		return &tender.Error{Code: tender.EConflict, ProviderCode: code,
			Message: "The payment has already finished on the terminal; it can no longer be canceled"}
	case StatusUnknownRef:
		return &tender.Error{Code: tender.EConflict, ProviderCode: code,
			Message: "Sepay has no open transaction for this payment to cancel"}
	}
	return &tender.Error{Code: tender.EProvider, ProviderCode: code,
		Message: "Sepay answered " + code + " (" + StatusText(code) + ") about the payment; nothing was canceled, try again"}
}

// Callback implements tender.Connector. The body (assumed to be the signed
// GetTransactionStatusResult, bare or in a SOAP envelope) is verified with
// Sepay's key and checked against the stored payment. A final result so
// verified is what GetTransactionStatus would answer, signed by the same
// key about the same transaction, so it is believed as it is: asking
// again would cost two more signatures and tell nothing new. Anything
// else (a callback of a transaction still open, which Sepay is not known
// to send) only wakes the engine, which asks GetTransactionStatus
// (Confirm). A callback that does not verify is refused, whatever its
// format.
func (c *Connector) Callback(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
	if strings.Trim(cb.Path, "/") != strings.Trim(CallbackPath, "/") {
		return nil, tender.Errorf(tender.ENotFound, "no Sepay callback at %q", cb.Path)
	}
	cfg, err := c.configs.get(cb.Account)
	if err != nil {
		return nil, err
	}
	m, err := GetTransactionStatus.ParseResult(cb.Body)
	if err != nil {
		return nil, tender.Wrap(tender.EInvalid, err, "the Sepay callback is not a transaction status")
	}
	cl := c.client(cfg)
	if err := cl.VerifyResult(GetTransactionStatus, m); err != nil {
		return nil, tender.Wrap(tender.EUnauthorized, err, "the Sepay callback's signature does not verify")
	}
	if strings.TrimSpace(m.Values["login"]) != cfg.login {
		return nil, tender.Errorf(tender.EInvalid, "the Sepay callback is for another login")
	}
	ref := strings.TrimSpace(m.Values["transactionref"])
	p, err := cb.Find(ctx, ref)
	if err != nil {
		return nil, err
	}
	st := stateOf(&tender.Op{Payment: p})
	if st.TransactionRef != ref || (st.SID != "" && st.SID != strings.TrimSpace(m.Values["sid"])) {
		return nil, tender.Errorf(tender.EInvalid, "the Sepay callback does not match the payment's transaction")
	}
	st.SID = strings.TrimSpace(m.Values["sid"])
	res := &Result{Values: m.Values}
	u, err := c.resultUpdate(p, st, res)
	if err != nil {
		return nil, err
	}
	return &tender.CallbackResult{PaymentID: p.ID, Update: &u, Confirm: !final(res.Status())}, nil
}
