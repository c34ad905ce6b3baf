package tender

// Status is where a payment is in its life. All providers share one state
// machine; transitions outside the table are errors.
type Status string

// Payment statuses.
const (
	StatusPending           Status = "pending"            // stored, not yet sent to the provider
	StatusRequiresAction    Status = "requires_action"    // a shopper must act: redirect, 3-D Secure
	StatusProcessing        Status = "processing"         // a terminal is working on it
	StatusAuthorized        Status = "authorized"         // funds reserved, awaiting capture
	StatusCaptured          Status = "captured"           // money taken in full
	StatusPartiallyCaptured Status = "partially_captured" // part of the authorization taken
	StatusCanceled          Status = "canceled"           // ended without money moving
	StatusFailed            Status = "failed"             // declined or refused; no money moved
	StatusRefunded          Status = "refunded"           // every captured unit returned
	StatusPartiallyRefunded Status = "partially_refunded" // part of the captured amount returned
	StatusUnknown           Status = "unknown"            // outcome in doubt until reconciled with the provider
)

// Statuses lists every status, in life order.
var Statuses = []Status{
	StatusPending, StatusRequiresAction, StatusProcessing, StatusUnknown,
	StatusAuthorized, StatusPartiallyCaptured, StatusCaptured,
	StatusPartiallyRefunded, StatusRefunded, StatusCanceled, StatusFailed,
}

// transitions is the state machine: from → set of allowed to.
var transitions = map[Status][]Status{
	StatusPending: {StatusRequiresAction, StatusProcessing, StatusAuthorized, StatusCaptured,
		StatusCanceled, StatusFailed, StatusUnknown},
	StatusRequiresAction: {StatusProcessing, StatusAuthorized, StatusCaptured,
		StatusCanceled, StatusFailed, StatusUnknown},
	StatusProcessing: {StatusRequiresAction, StatusAuthorized, StatusCaptured,
		StatusCanceled, StatusFailed, StatusUnknown},
	// A payment in doubt becomes whatever the provider says happened.
	StatusUnknown: {StatusRequiresAction, StatusProcessing, StatusAuthorized, StatusCaptured,
		StatusCanceled, StatusFailed},
	StatusAuthorized:        {StatusPartiallyCaptured, StatusCaptured, StatusCanceled},
	StatusPartiallyCaptured: {StatusPartiallyCaptured, StatusCaptured, StatusPartiallyRefunded, StatusRefunded},
	StatusCaptured:          {StatusPartiallyRefunded, StatusRefunded},
	StatusPartiallyRefunded: {StatusPartiallyRefunded, StatusRefunded},
	StatusRefunded:          {},
	StatusCanceled:          {},
	StatusFailed:            {},
}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// CanTransition reports whether the state machine allows s → to.
func (s Status) CanTransition(to Status) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Final reports whether no further transition is possible from s.
func (s Status) Final() bool {
	return s.Valid() && len(transitions[s]) == 0
}

// Settled reports whether the provider has given its answer: the payment is
// no longer pending, waiting for a shopper or terminal, or in doubt. A POS
// that long-polls waits until this is true.
func (s Status) Settled() bool {
	switch s {
	case StatusPending, StatusRequiresAction, StatusProcessing, StatusUnknown:
		return false
	}
	return s.Valid()
}

// Transition checks s → to against the state machine.
func (s Status) Transition(to Status) error {
	if !to.Valid() {
		return Errorf(EInternal, "status %q does not exist", to)
	}
	if !s.CanTransition(to) {
		return Errorf(EConflict, "a %s payment cannot become %s", s, to)
	}
	return nil
}
