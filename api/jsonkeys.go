package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/tenderpay/tender"
)

// checkKeys refuses what encoding/json would read differently from other
// parsers: a key that appears twice in one object (encoding/json keeps the
// last, many parsers the first, so {"amount":1050,"amount":1} means two
// payments to two readers), and a key that matches a field of v only when
// case is ignored ({"amount":1050,"Amount":1}). It walks the whole body,
// nested objects and raw fields (provider input passed on as is) included.
// A malformed body is left to the decoder to report.
func checkKeys(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := walkKeys(dec, reflect.TypeOf(v), "")
	if _, ok := err.(*tender.Error); ok {
		return err
	}
	return nil
}

// walkKeys reads one JSON value from dec; t is the Go type it decodes into
// (nil when unknown: only duplicates are checked then).
func walkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		t = nil
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		fields := jsonFields(t)
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			name := join(path, key)
			if seen[key] {
				return tender.Invalid(name, "%s appears more than once in the same object", name)
			}
			seen[key] = true
			var sub reflect.Type
			switch {
			case fields != nil:
				if ft, ok := fields[key]; ok {
					sub = ft
				} else {
					for f := range fields {
						if strings.EqualFold(f, key) {
							return tender.Invalid(name, "unknown field %q (the field is %q: names are case-sensitive)", key, f)
						}
					}
				}
			case t != nil && t.Kind() == reflect.Map:
				sub = t.Elem()
			}
			if err := walkKeys(dec, sub, name); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, elem, path); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields to their types; nil
// if t is not a struct.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	m := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
