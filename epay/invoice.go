package epay

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// Invoice is the `invoice` object of POST /v1/payments for epay
// (tender.Payment.Input): the document the payment pays, which Impact signs.
// Amounts are in cents.
type Invoice struct {
	IssuerVAT   string `json:"issuer_vat"`
	Date        string `json:"date"` // YYYY-MM-DD
	Branch      *int   `json:"branch"`
	Type        string `json:"type"` // AADE invoice type, e.g. "11.1"
	Series      string `json:"series"`
	Number      StrID  `json:"number"`
	NetAmount   *int64 `json:"net_amount"`
	VATAmount   *int64 `json:"vat_amount"`
	TotalAmount *int64 `json:"total_amount"`
	// Mark is the myDATA MARK of an invoice issued before it is paid
	// (deferred payment); empty for a simultaneous payment.
	Mark StrID `json:"mark,omitempty"`
	// TipAmount is the tip the POS asks the terminal to add, in cents.
	// The payment's amount includes it: amount = payable + tip, and the
	// signed payable is amount − tip (tipInSignedPayable).
	TipAmount *int64 `json:"tip_amount,omitempty"`
}

// Tip returns the tip the POS asked for (0 when none).
func (in *Invoice) Tip() int64 {
	if in.TipAmount == nil {
		return 0
	}
	return *in.TipAmount
}

// Payable returns the payable amount of a payment of amount: the amount
// the provider signs and the terminal's intent Amount (notes §5.5).
func (in *Invoice) Payable(amount int64) int64 {
	if tipInSignedPayable {
		return amount
	}
	return amount - in.Tip()
}

// Key returns what identifies the invoice to AADE.
func (in *Invoice) Key() InvoiceKey {
	return InvoiceKey{IssuerVAT: in.vat(), Date: in.Date, Branch: *in.Branch, Type: in.Type, Series: in.Series, Number: string(in.Number)}
}

// UID returns the invoice's AADE UID.
func (in *Invoice) UID() string { return UID(in.Key()) }

func (in *Invoice) vat() string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(in.IssuerVAT)), "EL")
}

// ParseInvoice decodes and validates the invoice of a payment of amount
// cents (the payable amount plus the tip asked for, if any). Errors name the field ("invoice.net_amount").
func ParseInvoice(raw json.RawMessage, amount int64) (*Invoice, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, tender.Invalid("invoice", "an epay payment needs the invoice it pays (issuer_vat, date, branch, type, series, number, net_amount, vat_amount, total_amount)")
	}
	var in Invoice
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, tender.Invalid("invoice", "invoice is not a valid object: %s", jsonProblem(err))
	}
	if vat := in.vat(); len(vat) != 9 || !allDigits(vat) {
		return nil, tender.Invalid("invoice.issuer_vat", "issuer_vat must be the issuer's 9-digit Greek VAT number")
	}
	if _, err := time.Parse("2006-01-02", in.Date); err != nil || len(in.Date) != 10 {
		return nil, tender.Invalid("invoice.date", "date must be the issue date as YYYY-MM-DD")
	}
	if in.Branch == nil || *in.Branch < 0 {
		return nil, tender.Invalid("invoice.branch", "branch must be the AADE branch number (0 for the head office)")
	}
	if !validInvoiceType(in.Type) {
		return nil, tender.Invalid("invoice.type", "type must be an AADE invoice type such as 11.1")
	}
	for _, f := range []struct{ name, v string }{{"series", in.Series}, {"number", string(in.Number)}} {
		if strings.TrimSpace(f.v) == "" || len(f.v) > 50 {
			return nil, tender.Invalid("invoice."+f.name, "%s is required (at most 50 characters)", f.name)
		}
	}
	for _, f := range []struct {
		name string
		v    *int64
	}{{"net_amount", in.NetAmount}, {"vat_amount", in.VATAmount}, {"total_amount", in.TotalAmount}} {
		if f.v == nil || *f.v < 0 || *f.v > tender.MaxAmount {
			return nil, tender.Invalid("invoice."+f.name, "%s is required, in cents, not negative", f.name)
		}
	}
	if *in.NetAmount+*in.VATAmount != *in.TotalAmount {
		return nil, tender.Invalid("invoice.total_amount", "total_amount must equal net_amount + vat_amount")
	}
	if in.TipAmount != nil && (*in.TipAmount < 0 || *in.TipAmount >= amount) {
		return nil, tender.Invalid("invoice.tip_amount", "tip_amount must be in cents, not negative, and less than the payment amount (which includes it)")
	}
	if payable := in.Payable(amount); payable <= 0 || payable > *in.TotalAmount {
		return nil, tender.Invalid("amount", "the payment amount less the tip (the payable amount) must be positive and at most the invoice's total_amount")
	}
	if in.Mark != "" && (!allDigits(string(in.Mark)) || len(in.Mark) > 18) {
		return nil, tender.Invalid("invoice.mark", "mark must be the invoice's myDATA MARK (digits)")
	}
	return &in, nil
}

func validInvoiceType(t string) bool {
	a, b, ok := strings.Cut(t, ".")
	return ok && a != "" && b != "" && len(a) <= 2 && len(b) <= 2 && allDigits(a) && allDigits(b)
}

func jsonProblem(err error) string {
	var ute *json.UnmarshalTypeError
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		ute = e
		return "field " + ute.Field + " has the wrong type"
	}
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed JSON"
}
