package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/engine"
)

// maxBody limits request bodies of the API.
const maxBody = 64 << 10

// payment is the API's payment object.
type payment struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Amount            int64              `json:"amount"`
	Currency          string             `json:"currency"`
	Status            tender.Status      `json:"status"`
	Merchant          string             `json:"merchant"`
	Connector         string             `json:"connector"`
	Terminal          *string            `json:"terminal"`
	Account           string             `json:"account"`
	Reference         *string            `json:"reference"`
	Description       *string            `json:"description"`
	ReturnURL         *string            `json:"return_url"`
	Capture           tender.CaptureMode `json:"capture"`
	ProviderReference *string            `json:"provider_reference"`
	NextAction        *tender.NextAction `json:"next_action"`
	Receipt           *tender.Receipt    `json:"receipt"`
	Failure           *tender.Failure    `json:"failure"`
	CapturedAmount    int64              `json:"captured_amount"`
	RefundedAmount    int64              `json:"refunded_amount"`
	Details           map[string]any     `json:"details"`
	// Discrepancy is what a person must look at, or null.
	Discrepancy *string           `json:"discrepancy"`
	Metadata    map[string]string `json:"metadata"`
	Locale      *string           `json:"locale"`
	// Saved cards (methods.go): present only on payments that use them.
	Customer         string               `json:"customer,omitempty"`
	SetupFutureUsage string               `json:"setup_future_usage,omitempty"`
	PaymentMethod    string               `json:"payment_method,omitempty"`
	OffSession       bool                 `json:"off_session,omitempty"`
	Subscription     *tender.Subscription `json:"subscription,omitempty"`
	CreatedAt        string               `json:"created_at"`
	UpdatedAt        string               `json:"updated_at"`

	// inputField and input are the connector's input, shown under the
	// connector's name for it (see MarshalJSON).
	inputField string
	input      json.RawMessage
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// basePayment renders what every payment has; providers.payment adds
// what only its connector knows how to show.
func basePayment(p *tender.Payment) payment {
	out := payment{
		ID: p.ID, Object: "payment", Merchant: p.Merchant, Amount: p.Amount, Currency: p.Currency, Status: p.Status,
		Connector: p.Connector, Terminal: nullable(p.Terminal), Account: p.Account,
		Reference: nullable(p.Reference), Description: nullable(p.Description), ReturnURL: nullable(p.ReturnURL),
		Capture: p.CaptureMode, ProviderReference: nullable(p.ProviderReference),
		NextAction: p.NextAction, Receipt: p.Receipt, Failure: p.Failure,
		CapturedAmount: p.CapturedAmount, RefundedAmount: p.RefundedAmount,
		Details: map[string]any{}, Metadata: p.Metadata, Locale: nullable(p.Locale), Discrepancy: nullable(p.Discrepancy),
		CreatedAt: timestamp(p.CreatedAt), UpdatedAt: timestamp(p.UpdatedAt),
		Customer: p.Customer, SetupFutureUsage: p.SetupFutureUsage, PaymentMethod: p.PaymentMethod, OffSession: p.OffSession,
		Subscription: p.Subscription,
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	for k, v := range p.Details {
		out.Details[k] = v
	}
	return out
}

type event struct {
	ID        string          `json:"id"` // evt_..., as in webhooks
	Object    string          `json:"object"`
	Payment   string          `json:"payment"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
}

type account struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Merchant    string            `json:"merchant"`
	Connector   string            `json:"connector"`
	Environment string            `json:"environment"`
	Default     bool              `json:"default"`
	Settings    map[string]string `json:"settings"`
	// Credentials are never returned: only which keys are set.
	Credentials []string `json:"credentials_set"`
	CreatedAt   string   `json:"created_at"`
}

type terminal struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Merchant    string            `json:"merchant"`
	Connector   string            `json:"connector"`
	Account     string            `json:"account"`
	ProviderID  string            `json:"provider_id"`
	Label       *string           `json:"label"`
	Settings    map[string]string `json:"settings"`
	Credentials []string          `json:"credentials_set"`
	CreatedAt   string            `json:"created_at"`
	terminalState
}

type list[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
}

func newList[T, S any](items []S, more bool, conv func(S) T) list[T] {
	l := list[T]{Object: "list", Data: make([]T, 0, len(items)), HasMore: more}
	for _, it := range items {
		l.Data = append(l.Data, conv(it))
	}
	return l
}

// errorBody is the API's error object.
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Type         string `json:"type"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	Param        string `json:"param,omitempty"`
	ProviderCode string `json:"provider_code,omitempty"`
	Payment      string `json:"payment,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
}

// errorStatus maps an error code to its HTTP status and error type, once.
func errorStatus(err error) (int, string) {
	if errors.Is(err, engine.ErrIdempotencyMismatch) {
		return http.StatusUnprocessableEntity, "idempotency_error"
	}
	if errors.Is(err, engine.ErrIdempotencyInFlight) {
		return http.StatusConflict, "idempotency_error"
	}
	switch tender.ErrorCodeOf(err) {
	case tender.EInvalid:
		return http.StatusBadRequest, "invalid_request_error"
	case tender.ENotFound:
		return http.StatusNotFound, "invalid_request_error"
	case tender.EConflict:
		return http.StatusConflict, "invalid_request_error"
	case tender.EIdempotency:
		return http.StatusConflict, "idempotency_error"
	case tender.EUnauthorized:
		return http.StatusUnauthorized, "authentication_error"
	case tender.EForbidden:
		return http.StatusForbidden, "permission_error"
	case tender.ERateLimited:
		return http.StatusTooManyRequests, "rate_limit_error"
	case tender.EDeclined:
		return http.StatusPaymentRequired, "payment_error"
	case tender.ETerminalBusy:
		return http.StatusConflict, "terminal_error"
	case tender.ENotSupported:
		return http.StatusUnprocessableEntity, "invalid_request_error"
	case tender.EProvider:
		return http.StatusBadGateway, "provider_error"
	case tender.EUnavailable:
		return http.StatusGatewayTimeout, "provider_error"
	}
	return http.StatusInternalServerError, "api_error"
}

func errorResponse(err error, requestID, paymentID string) (int, errorBody) {
	status, typ := errorStatus(err)
	e := apiError{Type: typ, Code: string(tender.ErrorCodeOf(err)), Message: tender.ErrorMessageOf(err), RequestID: requestID, Payment: paymentID}
	if te := tender.AsError(err); te != nil {
		e.Param, e.ProviderCode = te.Param, te.ProviderCode
	}
	return status, errorBody{Error: e}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","code":"internal","message":"internal error"}}`)
	}
	writeRaw(w, status, append(b, '\n'))
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorResponse(err, requestID(r), "")
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", err)
	}
	writeJSON(w, status, body)
}

