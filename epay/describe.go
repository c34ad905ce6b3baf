package epay

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tenderpay/tender"
)

// Describe tells the API that an epay payment takes the Greek invoice it
// pays as `invoice`, and that its details carry the myDATA block as an
// object (`details.mydata`), ready to copy into the invoice's
// paymentMethodDetails.
func (c *Connector) Describe() tender.Description {
	return tender.Description{
		Input:         "invoice",
		InputRequired: true,
		InputDoc:      "epay: the Greek invoice the payment pays (see epay/README.md).",
		InputSchema:   json.RawMessage(invoiceSchema),
		DetailsSchema: json.RawMessage(detailsSchema),
		EncodeDetails: EncodeDetails,
		Schemas:       map[string]json.RawMessage{"EpayMyDATA": json.RawMessage(myDATASchema)},
	}
}

// EncodeDetails renders stored details as the API shows them: the
// mydata_* keys become the object `mydata`; every other key stays a
// string.
func EncodeDetails(d map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range d {
		if k == DetailMyDATA || strings.HasPrefix(k, "mydata_") {
			continue // in the block below (DetailMyDATA is its old JSON text)
		}
		out[k] = v
	}
	if d[DetailMyDATASignature] == "" && d[DetailMyDATAPOSInput] == "" && d[DetailMyDATATransactionID] == "" {
		return out
	}
	m := map[string]any{
		"amount":     d[DetailMyDATAAmount],
		"tip_amount": d[DetailMyDATATip],
		"tid":        d[DetailMyDATATID],
		"providers_signature": map[string]any{
			"signing_author": d[DetailMyDATASigningAuthor],
			"signature":      d[DetailMyDATASignature],
		},
		"pos_input": d[DetailMyDATAPOSInput],
	}
	if t, err := strconv.Atoi(d[DetailMyDATAType]); err == nil {
		m["type"] = t
	}
	if id := d[DetailMyDATATransactionID]; id != "" {
		m["transaction_id"] = id
	}
	out["mydata"] = m
	return out
}

const invoiceSchema = `{
  "type": "object",
  "description": "The invoice the payment pays, which Impact signs for AADE myDATA. Amounts in cents.",
  "properties": {
    "issuer_vat": {"type": "string", "description": "The issuer's 9-digit Greek VAT number (an EL prefix is allowed)."},
    "date": {"type": "string", "format": "date", "description": "Issue date, YYYY-MM-DD."},
    "branch": {"type": "integer", "minimum": 0, "description": "AADE branch number (0 for the head office)."},
    "type": {"type": "string", "pattern": "^[0-9]{1,2}\\.[0-9]{1,2}$", "description": "AADE invoice type, e.g. 11.1."},
    "series": {"type": "string", "minLength": 1, "maxLength": 50},
    "number": {"type": ["string", "integer"], "description": "The invoice number (a string or an integer)."},
    "net_amount": {"type": "integer", "minimum": 0},
    "vat_amount": {"type": "integer", "minimum": 0},
    "total_amount": {"type": "integer", "minimum": 0, "description": "net_amount + vat_amount."},
    "mark": {"type": ["string", "integer"], "description": "The myDATA MARK of an invoice issued before it is paid (deferred payment)."},
    "tip_amount": {"type": "integer", "minimum": 0, "description": "A tip the terminal adds, included in the payment's amount."}
  },
  "required": ["issuer_vat", "date", "branch", "type", "series", "number", "net_amount", "vat_amount", "total_amount"],
  "additionalProperties": false
}`

const myDATASchema = `{
  "type": "object",
  "description": "The myDATA paymentMethodDetails of the payment (decimal euro amounts, as myDATA takes them). transaction_id appears once the terminal has approved.",
  "properties": {
    "type": {"type": "integer", "description": "Payment method type: 7 (card, POS), 8 (IRIS)."},
    "amount": {"type": "string", "description": "The payable amount in euros, e.g. 12.40."},
    "tip_amount": {"type": "string", "description": "The tip in euros, e.g. 0.00."},
    "transaction_id": {"type": "string", "description": "The AADE unique payment id (21 characters)."},
    "tid": {"type": "string", "description": "The terminal id (Impact terminalId)."},
    "providers_signature": {
      "type": "object",
      "properties": {
        "signing_author": {"type": "string", "description": "The provider's id at AADE."},
        "signature": {"type": "string", "description": "The provider's signature of pos_input."}
      },
      "required": ["signing_author", "signature"],
      "additionalProperties": false
    },
    "pos_input": {"type": "string", "description": "The signed clear text (Impact posInput)."}
  },
  "required": ["type", "amount", "tip_amount", "tid", "providers_signature", "pos_input"],
  "additionalProperties": false
}`

const detailsSchema = `{
  "type": "object",
  "description": "epay: the myDATA block and the card details of the host transaction record.",
  "properties": {
    "mydata": {"$ref": "#/components/schemas/EpayMyDATA"},
    "invoice_uid": {"type": "string", "description": "The invoice's AADE UID."},
    "intent_id": {"type": "string"},
    "rrn": {"type": "string"},
    "auth_code": {"type": "string"},
    "masked_pan": {"type": "string"},
    "card_type": {"type": "string"},
    "stan": {"type": "string"},
    "mid": {"type": "string"},
    "batch_number": {"type": "string"},
    "host_response_code": {"type": "string"},
    "amount": {"type": "string", "description": "What the terminal took, when not the payment's amount (euros)."},
    "tip_amount": {"type": "string", "description": "The tip the terminal added (euros)."},
    "void_transaction_id": {"type": "string"},
    "last_refund_transaction_id": {"type": "string", "description": "The AADE transaction id of the last refund, for the credit note."},
    "completion_intent_id": {"type": "string"}
  },
  "additionalProperties": {"type": "string", "description": "refund_<intent id>_transaction_id and _amount per refund."}
}`
