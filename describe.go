package tender

import "encoding/json"

// Describer is implemented by a connector that takes provider input on a
// payment's create request, or whose payment details the API shows in a
// shape of their own. The API decodes the input and encodes the details by
// it, and the OpenAPI description it serves includes its schemas, so that
// a new provider needs nothing in the API package.
type Describer interface {
	Describe() Description
}

// Description is how the API shows one connector's own data.
type Description struct {
	// Input is the name of the create request's object that carries the
	// connector's input ("invoice" for epay), "" when it takes none. The
	// object is stored as given in Payment.Input and checked by
	// ValidatePayment, whose errors name fields under this name
	// ("invoice.date"). The payment object echoes it under the same name.
	Input string
	// InputRequired says a payment of this connector cannot be made
	// without the input (ValidatePayment refuses it).
	InputRequired bool
	// InputDoc is one line for the API description of the input.
	InputDoc string
	// InputSchema is the JSON Schema (OpenAPI 3.1) of the input object.
	InputSchema json.RawMessage

	// DetailsSchema is the JSON Schema of a payment's details object for
	// this connector, as EncodeDetails renders it; nil describes details
	// as an object of strings.
	DetailsSchema json.RawMessage
	// EncodeDetails renders the stored details (Payment.Details) as the API
	// shows them; nil shows them as they are stored.
	EncodeDetails func(details map[string]string) map[string]any
	// Schemas are further named schemas that InputSchema or DetailsSchema
	// refer to ("#/components/schemas/<name>"). Names must start with the
	// connector's name in any case ("Epay...") so that providers never
	// collide.
	Schemas map[string]json.RawMessage
}
