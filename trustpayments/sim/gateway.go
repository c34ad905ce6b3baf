package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"

	tp "github.com/tenderpay/tender/trustpayments"
)

// jwtRequest is what st.js and the SDKs POST to /jwt/ (notes §4.1).
type jwtRequest struct {
	JWT     string                       `json:"jwt"`
	Version string                       `json:"version"`
	Request []map[string]json.RawMessage `json:"request"`
}

// elem is one response element.
type elem map[string]any

func errElem(typ, code, msg string, data ...string) elem {
	e := elem{"requesttypedescription": typ, "errorcode": code, "errormessage": msg, "customeroutput": "TRYAGAIN"}
	if len(data) > 0 {
		e["errordata"] = data
	}
	return e
}

// serveJWT is the gateway endpoint for the JavaScript library and SDKs:
// the request JWT authenticates the call; the answer is {"jwt": response
// JWT signed with the site's secret}, carrying the next request JWT.
func (s *Sim) serveJWT(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var req jwtRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Request) == 0 {
		s.answer(w, nil, nil, "", errElem("ERROR", "10205", "Malformed JSON", "invalid json"))
		return
	}
	tok, err := tp.Parse(req.JWT)
	if err != nil {
		s.answer(w, nil, nil, "", errElem("ERROR", "30000", "Invalid field", "jwt"))
		return
	}
	s.mu.Lock()
	site := s.byJWTUser[tok.StringClaim("iss")]
	s.mu.Unlock()
	if site == nil {
		s.answer(w, nil, nil, "", errElem("ERROR", "30000", "Invalid field", "jwt"))
		return
	}
	if !tp.ValidAlgorithm(tok.Alg) {
		s.answer(w, nil, nil, "", errElem("ERROR", "10302", "JWT algorithm not supported", "jwt"))
		return
	}
	if _, err := tp.Verify(req.JWT, tp.VerifyOptions{Alg: tok.Alg, Secret: site.JWTSecret, Now: s.opts.Clock.Now(), MaxAge: s.opts.MaxAge}); err != nil {
		s.answer(w, nil, nil, "", errElem("ERROR", "30000", "Invalid field", "jwt"))
		return
	}
	payload, err := tp.PayloadOf(tok)
	if err != nil {
		s.answer(w, site, tok, "", errElem("ERROR", "30000", "Invalid field", "jwt"))
		return
	}
	if errs := tp.ValidatePayload(payload); len(errs) > 0 {
		var fields []string
		for _, e := range errs {
			if !slices.Contains(fields, e.Field) {
				fields = append(fields, e.Field)
			}
		}
		s.answer(w, site, tok, "", errElem("ERROR", "30000", "Invalid field", fields...))
		return
	}
	if tp.ScalarField(payload, "sitereference") != site.Reference {
		s.answer(w, site, tok, "", errElem("ERROR", "30006", "Invalid sitereference for alias", "sitereference"))
		return
	}
	in := req.Request[0]
	types, _ := list(payload["requesttypedescriptions"])
	if rt, ok := list(in["requesttypedescriptions"]); ok {
		if slices.Equal(rt, []string{"JSINIT"}) {
			s.answer(w, site, tok, "", elem{"requesttypedescription": "JSINIT", "errorcode": "0", "errormessage": "Ok", "cachetoken": randAlnum(24)})
			return
		}
		if len(types) == 0 {
			types = rt
		} else if !slices.Equal(rt, types) {
			s.answer(w, site, tok, "", errElem("ERROR", "30000", "Invalid field", "requesttypedescriptions"))
			return
		}
	}
	if len(types) == 0 {
		s.answer(w, site, tok, "", errElem("ERROR", "60018", "Invalid requesttype"))
		return
	}
	o, err := s.order(payload)
	if err != nil {
		s.answer(w, site, tok, "", errElem("ERROR", "30000", "Invalid field", "baseamount"))
		return
	}
	// Sandbox rule 61: the first request for a payment fails with a
	// transport error before anything is done.
	if o.amount%100 == 61 && slices.Contains(types, "AUTH") {
		s.mu.Lock()
		first := !s.dropped[o.key]
		s.dropped[o.key] = true
		s.mu.Unlock()
		if first {
			hijackDrop(w)
			return
		}
	}
	res, remaining, parent := s.chain(site, o, types, payload, in)
	if o.amount%100 == 55 && slices.Contains(types, "AUTH") && len(remaining) == 0 {
		// Sandbox rule 55: the payment is done but the answer never comes.
		hijackDrop(w)
		return
	}
	nested, err := s.nextJWT(site, tok, remaining, parent)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.answer(w, site, tok, nested, res...)
}

