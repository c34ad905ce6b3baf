package epay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Wire types of Impact's signpos (notes §6) and ePay's WebECR (notes §7),
// shared by the clients and the simulators. WebECR keys are PascalCase;
// Go's case-insensitive decoding also accepts the "id"/"Id", "UId"/"Uid"
// variants the notes report.

// SignPOSRequest is the body of Impact's POST /PosTransactions/signpos.
type SignPOSRequest struct {
	NSPCode               string      `json:"nspCode,omitempty"`
	IssuerTin             string      `json:"issuerTin"`
	IssueDate             string      `json:"issueDate"` // YYYY-MM-DD
	BranchCode            int         `json:"branchCode"`
	InvoiceTypeCode       string      `json:"invoiceTypeCode"`
	Series                string      `json:"series"`
	Identifier            string      `json:"identifier"`
	Mark                  *int64      `json:"mark"` // null for a simultaneous payment
	PaymentAmount         json.Number `json:"paymentAmount"`
	TotalNetAmount        json.Number `json:"totalNetAmount"`
	TotalVatAmount        json.Number `json:"totalVatAmount"`
	TotalAmount           json.Number `json:"totalAmount"`
	TerminalID            string      `json:"terminalId"`
	SignatureDurationType string      `json:"signatureDurationType"`
}

// SignPOSResponse is Impact's answer: the clear text and its signature.
type SignPOSResponse struct {
	Input     string `json:"input"`
	Signature string `json:"signature"`
}

// ImpactError is Impact's error body.
type ImpactError struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

// ParseSignPOSResponse decodes and checks a signpos answer.
func ParseSignPOSResponse(body []byte) (SignPOSResponse, ClearText, error) {
	var r SignPOSResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return r, ClearText{}, fmt.Errorf("signpos answer is not JSON: %w", err)
	}
	if r.Input == "" || r.Signature == "" {
		return r, ClearText{}, errors.New("signpos answer lacks input or signature")
	}
	c, err := ParseClearText(r.Input)
	if err != nil {
		return r, ClearText{}, fmt.Errorf("signpos input: %w", err)
	}
	if _, err := DecodeSignature(r.Signature); err != nil {
		return r, ClearText{}, fmt.Errorf("signpos signature: %w", err)
	}
	return r, c, nil
}

// Euros renders cents as the decimal euros Impact takes ("12.40").
func Euros(cents int64) json.Number {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	s := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	if neg {
		s = "-" + s
	}
	return json.Number(s)
}

// Cents parses a decimal euro amount exactly into cents, rounding a third or
// later decimal half away from zero (notes §6.3.4). Signs and exponents are
// refused.
func Cents(n json.Number) (int64, error) {
	s := string(n)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 13 || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("amount %q is not a decimal number of euros", s)
	}
	v, _ := strconv.ParseInt(whole, 10, 64)
	v *= 100
	frac += "000"
	v += int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	if frac[2] >= '5' {
		v++
	}
	return v, nil
}

// Intent status and result codes (notes §7.5).
const (
	StatusPending   = 1
	StatusSent      = 2
	StatusCompleted = 3

	ResultApproved       = 1
	ResultDeclined       = 2
	ResultCancelled      = 3
	ResultFailed         = 4
	ResultUnknown        = 5
	ResultBusy           = 6
	ResultMaxTransaction = 7
)

// TxnType values used here (notes §7.4).
const (
	TxnSale       = 0
	TxnRefund     = 1 // with InitialTransaction: a refund linked to the sale
	TxnPreAuth    = 2
	TxnCompletion = 3 // of a pre-authorization, InitialTransaction required
)

// CurrencyEUR is ISO 4217 numeric for the euro.
const CurrencyEUR = 978

// Void identifier types (notes §7.8).
const (
	VoidByIntentID      = 1
	VoidByTransactionID = 2
)

// NumID is an id that the backend sends as a number (sometimes as a string);
// it is rendered as a number.
type NumID string

// UnmarshalJSON accepts a number, a string or null.
func (n *NumID) UnmarshalJSON(b []byte) error {
	s, err := flexString(b)
	*n = NumID(s)
	return err
}

// MarshalJSON renders a decimal id as a number, anything else as a string.
func (n NumID) MarshalJSON() ([]byte, error) {
	if n != "" && allDigits(string(n)) && len(n) < 19 {
		return []byte(n), nil
	}
	return json.Marshal(string(n))
}

