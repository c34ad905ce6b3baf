package tender

import (
	"errors"
	"fmt"
)

// ErrorCode classifies an error for the API and for the engine. The set is
// small on purpose: each code maps to one HTTP status and one reaction.
type ErrorCode string

// Error codes.
const (
	EInvalid      ErrorCode = "invalid"           // the caller's input breaks a rule; nothing happened
	ENotFound     ErrorCode = "not_found"         // no such object
	EConflict     ErrorCode = "conflict"          // the object's state does not allow the operation
	EIdempotency  ErrorCode = "idempotency_error" // an Idempotency-Key reused with other parameters, or still in flight
	EUnauthorized ErrorCode = "unauthorized"      // missing, wrong or revoked API key
	EForbidden    ErrorCode = "forbidden"         // the API key's scope does not allow the operation at all (another merchant's object is ENotFound, never this)
	ERateLimited  ErrorCode = "rate_limited"      // the API key has too many requests of a kind open at once; retry later
	EDeclined     ErrorCode = "declined"          // the provider declined the operation
	ETerminalBusy ErrorCode = "terminal_busy"     // the terminal is working on another payment
	ENotSupported ErrorCode = "not_supported"     // the provider has no such operation
	EProvider     ErrorCode = "provider"          // the provider refused or answered nonsense; nothing happened there
	EUnavailable  ErrorCode = "unavailable"       // the provider could not be reached or did not answer: outcome unknown
	EInternal     ErrorCode = "internal"          // a bug or a failing dependency of Tender itself
)

// Error is an error whose Message is safe to show to an API caller. Detail
// that must not leave the server (a provider's raw reply, a stack of causes)
// stays in Err, which is only logged.
type Error struct {
	Code         ErrorCode
	Message      string // safe for the API caller; never contains secrets or raw provider replies
	Param        string // the request field at fault, if any (e.g. "amount", "invoice.net_amount")
	ProviderCode string // the provider's own code for the failure, if any
	Err          error  // the cause, for logs only
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a caller-safe message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error that names the field at fault.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with a caller-safe message and cause err kept for logs.
func Wrap(code ErrorCode, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCodeOf returns the code of the first *Error in err's chain, or
// EInternal if there is none.
func ErrorCodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessageOf returns the caller-safe message of err, or a generic text
// for errors that carry none.
func ErrorMessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// TerminalBusy is the error for a payment on a terminal that is working on
// another payment, open.
func TerminalBusy(terminal string, open *Payment) *Error {
	return &Error{Code: ETerminalBusy, Param: "terminal",
		Message: fmt.Sprintf("terminal %q is busy with payment %s (%s); wait for it to finish or cancel it", terminal, open.ID, open.Status)}
}
