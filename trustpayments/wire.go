package trustpayments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Result is one element of a gateway "response" list (a processed request
// type) or one TRANSACTIONQUERY record. Every gateway value is a string
// (notes §0.5); errordata is a list of field names and records a list of
// results.
type Result struct {
	Fields    map[string]string
	ErrorData []string
	Records   []Result
}

// Get returns a field, "" if absent.
func (r Result) Get(name string) string { return r.Fields[name] }

// UnmarshalJSON reads a response element leniently: strings as they are,
// numbers and booleans as their literal text, errordata and records by
// shape; other values are ignored.
func (r *Result) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("trustpayments: response element is not an object")
	}
	r.Fields = make(map[string]string, len(m))
	for k, raw := range m {
		raw = bytes.TrimSpace(raw)
		switch k {
		case "errordata":
			var list []string
			if json.Unmarshal(raw, &list) == nil {
				r.ErrorData = list
			}
			continue
		case "records":
			if err := json.Unmarshal(raw, &r.Records); err != nil {
				return fmt.Errorf("trustpayments: records: %w", err)
			}
			continue
		}
		if len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			r.Fields[k] = s
		case '{', '[', 'n':
			// nested objects (e.g. wallet data) are not used by Tender
		default:
			r.Fields[k] = string(raw)
		}
	}
	return nil
}

// MarshalJSON writes the fields as strings, with errordata and records.
func (r Result) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Fields)+2)
	for k, v := range r.Fields {
		m[k] = v
	}
	if r.ErrorData != nil {
		m["errordata"] = r.ErrorData
	}
	if r.Records != nil {
		m["records"] = r.Records
	}
	return json.Marshal(m)
}

// Envelope is a Webservices JSON request (notes §6.2).
type Envelope struct {
	Alias                string           `json:"alias"`
	Version              string           `json:"version"`
	LibraryVersion       string           `json:"libraryversion,omitempty"`
	AcceptCustomerOutput string           `json:"acceptcustomeroutput,omitempty"`
	Request              []map[string]any `json:"request"`
}

// ResponseEnvelope is a Webservices JSON response (notes §6.3), and the
// payload of a /jwt/ response JWT (notes §4.2), which adds jwt.
type ResponseEnvelope struct {
	RequestReference string   `json:"requestreference"`
	Version          string   `json:"version"`
	JWT              string   `json:"jwt,omitempty"`
	Response         []Result `json:"response"`
	Secrand          string   `json:"secrand,omitempty"`
}

// Filter builds a TRANSACTIONQUERY/TRANSACTIONUPDATE filter: each field to
// a list of {"value": v} (notes §6.2).
func Filter(fields map[string]string) map[string]any {
	f := make(map[string]any, len(fields))
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f[k] = []map[string]string{{"value": fields[k]}}
	}
	return f
}

// FilterValues reads a filter field leniently: a list of {"value"} objects,
// or a single {"value", "symbol"} object (the PHP SDK's form, notes §6.2).
func FilterValues(raw json.RawMessage) ([]string, bool) {
	type item struct {
		Value *string `json:"value"`
	}
	var list []item
	if json.Unmarshal(raw, &list) != nil {
		var one item
		if json.Unmarshal(raw, &one) != nil {
			return nil, false
		}
		list = []item{one}
	}
	var out []string
	for _, it := range list {
		if it.Value == nil {
			return nil, false
		}
		out = append(out, *it.Value)
	}
	return out, len(out) > 0
}
