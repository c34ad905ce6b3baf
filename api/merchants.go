package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// merchant is the API's merchant object.
type merchant struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Name          string            `json:"name"`
	Country       *string           `json:"country"`
	DefaultLocale *string           `json:"default_locale"`
	TimeZone      string            `json:"time_zone"`
	Branding      branding          `json:"branding"`
	Metadata      map[string]string `json:"metadata"`
	CreatedAt     string            `json:"created_at"`
}

type branding struct {
	DisplayName *string `json:"display_name"`
	LogoURL     *string `json:"logo_url"`
	Color       *string `json:"color"`
}

func toMerchant(m *tender.Merchant) merchant {
	md := m.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return merchant{ID: m.ID, Object: "merchant", Name: m.Name, Country: nullable(m.Country), DefaultLocale: nullable(m.DefaultLocale),
		TimeZone: engine.TimeZoneName(m.TimeZone),
		Branding: branding{DisplayName: nullable(m.Branding.DisplayName), LogoURL: nullable(m.Branding.LogoURL), Color: nullable(m.Branding.Color)},
		Metadata: md, CreatedAt: timestamp(m.CreatedAt)}
}

type merchantRequest struct {
	ID            string            `json:"id"`
	Name          *string           `json:"name"`
	Country       *string           `json:"country"`
	DefaultLocale *string           `json:"default_locale"`
	TimeZone      *string           `json:"time_zone"`
	Branding      *tender.Branding  `json:"branding"`
	Metadata      map[string]string `json:"metadata"`
}

func (m merchantRequest) engine() engine.MerchantRequest {
	return engine.MerchantRequest{ID: m.ID, Name: m.Name, Country: m.Country, DefaultLocale: m.DefaultLocale,
		TimeZone: m.TimeZone, Branding: m.Branding, Metadata: m.Metadata}
}

func (s *Server) createMerchant(w http.ResponseWriter, r *http.Request) {
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req merchantRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		m, err := s.eng.CreateMerchant(r.Context(), req.engine())
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusCreated, v: toMerchant(m)}
	})
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request) {
	m, err := s.eng.GetMerchant(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMerchant(m))
}

func (s *Server) listMerchants(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := pageLimit(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, more, err := s.eng.ListMerchants(r.Context(), tender.MerchantFilter{Limit: limit, StartingAfter: q.Get("starting_after")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(list, more, toMerchant))
}

func (s *Server) updateMerchant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.idempotent(w, r, func(body []byte, _ string) result {
		var req merchantRequest
		if err := decode(body, &req); err != nil {
			return result{err: err}
		}
		if req.ID != "" && req.ID != id {
			return result{err: tender.Invalid("id", "a merchant's id never changes")}
		}
		m, err := s.eng.UpdateMerchant(r.Context(), id, req.engine())
		if err != nil {
			return result{err: err}
		}
		return result{status: http.StatusOK, v: toMerchant(m)}
	})
}

// apiKey is the API's API key object. The secret is shown once, in the
// response that made the key; Tender keeps only its hash.
type apiKey struct {
	ID         string   `json:"id"`
	Object     string   `json:"object"`
	Name       *string  `json:"name"`
	Prefix     string   `json:"prefix"`
	Scope      string   `json:"scope"`
	Merchant   *string  `json:"merchant"` // null for a platform key
	Terminals  []string `json:"terminals,omitempty"`
	Secret     string   `json:"secret,omitempty"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"`
	RevokedAt  *string  `json:"revoked_at"`
}

// optTimestamp is a time, or null for the zero time.
func optTimestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timestamp(t)
	return &s
}

func toAPIKey(k *tender.APIKey) apiKey {
	out := apiKey{ID: k.ID, Object: "api_key", Name: nullable(k.Name), Prefix: k.Prefix, Scope: k.Scope,
		Terminals: k.Terminals, CreatedAt: timestamp(k.CreatedAt),
		LastUsedAt: optTimestamp(k.LastUsedAt), RevokedAt: optTimestamp(k.RevokedAt)}
	if k.Scope != tender.ScopePlatform {
		out.Merchant = &k.Merchant
	}
	return out
}

type apiKeyRequest struct {
	Name      string   `json:"name"`
	Scope     string   `json:"scope"`
	Merchant  string   `json:"merchant"`
	Terminals []string `json:"terminals"`
}

// createAPIKey makes a key. It is not run under the Idempotency-Key: the
// response holds the secret, which Tender never stores, so it could not be
// replayed; a retried create makes a second key (revoke the extra one).
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req apiKeyRequest
	if err := decode(body, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c := callerOf(r)
	switch {
	case req.Scope == "":
		s.writeError(w, r, tender.Invalid("scope", "scope is required: \"platform\", \"merchant\" or \"terminal\""))
		return
	case !c.platform() && req.Scope == tender.ScopePlatform:
		s.writeError(w, r, tender.Errorf(tender.EForbidden, "only a platform key may create a platform key"))
		return
	case !c.platform() && req.Merchant != "" && req.Merchant != c.merchant:
		s.writeError(w, r, &tender.Error{Code: tender.ENotFound, Param: "merchant", Message: fmt.Sprintf("no merchant %q", req.Merchant)})
		return
	case req.Merchant == "" && req.Scope != tender.ScopePlatform:
		req.Merchant = c.merchant
	}
	secret, k, err := s.eng.NewAPIKey(r.Context(), engine.APIKeyRequest{Name: req.Name, Scope: req.Scope, Merchant: req.Merchant, Terminals: req.Terminals})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toAPIKey(k)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
}

// visibleKey returns key id if the caller may manage it: a platform key
// every key, a merchant key its merchant's merchant and terminal keys.
func (s *Server) visibleKey(r *http.Request, id string) (*tender.APIKey, error) {
	k, err := s.eng.GetAPIKey(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if c := callerOf(r); !c.platform() && (k.Merchant != c.merchant || k.Scope == tender.ScopePlatform) {
		return nil, tender.Errorf(tender.ENotFound, "no API key %q", id)
	}
	return k, nil
}

// listAPIKeys lists a platform key every merchant's keys (or, with
// Tender-Merchant, that merchant's), a merchant key its merchant's.
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	f, err := listFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := callerOf(r)
	if !c.platform() || r.Header.Get("Tender-Merchant") != "" {
		f.Merchant = c.merchant
	}
	list, more, err := s.eng.ListAPIKeys(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	shown := list[:0]
	for _, k := range list {
		if c.platform() || k.Scope != tender.ScopePlatform {
			shown = append(shown, k)
		}
	}
	writeJSON(w, http.StatusOK, newList(shown, more, toAPIKey))
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	if _, err := s.visibleKey(r, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.eng.RevokeAPIKey(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIKey(k))
}

// rollAPIKey replaces a key by a new one of the same name, scope, merchant
// and terminals, and revokes the old one at once.
func (s *Server) rollAPIKey(w http.ResponseWriter, r *http.Request) {
	old, err := s.visibleKey(r, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !old.RevokedAt.IsZero() {
		s.writeError(w, r, tender.Errorf(tender.EConflict, "API key %s is revoked; create a new one", old.ID))
		return
	}
	req := engine.APIKeyRequest{Name: old.Name, Scope: old.Scope, Terminals: old.Terminals}
	if old.Scope != tender.ScopePlatform {
		req.Merchant = old.Merchant
	}
	secret, k, err := s.eng.NewAPIKey(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.eng.RevokeAPIKey(r.Context(), old.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := toAPIKey(k)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
}