// readBody reads a size-limited request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	// Content-Type is not checked: `curl -d` sends a JSON body as form data,
	// and the JSON decoder's errors are clear enough.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tender.Invalid("", "the request body is larger than %d KiB", maxBody>>10)
	}
	if err != nil {
		return nil, tender.Invalid("", "the request body could not be read")
	}
	return body, nil
}

// decode parses a JSON body into v strictly: unknown fields, wrong types,
// duplicate keys, keys that match a field only case-insensitively (see
// checkKeys) and trailing data are errors that name the field. An empty
// body is an empty object.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := checkKeys(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return tender.Invalid("", "the request body must be one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return tender.Invalid("", "the request body must be one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return tender.Invalid("", "the request body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return tender.Invalid("", "the request body must be a JSON object")
		}
		want := te.Type.Kind().String()
		switch want {
		case "int64", "int":
			if field == "amount" || strings.HasSuffix(field, "_amount") {
				return tender.Invalid(field, "%s must be an integer number of minor units (e.g. 1050 for 10.50), not %s", field, te.Value)
			}
			want = "an integer"
		case "string":
			want = "a string"
		case "map", "struct":
			want = "an object"
		case "bool":
			want = "true or false"
		}
		return tender.Invalid(field, "%s must be %s, not %s", field, want, te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return tender.Invalid(name, "unknown field %q", name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tender.Invalid("", "the request body is not valid JSON (it ends too early)")
	}
	return tender.Invalid("", "the request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// mustJSON encodes a response that is also stored for its
// Idempotency-Key: compact, as the store keeps it (a create's answer is a
// third smaller than indented).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("api: encode response: %v", err))
	}
	return append(b, '\n')
}