// StrID is an id that the backend sends as a string (sometimes a number).
type StrID string

// UnmarshalJSON accepts a number, a string or null.
func (n *StrID) UnmarshalJSON(b []byte) error {
	s, err := flexString(b)
	*n = StrID(s)
	return err
}

func flexString(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	var num json.Number
	if err := json.Unmarshal(b, &num); err != nil {
		return "", err
	}
	return string(num), nil
}

// TokenRequest is the body of POST /token/.
type TokenRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// TokenResponse is the answer of /token/ and /token/refresh/.
type TokenResponse struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh,omitempty"`
}

// RefreshRequest is the body of POST /token/refresh/.
type RefreshRequest struct {
	Refresh string `json:"refresh"`
}

// RedeemRequest is the body of POST /authorization/redeem/.
type RedeemRequest struct {
	Type string `json:"Type"` // "webecr"
	Code string `json:"Code"`
}

// RedeemResponse carries the API key (Id) for X-Api-Key.
type RedeemResponse struct {
	ID   string `json:"Id"`
	Type string `json:"Type"`
}

// Page is a DRF paginated list.
type Page[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// TerminalRecord is one entry of GET /terminal/ (notes §7.3).
type TerminalRecord struct {
	ID                 NumID  `json:"id"`
	TerminalID         string `json:"TerminalID"` // the 8-character TID
	FriendlyName       string `json:"FriendlyName"`
	TerminalType       int    `json:"TerminalType"`
	Merchant           string `json:"Merchant"`
	Acquirer           int    `json:"Acquirer"`
	Locked             bool   `json:"Locked"`
	CurrentBatchNumber int    `json:"CurrentBatchNumber"`
}

// ProviderData carries the provider signature as discrete fields (notes §7.4).
type ProviderData struct {
	Uid                string `json:"Uid"`
	Mark               *int64 `json:"Mark,omitempty"`
	SignatureTimestamp string `json:"SignatureTimestamp"`
	NetAmount          int64  `json:"NetAmount"`
	VatAmount          int64  `json:"VatAmount"`
	TotalAmount        int64  `json:"TotalAmount"`
	ProviderId         NumID  `json:"ProviderId"`
	Signature          string `json:"Signature"`
}

// MarshalJSON sends ProviderId as a string ("3"), as GKS does.
func (p ProviderData) MarshalJSON() ([]byte, error) {
	type plain ProviderData
	return json.Marshal(struct {
		plain
		ProviderId string `json:"ProviderId"`
	}{plain(p), string(p.ProviderId)})
}

// ClearText rebuilds the signed text as the backend does: the intent's
// Amount is the payable amount and the TID is the terminal's.
func (p ProviderData) ClearText(payable int64, tid string) ClearText {
	return ClearText{UID: p.Uid, Mark: renderProviderDataMark(p.Mark), Timestamp: p.SignatureTimestamp,
		Net: p.NetAmount, VAT: p.VatAmount, Total: p.TotalAmount, Payable: payable, TID: tid}
}

// TxnInitRequest is the body of POST /terminal/{id}/txninit/.
type TxnInitRequest struct {
	TxnType           int    `json:"TxnType"`
	Amount            int64  `json:"Amount"`
	TipAmount         int64  `json:"TipAmount,omitempty"`
	CurrencyCode      int    `json:"CurrencyCode"`
	Instalments       int    `json:"Instalments,omitempty"`
	CustomerReference string `json:"CustomerReference"`
	// InitialTransaction is the original intent's Id for a refund or a
	// pre-authorization completion (notes §7.4: GKS sends the original
	// intent's Id).
	InitialTransaction *NumID        `json:"InitialTransaction,omitempty"`
	PaymentType        int           `json:"PaymentType"`
	ProviderData       *ProviderData `json:"ProviderData,omitempty"`
	Timeout            int           `json:"Timeout"`
}

// Intent is a transaction intent (notes §7.5).
type Intent struct {
	ID                 NumID  `json:"Id"`
	Status             int    `json:"Status"`
	Result             *int   `json:"Result"`
	TxnType            int    `json:"TxnType"`
	Amount             int64  `json:"Amount"`
	TipAmount          int64  `json:"TipAmount"`
	CurrencyCode       int    `json:"CurrencyCode"`
	Instalments        int    `json:"Instalments"`
	CustomerReference  string `json:"CustomerReference"`
	Terminal           NumID  `json:"Terminal"`
	Transaction        *NumID `json:"Transaction"`
	InitialTransaction *NumID `json:"InitialTransaction"`
	TransactionId      string `json:"TransactionId"`
	ReceiptReference   string `json:"ReceiptReference"`
}

// ResultCode returns the intent's result, 0 while it has none.
func (i Intent) ResultCode() int {
	if i.Result == nil {
		return 0
	}
	return *i.Result
}

// Transaction is a host transaction record of GET /transaction/ (notes §7.7).
type Transaction struct {
	ID                StrID  `json:"Id"`
	CardPAN           string `json:"CardPAN"`
	CardType          string `json:"CardType"`
	TID               string `json:"TID"`
	MID               string `json:"MID"`
	Acquirer          string `json:"Acquirer"`
	HostResponseCode  string `json:"HostResponseCode"`
	RRN               string `json:"RRN"`
	AuthCode          string `json:"AuthCode"`
	CustomerReference string `json:"CustomerReference"`
	Approved          bool   `json:"Approved"`
	Voided            bool   `json:"Voided"`
	TxnType           int    `json:"TxnType"`
	STAN              int    `json:"STAN"`
	BatchNumber       int    `json:"BatchNumber"`
	Amount            int64  `json:"Amount"`
	TipAmount         int64  `json:"TipAmount"`
	CurrencyCode      int    `json:"CurrencyCode"`
	PaymentType       int    `json:"PaymentType"`
	PosEntryMode      int    `json:"PosEntryMode"`
	// AID and ApplicationLabel are the card application, as Impact's
	// updatePayment names them (aid, applicationLabel, notes §9.2); their
	// names on the WebECR record are assumed (entryModes in assumptions.go).
	AID              string  `json:"AID"`
	ApplicationLabel string  `json:"ApplicationLabel"`
	Timestamp        string  `json:"Timestamp"`
	VoidTimestamp    *string `json:"VoidTimestamp"`
}

// VoidRequest is the body of POST /terminal/{id}/txnvoid/ (notes §7.8).
type VoidRequest struct {
	OriginalIdentifier     string `json:"OriginalIdentifier"`
	OriginalIdentifierType int    `json:"OriginalIdentifierType"`
	Timeout                int    `json:"Timeout"`
}

// ParseIntent decodes one intent and checks it has an id.
func ParseIntent(body []byte) (Intent, error) {
	var in Intent
	if err := json.Unmarshal(body, &in); err != nil {
		return in, fmt.Errorf("intent is not JSON: %w", err)
	}
	if in.ID == "" {
		return in, errors.New("intent has no Id")
	}
	if in.Status < StatusPending || in.Status > StatusCompleted {
		return in, fmt.Errorf("intent has unknown Status %d", in.Status)
	}
	return in, nil
}

// ParsePage decodes a paginated list.
func ParsePage[T any](body []byte) (Page[T], error) {
	var p Page[T]
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("list is not JSON: %w", err)
	}
	return p, nil
}

// APIError is a WebECR (or Impact) HTTP error answer. Its text comes from
// the provider and is for logs only.
type APIError struct {
	Service string // "webecr" or "impact"
	Status  int
	Code    string // DRF "code", e.g. "token_not_valid"
	Detail  string // DRF "detail", Impact "message", or the field errors
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d: %s", e.Service, e.Status, e.Detail)
}

// ParseErrorBody reads a DRF error: {"detail","code"} or {"Field":["msg"]},
// or Impact's {"success":false,"message"}.
func ParseErrorBody(service string, status int, body []byte) *APIError {
	e := &APIError{Service: service, Status: status}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		e.Detail = "unparseable error body"
		return e
	}
	var parts []string
	for k, v := range m {
		var s string
		var list []string
		switch {
		case json.Unmarshal(v, &s) == nil:
			switch k {
			case "detail", "message":
				e.Detail = s
				continue
			case "code":
				e.Code = s
				continue
			}
			parts = append(parts, k+": "+s)
		case json.Unmarshal(v, &list) == nil:
			parts = append(parts, k+": "+strings.Join(list, " "))
		}
	}
	if e.Detail == "" {
		slices.Sort(parts)
		e.Detail = strings.Join(parts, "; ")
	}
	return e
}
