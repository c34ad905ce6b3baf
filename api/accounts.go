package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

type createAccountRequest struct {
	ID          string            `json:"id"`
	Connector   string            `json:"connector"`
	Environment string            `json:"environment"`
	Default     bool              `json:"default"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"`
}

func keysOf(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func toAccount(a *tender.Account, credKeys []string) account {
	if credKeys == nil {
		credKeys = []string{}
	}
	settings := a.Settings
	if settings == nil {
		settings = map[string]string{}
	}
	return account{ID: a.ID, Object: "account", Merchant: a.Merchant, Connector: a.Connector, Environment: a.Environment, Default: a.Default,
		Settings: settings, Credentials: credKeys, CreatedAt: timestamp(a.CreatedAt)}
}

func toTerminal(t *tender.Terminal, credKeys []string) terminal {
	if credKeys == nil {
		credKeys = []string{}
	}
	settings := t.Settings
	if settings == nil {
		settings = map[string]string{}
	}
	return terminal{ID: t.ID, Object: "terminal", Merchant: t.Merchant, Connector: t.Connector, Account: t.Account, ProviderID: t.ProviderID,
		Label: nullable(t.Label), Settings: settings, Credentials: credKeys, CreatedAt: timestamp(t.CreatedAt)}
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req createAccountRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		a, err := s.eng.CreateAccount(r.Context(), &tender.Account{ID: req.ID, Connector: req.Connector,
			Environment: req.Environment, Default: req.Default, Settings: req.Settings, Credentials: req.Credentials})
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusCreated, v: toAccount(a, keysOf(req.Credentials))}
	})
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	a, err := s.eng.GetAccount(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAccount(a, s.credentialKeys(r, "account", a.ID)))
}

// credentialKeys says which credential keys are set, without their values.
func (s *Server) credentialKeys(r *http.Request, kind, id string) []string {
	keys, err := s.eng.CredentialKeys(r.Context(), kind, id)
	if err != nil {
		return nil
	}
	return keys
}

func listFilter(r *http.Request) (tender.ListFilter, error) {
	q := r.URL.Query()
	f := tender.ListFilter{StartingAfter: q.Get("starting_after"), Connector: q.Get("connector")}
	var err error
	f.Limit, err = pageLimit(q)
	return f, err
}

// pageLimit reads a list's ?limit= (0 when absent: the default applies).
func pageLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, tender.Invalid("limit", "limit must be an integer between 1 and 100")
	}
	return n, nil
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	f, err := listFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, more, err := s.eng.ListAccounts(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(list, more, func(a *tender.Account) account {
		return toAccount(a, s.credentialKeys(r, "account", a.ID))
	}))
}

type createTerminalRequest struct {
	ID          string            `json:"id"`
	Connector   string            `json:"connector"`
	Account     string            `json:"account"`
	ProviderID  string            `json:"provider_id"`
	Label       string            `json:"label"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"`
}

func (s *Server) createTerminal(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req createTerminalRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		t, err := s.eng.CreateTerminal(r.Context(), &tender.Terminal{ID: req.ID, Connector: req.Connector, Account: req.Account,
			ProviderID: req.ProviderID, Label: req.Label, Settings: req.Settings, Credentials: req.Credentials})
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusCreated, v: s.withState(r, toTerminal(t, keysOf(req.Credentials)), t)}
	})
}

// updateAccountRequest is POST /v1/accounts/{id}. Connector, environment
// and id are fixed once an account exists: payments refer to them.
type updateAccountRequest struct {
	Default     *bool             `json:"default"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"`
}

func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, func(body []byte, _ string) result {
		if err := fixedFields(body, "id", "connector", "environment"); err != nil {
			return result{err: err}
		}
		var req updateAccountRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		a, err := s.eng.UpdateAccount(r.Context(), r.PathValue("id"), engine.AccountChange{
			Settings: req.Settings, Credentials: req.Credentials, Default: req.Default})
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusOK, v: toAccount(a, keysOf(a.Credentials))}
	})
}

// updateTerminalRequest is POST /v1/terminals/{id}.
type updateTerminalRequest struct {
	Label       *string           `json:"label"`
	Settings    map[string]string `json:"settings"`
	Credentials map[string]string `json:"credentials"`
}

func (s *Server) updateTerminal(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, func(body []byte, _ string) result {
		if err := fixedFields(body, "id", "connector", "account", "provider_id"); err != nil {
			return result{err: err}
		}
		var req updateTerminalRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		t, err := s.eng.UpdateTerminal(r.Context(), r.PathValue("id"), engine.TerminalChange{
			Label: req.Label, Settings: req.Settings, Credentials: req.Credentials})
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusOK, v: s.withState(r, toTerminal(t, keysOf(t.Credentials)), t)}
	})
}

// fixedFields refuses an update that tries to change a field that cannot
// change, naming it (rather than the decoder's generic "unknown field").
func fixedFields(body []byte, names ...string) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil // decode reports the malformed body
	}
	for _, n := range names {
		if _, ok := m[n]; ok {
			return tender.Invalid(n, "%s cannot be changed; create a new one instead", n)
		}
	}
	return nil
}
