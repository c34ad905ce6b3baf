package api

import (
	"net/http"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// terminalState is what a terminal is doing, part of the terminal object.
type terminalState struct {
	State       string  `json:"state"`
	Payment     *string `json:"payment"`
	StateReason *string `json:"state_reason"`
	LastSeenAt  *string `json:"last_seen_at"`
}

func toTerminalState(st engine.TerminalState) terminalState {
	out := terminalState{State: st.State, Payment: nullable(st.Payment), StateReason: nullable(st.Reason)}
	if !st.LastSeenAt.IsZero() {
		v := timestamp(st.LastSeenAt)
		out.LastSeenAt = &v
	}
	return out
}

// withState adds t's state to its object (after a create or an update).
func (s *Server) withState(r *http.Request, v terminal, t *tender.Terminal) terminal {
	if sts, err := s.eng.TerminalStates(r.Context(), []*tender.Terminal{t}); err == nil {
		v.terminalState = toTerminalState(sts[0])
	} else {
		v.State = tender.TerminalUnknown
	}
	return v
}

// getTerminal answers GET /v1/terminals/{id}; with ?wait= it long-polls
// like a payment: it answers once the state (or the open payment) differs
// from what it was when the request came, or when wait is over. A
// terminal key reads only its terminals (any other is not found).
func (s *Server) getTerminal(w http.ResponseWriter, r *http.Request) {
	wait, err := s.waitOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	c := callerOf(r)
	if c.key.Scope == tender.ScopeTerminal && !c.mayUseTerminal(id) {
		s.writeError(w, r, tender.Errorf(tender.ENotFound, "no terminal %q", id))
		return
	}
	if wait > 0 {
		release, err := s.polls.acquire(c.key.ID)
		if err != nil {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, err)
			return
		}
		defer release()
	}
	t, st, err := s.eng.WaitTerminal(r.Context(), id, wait)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := toTerminal(t, s.credentialKeys(r, "terminal", t.ID))
	v.terminalState = toTerminalState(st)
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request) {
	f, err := listFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, more, err := s.eng.ListTerminals(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sts, err := s.eng.TerminalStates(r.Context(), list)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	i := 0
	writeJSON(w, http.StatusOK, newList(list, more, func(t *tender.Terminal) terminal {
		v := toTerminal(t, s.credentialKeys(r, "terminal", t.ID))
		v.terminalState = toTerminalState(sts[i])
		i++
		return v
	}))
}
