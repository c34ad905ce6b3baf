package sepay

import (
	"encoding/json"

	"github.com/tenderpay/tender"
)

// Describe tells the API what a Sepay payment's details hold; Sepay takes
// no input of its own.
func (c *Connector) Describe() tender.Description {
	return tender.Description{DetailsSchema: json.RawMessage(detailsSchema)}
}

const detailsSchema = `{
  "type": "object",
  "description": "sepay: the terminal's answer.",
  "properties": {
    "sid": {"type": "string", "description": "The terminal's SID."},
    "transactionref": {"type": "string"},
    "terminal_ip": {"type": "string"},
    "terminal_port": {"type": "string"},
    "brand": {"type": "string", "description": "Card brand."},
    "transaction_time": {"type": "string"},
    "transaction_error": {"type": "string"},
    "transaction_result": {"type": "string"},
    "amount": {"type": "string", "description": "What the terminal took, when not the payment's amount."}
  },
  "additionalProperties": {"type": "string"}
}`
