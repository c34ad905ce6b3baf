package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/tenderpay/tender"
)

// specBase is the API description without any provider's own data; Spec
// adds each connector's input and details from its tender.Description.
//
//go:embed openapi.base.json
var specBase []byte

// Spec assembles the OpenAPI description of API v1 for the connectors
// described by descs (see engine.Describe): each input becomes a property
// of CreatePayment and Payment, each details schema applies to the
// payments of its connector. Its output for the four providers is the
// committed openapi.json (cmd/tender's TestOpenAPICommitted; regenerate
// with `go generate ./api`).
func Spec(descs map[string]tender.Description) ([]byte, error) {
	v, err := parseOrdered(specBase)
	if err != nil {
		return nil, fmt.Errorf("api: openapi.base.json: %w", err)
	}
	doc := v.(*object)
	schemas := doc.obj("components").obj("schemas")
	create, pay := schemas.obj("CreatePayment"), schemas.obj("Payment")
	var allOf []any
	var detailed []any
	inputs := map[string]string{}
	for _, name := range sortedKeys(descs) {
		d := descs[name]
		prefix := schemaPrefix(name)
		for sn, raw := range sortedSchemas(d.Schemas) {
			if !strings.HasPrefix(strings.ToLower(sn), strings.ToLower(prefix)) {
				return nil, fmt.Errorf("api: connector %s: schema name %q must start with %q", name, sn, prefix)
			}
			if err := addSchema(schemas, sn, raw); err != nil {
				return nil, fmt.Errorf("api: connector %s: %w", name, err)
			}
		}
		if d.Input != "" {
			if other, dup := inputs[d.Input]; dup {
				return nil, fmt.Errorf("api: connectors %s and %s both take input %q", other, name, d.Input)
			}
			if create.obj("properties").get(d.Input) != nil {
				return nil, fmt.Errorf("api: connector %s: input %q is already a field of the create request", name, d.Input)
			}
			inputs[d.Input] = name
			sn := prefix + "Input"
			if err := addSchema(schemas, sn, d.InputSchema); err != nil {
				return nil, fmt.Errorf("api: connector %s: %w", name, err)
			}
			in := newObject()
			in.set("anyOf", []any{ref(sn), typ("null")})
			doc := d.InputDoc
			if doc == "" {
				doc = name + ": the connector's input."
			}
			in.set("description", doc)
			create.obj("properties").set(d.Input, in)
			out := ref(sn)
			out.set("description", name+": the input, as given.")
			pay.obj("properties").set(d.Input, out)
		}
		if len(d.DetailsSchema) > 0 {
			sn := prefix + "Details"
			if err := addSchema(schemas, sn, d.DetailsSchema); err != nil {
				return nil, fmt.Errorf("api: connector %s: %w", name, err)
			}
			allOf = append(allOf, when(name, sn))
			detailed = append(detailed, name)
		}
	}
	// Other connectors' details are strings.
	strs := newObject()
	strs.obj("properties").obj("details").set("additionalProperties", typ("string"))
	rule := newObject()
	if len(detailed) > 0 {
		rule.obj("if").obj("properties").obj("connector").set("enum", detailed)
		rule.set("else", strs)
	} else {
		rule = strs
	}
	allOf = append(allOf, rule)
	pay.set("allOf", allOf)

	var buf bytes.Buffer
	if err := writeOrdered(&buf, doc, ""); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// when applies details schema sn to the payments of connector name.
func when(name, sn string) *object {
	o := newObject()
	o.obj("if").obj("properties").obj("connector").set("const", name)
	o.obj("then").obj("properties").set("details", ref(sn))
	return o
}

func addSchema(schemas *object, name string, raw json.RawMessage) error {
	if schemas.get(name) != nil {
		return fmt.Errorf("schema %s is defined twice", name)
	}
	if len(raw) == 0 {
		raw = json.RawMessage(`{"type":"object"}`)
	}
	v, err := parseOrdered(raw)
	if err != nil {
		return fmt.Errorf("schema %s: %w", name, err)
	}
	schemas.set(name, v)
	return nil
}

func ref(schema string) *object {
	o := newObject()
	o.set("$ref", "#/components/schemas/"+schema)
	return o
}

func typ(t string) *object {
	o := newObject()
	o.set("type", t)
	return o
}

// schemaPrefix names a connector's schemas: "trustpayments" → "Trustpayments".
func schemaPrefix(connector string) string {
	var b strings.Builder
	up := true
	for _, r := range connector {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedSchemas(m map[string]json.RawMessage) func(func(string, json.RawMessage) bool) {
	return func(yield func(string, json.RawMessage) bool) {
		for _, k := range sortedKeys(m) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
