package tender

import "testing"

// allowed is the state machine written out independently of the table in
// status.go, so a change to either shows up here.
var allowed = map[Status][]Status{
	StatusPending:           {StatusRequiresAction, StatusProcessing, StatusAuthorized, StatusCaptured, StatusCanceled, StatusFailed, StatusUnknown},
	StatusRequiresAction:    {StatusProcessing, StatusAuthorized, StatusCaptured, StatusCanceled, StatusFailed, StatusUnknown},
	StatusProcessing:        {StatusRequiresAction, StatusAuthorized, StatusCaptured, StatusCanceled, StatusFailed, StatusUnknown},
	StatusUnknown:           {StatusRequiresAction, StatusProcessing, StatusAuthorized, StatusCaptured, StatusCanceled, StatusFailed},
	StatusAuthorized:        {StatusPartiallyCaptured, StatusCaptured, StatusCanceled},
	StatusPartiallyCaptured: {StatusPartiallyCaptured, StatusCaptured, StatusPartiallyRefunded, StatusRefunded},
	StatusCaptured:          {StatusPartiallyRefunded, StatusRefunded},
	StatusPartiallyRefunded: {StatusPartiallyRefunded, StatusRefunded},
}

func TestTransitions(t *testing.T) {
	if len(Statuses) != 11 {
		t.Fatalf("there are %d statuses, want 11", len(Statuses))
	}
	for _, from := range Statuses {
		ok := map[Status]bool{}
		for _, to := range allowed[from] {
			ok[to] = true
		}
		for _, to := range Statuses {
			err := from.Transition(to)
			if ok[to] && err != nil {
				t.Errorf("%s → %s: %v, want allowed", from, to, err)
			}
			if !ok[to] {
				if err == nil {
					t.Errorf("%s → %s allowed, want rejected", from, to)
				} else if ErrorCodeOf(err) != EConflict {
					t.Errorf("%s → %s: code %s, want conflict", from, to, ErrorCodeOf(err))
				}
			}
		}
		if err := from.Transition("bogus"); err == nil {
			t.Errorf("%s → bogus allowed", from)
		}
	}
}

func TestFinalAndSettled(t *testing.T) {
	for _, s := range []Status{StatusCanceled, StatusFailed, StatusRefunded} {
		if !s.Final() {
			t.Errorf("%s.Final() = false", s)
		}
	}
	for _, s := range []Status{StatusPending, StatusRequiresAction, StatusProcessing, StatusUnknown} {
		if s.Settled() || s.Final() {
			t.Errorf("%s counts as settled or final", s)
		}
	}
	if !StatusCaptured.Settled() || StatusCaptured.Final() {
		t.Error("captured must be settled and not final (it can be refunded)")
	}
}