// answer writes {"jwt": response JWT}. With no site the token is signed
// with a key nobody has: the merchant cannot verify it, as with a gateway
// that does not know the JWT user.
func (s *Sim) answer(w http.ResponseWriter, site *Site, tok *tp.Token, nested string, elems ...elem) {
	alg, key, aud := tp.HS256, s.errKey, ""
	if site != nil {
		key, aud = site.JWTSecret, site.JWTUser
		if tok != nil && tp.ValidAlgorithm(tok.Alg) {
			alg = tok.Alg // mirror the request's algorithm (notes §4.3)
		}
		if nested == "" && tok != nil {
			nested = tok.Raw
		}
	}
	claims := map[string]any{
		"iat": s.opts.Clock.Now().Unix(),
		"payload": map[string]any{
			"requestreference": requestReference(),
			"version":          tp.WSVersion,
			"jwt":              nested,
			"response":         elems,
			"secrand":          randAlnum(9),
		},
		"aud": aud,
	}
	raw, _ := json.Marshal(claims)
	token, err := tp.Sign(alg, key, raw)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"jwt": token})
}

// nextJWT is the updated request JWT for the next step (notes §4.3): the
// same claims with iat refreshed, parenttransactionreference set to the
// last successful step and the remaining request types.
func (s *Sim) nextJWT(site *Site, tok *tp.Token, remaining []string, parent string) (string, error) {
	var claims map[string]any
	if err := json.Unmarshal(tok.ClaimsJSON, &claims); err != nil {
		return "", err
	}
	p, _ := claims["payload"].(map[string]any)
	if p == nil {
		return "", errors.New("no payload")
	}
	if remaining == nil {
		remaining = []string{}
	}
	p["requesttypedescriptions"] = remaining
	if parent != "" {
		p["parenttransactionreference"] = parent
	}
	claims["iat"] = s.opts.Clock.Now().Unix()
	raw, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return tp.Sign(tok.Alg, site.JWTSecret, raw)
}

// order is the payment a request JWT fixes.
type order struct {
	key      string // orderreference (or the amount when none): for rule 61
	ref      string
	amount   int64
	currency string
	settle   string
	parent   string
	cof      string // credentialsonfile
}

func (s *Sim) order(p map[string]json.RawMessage) (order, error) {
	o := order{ref: tp.ScalarField(p, "orderreference"), currency: tp.ScalarField(p, "currencyiso3a"),
		settle: tp.ScalarField(p, "settlestatus"), parent: tp.ScalarField(p, "parenttransactionreference"),
		cof: tp.ScalarField(p, "credentialsonfile")}
	if b := tp.ScalarField(p, "baseamount"); b != "" {
		v, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			return o, err
		}
		o.amount = v
	} else {
		v, ok := tp.AmountOf(tp.Result{Fields: map[string]string{"mainamount": tp.ScalarField(p, "mainamount")}}, o.currency)
		if !ok {
			return o, fmt.Errorf("bad mainamount")
		}
		o.amount = v
	}
	if o.settle == "" {
		o.settle = "0"
	}
	o.key = o.ref
	if o.key == "" {
		o.key = fmt.Sprint("amount:", o.amount)
	}
	return o, nil
}

func list(raw json.RawMessage) ([]string, bool) {
	if raw == nil {
		return nil, false
	}
	var l []string
	if json.Unmarshal(raw, &l) != nil {
		return nil, false
	}
	return l, true
}

func str(raw json.RawMessage) string {
	var v string
	_ = json.Unmarshal(raw, &v)
	return v
}
