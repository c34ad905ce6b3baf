package computop

import (
	"encoding/json"

	"github.com/tenderpay/tender"
)

// Describe tells the API that a Wero payment takes the shopper's billing
// address (and optionally shipping and a soft descriptor) as `computop`,
// and what its details hold.
func (c *Connector) Describe() tender.Description {
	return tender.Description{
		Input:         "computop",
		InputRequired: true,
		InputDoc:      "computop: the Wero shopper's billing (required), shipping, ch_desc.",
		InputSchema:   json.RawMessage(inputSchema),
		DetailsSchema: json.RawMessage(detailsSchema),
		Schemas:       map[string]json.RawMessage{"ComputopAddress": json.RawMessage(addressSchema)},
	}
}

const inputSchema = `{
  "type": "object",
  "properties": {
    "billing": {"$ref": "#/components/schemas/ComputopAddress"},
    "shipping": {"$ref": "#/components/schemas/ComputopAddress"},
    "ch_desc": {"type": "string", "description": "The soft descriptor on the shopper's statement (default: from the reference)."}
  },
  "required": ["billing"],
  "additionalProperties": false
}`

const addressSchema = `{
  "type": "object",
  "description": "A Wero shopper's address (Latin letters; others are transliterated).",
  "properties": {
    "first_name": {"type": "string"},
    "last_name": {"type": "string"},
    "street": {"type": "string"},
    "address_addition": {"type": "string"},
    "city": {"type": "string"},
    "zip": {"type": "string"},
    "country_code": {"type": "string", "description": "ISO 3166-1 alpha-2."},
    "state": {"type": "string"}
  },
  "required": ["first_name", "last_name", "street", "city", "zip"],
  "additionalProperties": false
}`

const detailsSchema = `{
  "type": "object",
  "description": "computop: Paygate's ids for the payment and its operations.",
  "properties": {
    "pay_id": {"type": "string", "description": "Paygate's PayID."},
    "xid": {"type": "string", "description": "Paygate's XID of the last answer."},
    "code": {"type": "string", "description": "Paygate's result code (8 hex digits)."},
    "last_capture_xid": {"type": "string"},
    "reversal_xid": {"type": "string"},
    "last_refund_xid": {"type": "string"}
  },
  "additionalProperties": {"type": "string"}
}`
