package trustpayments

import (
	"encoding/json"
	"sort"

	"github.com/tenderpay/tender"
)

// Describe tells the API that a Trust Payments payment takes optional
// billing*/customer*/customfield*/locale fields as `trustpayments`, and
// what its details hold.
func (c *Connector) Describe() tender.Description {
	return tender.Description{
		Input:         "trustpayments",
		InputDoc:      "trustpayments: optional billing* and customer* (delivery) fields, customfield1-5 and locale, as the gateway names them.",
		InputSchema:   inputSchema(),
		DetailsSchema: json.RawMessage(detailsSchema),
	}
}

// inputSchema is built from the field table, so that the spec allows
// exactly what ExtraAllowed allows.
func inputSchema() json.RawMessage {
	type prop struct {
		Type      string `json:"type"`
		MaxLength int    `json:"maxLength,omitempty"`
	}
	props := map[string]prop{}
	var names []string
	for name, spec := range payloadFields {
		if ExtraAllowed(name) {
			props[name] = prop{Type: "string", MaxLength: spec.max}
			names = append(names, name)
		}
	}
	sort.Strings(names)
	b, _ := json.Marshal(map[string]any{
		"type":                 "object",
		"description":          "Trust Payments payload fields the merchant may set; values are strings. locale (en_GB, nl_NL, ...) sets the language of the library's own texts.",
		"properties":           props,
		"additionalProperties": false,
	})
	return b
}

const detailsSchema = `{
  "type": "object",
  "description": "trustpayments: what the gateway answered, by its own field names.",
  "properties": {
    "transactionreference": {"type": "string"},
    "settlestatus": {"type": "string", "description": "0 pending settlement, 1 manual, 2 suspended, 3 cancelled, 10 settling, 100 settled."},
    "settlebaseamount": {"type": "string"},
    "enrolled": {"type": "string", "description": "3-D Secure enrolment (Y, N, U)."},
    "status": {"type": "string", "description": "3-D Secure status."},
    "authcode": {"type": "string"},
    "paymenttypedescription": {"type": "string", "description": "Card brand, e.g. VISA."},
    "maskedpan": {"type": "string"},
    "errorcode": {"type": "string"},
    "errormessage": {"type": "string"},
    "refund_transactionreference": {"type": "string"}
  },
  "additionalProperties": {"type": "string"}
}`
