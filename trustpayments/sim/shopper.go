package sim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Test cards of the simulated gateway.
const (
	// CardFrictionless is approved without a 3-D Secure challenge.
	CardFrictionless = "4111111111111111"
)

// Checkout does what the stand-in st.js does in a cardholder's browser,
// without a browser: THREEDQUERY and AUTH at gatewayURL's /jwt/ with card
// pan (frictionless, expiry 12/40, code 123) under the request JWT Tender
// issued, and returns the form that st.js then posts to Tender's return
// URL: the response JWT, or, when the gateway did not answer, errorcode
// 50003 and no JWT. Like st.js it never retries a request that may have
// been sent. Tests and the fault harness share it.
func Checkout(ctx context.Context, client *http.Client, gatewayURL, requestJWT, orderReference, pan string) (url.Values, error) {
	parts := strings.Split(requestJWT, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("trustpayments checkout: not a JWT: %.40q", requestJWT)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("trustpayments checkout: %w", err)
	}
	var claims struct {
		Payload struct {
			Types json.RawMessage `json:"requesttypedescriptions"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, fmt.Errorf("trustpayments checkout: %w", err)
	}
	body, _ := json.Marshal(map[string]any{"jwt": requestJWT, "version": "1.00", "acceptcustomeroutput": "2.00",
		"request": []any{map[string]any{"requesttypedescriptions": claims.Payload.Types,
			"pan": pan, "expirydate": "12/40", "securitycode": "123"}}})
	form := url.Values{"orderreference": {orderReference}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(gatewayURL, "/")+"/jwt/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		form.Set("errorcode", "50003")
		form.Set("errormessage", "Invalid response")
		return form, nil
	}
	defer res.Body.Close()
	var out struct{ JWT string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.JWT == "" {
		return nil, fmt.Errorf("trustpayments checkout: the gateway answered HTTP %d without a JWT", res.StatusCode)
	}
	form.Set("jwt", out.JWT)
	return form, nil
}
