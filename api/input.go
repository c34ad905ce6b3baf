package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tenderpay/tender"
)

// providers is what the API knows of its connectors' own data, from their
// tender.Description: which create request field is whose input, and how
// each shows its details.
type providers struct {
	desc   map[string]tender.Description // by connector name
	inputs map[string]string             // input field → connector name
}

func newProviders(descs map[string]tender.Description) providers {
	p := providers{desc: descs, inputs: map[string]string{}}
	for name, d := range descs {
		if d.Input != "" {
			p.inputs[d.Input] = name
		}
	}
	return p
}

// splitInput takes the connectors' input objects out of a create
// request's body: it returns the rest of the body, for the strict decoder,
// and the one input given (its field name and value as sent). Keys that
// match an input field only when case is ignored, two inputs, and an input
// that is not an object are errors naming the field.
func (ps providers) splitInput(body []byte) (rest []byte, field string, input json.RawMessage, err error) {
	if len(ps.inputs) == 0 || len(bytes.TrimSpace(body)) == 0 {
		return body, "", nil, nil
	}
	if err := checkKeys(body, &createPaymentRequest{}); err != nil {
		return nil, "", nil, err
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return body, "", nil, nil // not an object: the decoder says what is wrong
	}
	found := false
	for k, v := range top {
		if _, ok := ps.inputs[k]; !ok {
			for in := range ps.inputs {
				if strings.EqualFold(in, k) {
					return nil, "", nil, tender.Invalid(k, "unknown field %q (the field is %q: names are case-sensitive)", k, in)
				}
			}
			continue
		}
		found = true
		delete(top, k)
		if string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		if field != "" {
			a, b := min(field, k), max(field, k)
			return nil, "", nil, tender.Invalid(b, "give only one provider object (%s or %s)", a, b)
		}
		if v = bytes.TrimSpace(v); len(v) == 0 || v[0] != '{' {
			return nil, "", nil, tender.Invalid(k, "%s must be an object", k)
		}
		field, input = k, v
	}
	if !found {
		return body, "", nil, nil
	}
	rest, err = json.Marshal(top)
	return rest, field, input, err
}

// checkInput checks that the input given is the one of the payment's
// connector, when the request names it.
func (ps providers) checkInput(field, connector string) error {
	if field == "" || connector == "" {
		return nil
	}
	if ps.desc[connector].Input != field {
		return tender.Invalid(field, "%s is not input of connector %q", field, connector)
	}
	return nil
}

// payment renders p as the API shows it: with its connector's input under
// the connector's name for it and its details as the connector encodes them.
func (ps providers) payment(p *tender.Payment) payment {
	out := basePayment(p)
	d := ps.desc[p.Connector]
	if len(p.Input) > 0 && d.Input != "" {
		out.inputField, out.input = d.Input, p.Input
	}
	if d.EncodeDetails != nil && len(p.Details) > 0 {
		out.Details = d.EncodeDetails(p.Details)
	}
	return out
}

// MarshalJSON adds the connector's input, whose field name only the
// connector knows, to the payment object.
func (p payment) MarshalJSON() ([]byte, error) {
	type plain payment
	b, err := json.Marshal(plain(p))
	if err != nil || p.inputField == "" {
		return b, err
	}
	var in bytes.Buffer
	if err := json.Compact(&in, p.input); err != nil {
		return nil, err
	}
	name, _ := json.Marshal(p.inputField)
	out := make([]byte, 0, len(b)+len(name)+in.Len()+2)
	out = append(out, b[:len(b)-1]...)
	out = append(out, ',')
	out = append(out, name...)
	out = append(out, ':')
	out = append(out, in.Bytes()...)
	return append(out, '}'), nil
}
