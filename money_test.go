package tender

import (
	"errors"
	"strings"
	"testing"
)

// TestNewAmount: a negative amount or an unknown currency is never money.
func TestNewAmount(t *testing.T) {
	if a, err := NewAmount(1050, "EUR"); err != nil || a != (Amount{1050, "EUR"}) {
		t.Fatalf("NewAmount(1050, EUR) = %v, %v", a, err)
	}
	if _, err := NewAmount(0, "EUR"); err != nil {
		t.Fatalf("NewAmount(0, EUR): %v", err)
	}
	if _, err := NewAmount(-1, "EUR"); ErrorCodeOf(err) != EInvalid || AsError(err).Param != "amount" {
		t.Fatalf("NewAmount(-1, EUR) = %v, want invalid amount", err)
	}
	if _, err := NewAmount(1, "XXX"); ErrorCodeOf(err) != EInvalid || AsError(err).Param != "currency" {
		t.Fatalf("NewAmount(1, XXX) = %v, want invalid currency", err)
	}
}

// TestMaxAmount: four times the largest amount still fits an int64, so a
// payment's captured and refunded totals can be added without overflow.
func TestMaxAmount(t *testing.T) {
	if MaxAmount != 2305843009213693951 {
		t.Fatalf("MaxAmount = %d", int64(MaxAmount))
	}
}

// TestErrorMessages: the cause of an error is in its Error() text for logs,
// and never in the caller-safe message.
func TestErrorMessages(t *testing.T) {
	cause := errors.New("tcp reset by 10.0.0.1")
	err := Wrap(EProvider, cause, "the provider did not answer")
	if got := err.Error(); got != "provider: the provider did not answer: tcp reset by 10.0.0.1" {
		t.Errorf("Error() = %q", got)
	}
	if got := Errorf(EInvalid, "bad %s", "x").Error(); got != "invalid: bad x" {
		t.Errorf("Error() without a cause = %q", got)
	}
	if got := ErrorMessageOf(err); got != "the provider did not answer" || strings.Contains(got, "10.0.0.1") {
		t.Errorf("ErrorMessageOf = %q", got)
	}
	if got := ErrorMessageOf(&Error{Code: EInternal, Err: cause}); got != "internal error" {
		t.Errorf("ErrorMessageOf an error without a message = %q, want the generic text", got)
	}
	if got := ErrorMessageOf(cause); got != "internal error" {
		t.Errorf("ErrorMessageOf a plain error = %q", got)
	}
	if !errors.Is(err, cause) {
		t.Error("Wrap does not keep its cause")
	}
}
