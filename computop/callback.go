package computop

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
)

// Callback paths under Op.CallbackURL.
const (
	PathNotify  = "notify"
	PathSuccess = "success"
	PathFailure = "failure"
)

// outcome classifies a verified payment result.
type outcome int

const (
	outcomeOK       outcome = iota + 1
	outcomeFailed           // Status FAILED and a code that is not 00000000
	outcomePending          // Code 6xxxxxxx: the final result follows
	outcomeUnstated         // a success Status with a code that is not 00000000, or the reverse
)

func classify(r *Result) outcome {
	success := strings.EqualFold(r.Status, StatusOK) || strings.EqualFold(r.Status, StatusAuthorizeRequest)
	switch {
	case KindOf(r.Code) == KindPending:
		return outcomePending
	case r.OK() && success:
		return outcomeOK
	case !r.OK() && strings.EqualFold(r.Status, StatusFailed):
		return outcomeFailed
	}
	return outcomeUnstated
}

// Callback handles URLNotify (authoritative, server to server) and the
// shopper's browser at URLSuccess/URLFailure (Landing). Every result must
// decrypt, carry this merchant's mid and a MAC that verifies, name a Tender
// payment of this account as TransID, echo the UserData that binds its
// amount and currency, keep the PayID Tender already knows, and fit the URL
// it came to (a failure's Data copied to URLSuccess is refused). A result
// that contradicts the one already accepted is refused; one that repeats it
// changes nothing. Refusals are logged and change nothing.
func (c *Connector) Callback(ctx context.Context, cb *tender.Callback) (*tender.CallbackResult, error) {
	path := strings.Trim(cb.Path, "/")
	landing := path == PathSuccess || path == PathFailure
	if path != PathNotify && !landing {
		return nil, tender.Errorf(tender.ENotFound, "no such computop callback")
	}
	cfg, err := parseAccount(cb.Account)
	if err != nil {
		return nil, err
	}
	log := c.log.With("callback", path, "account", cb.Account.ID)
	// named is the payment a rejected callback is about, once known, so
	// that the engine records the rejection on it.
	var named *tender.CallbackResult
	reject := func(reason string, err error) (*tender.CallbackResult, error) {
		log.Warn("computop: callback rejected", "reason", reason, "err", err)
		return named, &tender.Error{Code: tender.EInvalid, Message: "the Paygate callback was rejected: " + reason, Err: err}
	}

	vs := url.Values{}
	if cb.Request != nil {
		for k, v := range cb.Request.URL.Query() {
			vs[k] = append(vs[k], v...)
		}
		if cb.Request.Method == http.MethodPost && len(cb.Body) > 0 {
			form, err := url.ParseQuery(string(cb.Body))
			if err != nil {
				return reject("body is not a form", err)
			}
			for k, v := range form {
				vs[k] = append(vs[k], v...)
			}
		}
	}
	r, err := cfg.merchant.OpenResult(vs)
	if err != nil {
		return reject("result does not verify", err)
	}
	log = log.With("trans_id", r.TransID, "pay_id", r.PayID, "code", r.Code)
	p, err := cb.Find(ctx, r.TransID)
	if err != nil {
		return reject("no payment with this TransID", err)
	}
	if p.ID != r.TransID || p.Connector != Name || p.Account != cb.Account.ID {
		return reject("TransID names another payment", errors.New("computop: payment mismatch"))
	}
	named = &tender.CallbackResult{PaymentID: p.ID}
	st, err := loadState(p)
	if err != nil {
		return nil, err
	}
	if st.TransID != r.TransID {
		return reject("TransID does not match the payment's", errors.New("computop: TransID mismatch"))
	}
	if want := userData(cfg.merchant, p.ID, p.Amount, p.Currency); r.UserData != want && (requireUserDataEcho || r.UserData != "") {
		return reject("UserData does not bind this amount and currency", errors.New("computop: UserData mismatch"))
	}
	if v := r.Params.Get("Amount"); v != "" && v != formatAmount(p.Amount) {
		return reject("result for another amount", errors.New("computop: Amount mismatch"))
	}
	if v := r.Params.Get("Currency"); v != "" && v != p.Currency {
		return reject("result for another currency", errors.New("computop: Currency mismatch"))
	}
	if st.PayID != "" && r.PayID != st.PayID {
		return reject("result for another Paygate payment", errors.New("computop: PayID mismatch"))
	}
	oc := classify(r)
	switch {
	case path == PathSuccess && oc != outcomeOK && oc != outcomePending:
		return reject("a failure's Data sent to URLSuccess", errors.New("computop: result does not fit URLSuccess"))
	case path == PathFailure && oc != outcomeFailed:
		return reject("a success's Data sent to URLFailure", errors.New("computop: result does not fit URLFailure"))
	}

	res := &tender.CallbackResult{PaymentID: p.ID, Landing: landing}
	next := *st
	next.PayID = r.PayID
	if path == PathNotify {
		next.Notified = true
	}
	var key string
	switch oc {
	case outcomeOK:
		key = "ok"
	case outcomeFailed:
		key = "failed:" + r.Code
	case outcomePending, outcomeUnstated:
		// Not final: remember the PayID, let Status ask Paygate.
		log.Info("computop: result not final", "status", r.Status)
		res.Confirm = oc == outcomeUnstated
		if next != *st {
			res.Update = &tender.Update{State: next.raw(), ProviderReference: r.PayID, Note: "Paygate: payment pending"}
		}
		return res, nil
	}
	if st.Outcome != "" {
		if st.Outcome != key {
			return reject("result contradicts the one already accepted", errors.New("computop: outcome conflict "+st.Outcome+" vs "+key))
		}
		// A repeat (retried notify, replayed Data, browser after notify).
		if next != *st {
			res.Update = &tender.Update{State: next.raw(), Note: "Paygate notify received"}
		}
		return res, nil
	}
	switch p.Status {
	case tender.StatusPending, tender.StatusRequiresAction, tender.StatusProcessing, tender.StatusUnknown:
	default:
		// Tender settled the payment without Paygate's result (e.g. expired):
		// money may have moved. Nothing can be applied; an operator must look.
		log.Error("computop: result for a payment already settled without it", "status", p.Status, "outcome", key)
		return reject("result for a settled payment", errors.New("computop: payment already "+string(p.Status)))
	}
	next.Outcome = key
	next.XID = r.XID
	u := &tender.Update{ProviderReference: r.PayID, Details: map[string]string{"pay_id": r.PayID, "xid": r.XID, "code": r.Code}}
	if oc == outcomeOK {
		next.AuthorizedAt = c.clock.Now()
		u.Status = tender.StatusCaptured
		if st.ED && edSuccessIsAuthorized {
			u.Status = tender.StatusAuthorized
		}
		u.Note = "Paygate: " + r.Status
	} else {
		u.Status, u.Failure = failureOf(r.Code, r.Description)
		u.Note = "Paygate: FAILED " + r.Code
	}
	u.State = next.raw()
	res.Update = u
	log.Info("computop: result accepted", "status", u.Status)
	return res, nil
}

// failureOf maps a failure Code to Tender's status and Failure.
func failureOf(code, description string) (tender.Status, *tender.Failure) {
	if canceledByShopper(code) {
		return tender.StatusCanceled, &tender.Failure{Code: tender.FailCanceledByCustomer,
			Message: "The shopper canceled the payment in Wero.", ProviderCode: code}
	}
	msg := "Wero declined the payment."
	if KindOf(code) == KindFatal {
		msg = "Paygate refused the payment request."
	}
	return tender.StatusFailed, &tender.Failure{Code: tender.FailDeclined, Message: msg, ProviderCode: code}
}

func formatAmount(v int64) string { return strconv.FormatInt(v, 10) }
