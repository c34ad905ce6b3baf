package trustpayments

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// Order is what Tender fixes in a request JWT.
type Order struct {
	Reference string // Tender's payment id, sent as orderreference
	Amount    int64  // minor units
	Currency  string
	// Manual asks for an authorization that waits for a capture: the AUTH is
	// made with settlestatus 2 (suspended) and released by TRANSACTIONUPDATE.
	Manual bool
	// Extra holds optional billing*/customer*/customfield*/locale fields,
	// included only when the merchant passed them.
	Extra map[string]string
	// Cards are the credentials-on-file fields (cards.go).
	Cards CardOrder
}

// extraPrefixes are the payload fields a merchant may add through the
// payment's input; everything else in the payload is Tender's to set.
var extraPrefixes = []string{"billing", "customer", "customfield"}

// ExtraAllowed reports whether a merchant may set payload field name.
func ExtraAllowed(name string) bool {
	if name == "locale" {
		return true
	}
	if _, ok := payloadFields[name]; !ok {
		return false
	}
	for _, p := range extraPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Payload returns the request JWT's payload for an order: every field the
// shopper must not change (seed: "De payload moet bevatten alle velden die
// u de klant niet wilt laten wijzigen").
func (cfg Config) Payload(o Order) (map[string]any, error) {
	p := map[string]any{
		"accounttypedescription":  "ECOM",
		"currencyiso3a":           o.Currency,
		"sitereference":           cfg.SiteReference,
		"orderreference":          o.Reference,
		"requesttypedescriptions": o.Cards.requestTypes(),
		"termurl":                 cfg.TermURL,
	}
	o.Cards.addFields(p)
	if cfg.AmountField == "mainamount" {
		p["mainamount"] = tender.FormatMinor(o.Amount, o.Currency)
	} else if baseAmountAsNumber {
		p["baseamount"] = o.Amount
	} else {
		p["baseamount"] = strconv.FormatInt(o.Amount, 10)
	}
	if o.Manual {
		p["settlestatus"] = "2"
	}
	keys := make([]string, 0, len(o.Extra))
	for k := range o.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !ExtraAllowed(k) {
			return nil, tender.Invalid("trustpayments."+k, "%s cannot be set by the merchant", k)
		}
		p[k] = o.Extra[k]
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	if errs := ValidatePayload(m); len(errs) > 0 {
		param := errs[0].Field
		if ExtraAllowed(param) {
			param = "trustpayments." + param
		}
		return nil, tender.Invalid(param, "Trust Payments field %s", errs[0].Error())
	}
	return p, nil
}

// RequestClaims are a request JWT's claims, in the order of the seed's
// complete example: iss, iat, payload.
type RequestClaims struct {
	Iss     string         `json:"iss"`
	Iat     int64          `json:"iat"`
	Payload map[string]any `json:"payload"`
}

// RequestJWT signs the request JWT for an order at time now.
func (cfg Config) RequestJWT(o Order, now time.Time) (string, error) {
	p, err := cfg.Payload(o)
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(RequestClaims{Iss: cfg.JWTUsername, Iat: now.Unix(), Payload: p})
	if err != nil {
		return "", fmt.Errorf("trustpayments: request claims: %w", err)
	}
	return Sign(cfg.Algorithm, cfg.Secret, claims)
}

// PayloadOf returns a token's payload claim as raw fields.
func PayloadOf(t *Token) (map[string]json.RawMessage, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(t.Claims["payload"], &p); err != nil || p == nil {
		return nil, fmt.Errorf("%w: payload claim is not an object", ErrMalformed)
	}
	return p, nil
}
