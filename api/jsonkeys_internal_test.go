package api

import (
	"testing"

	"github.com/tenderpay/tender"
)

type keysItem struct {
	Amount int64 `json:"amount"`
}

type KeysBase struct {
	Currency string `json:"currency"`
}

type keysRequest struct {
	KeysBase
	Items []keysItem          `json:"items"`
	Tags  [2]string           `json:"tags"`
	Note  string              `json:"note"`
	Extra map[string]keysItem `json:"extra"`
	Any   any                 `json:"any"`
}

// walkKeys follows arrays into their elements' types and reads every
// element, and knows an embedded struct only by the fields it promotes.
func TestCheckKeysArraysAndEmbedded(t *testing.T) {
	for _, tt := range []struct {
		body, param string // param "": accepted
	}{
		{`{"items":[{"amount":1},{"Amount":2}]}`, "items.Amount"},
		{`{"items":[{"amount":1},{"amount":2,"amount":3}]}`, "items.amount"},
		{`{"items":[{"amount":1},{"amount":2}],"note":"x","note":"y"}`, "note"},
		{`{"tags":["a","b"],"note":"x","note":"y"}`, "note"},
		{`{"items":[{"amount":1},{"amount":2}],"tags":["a","b"],"note":"x","currency":"EUR"}`, ""},
		{`{"Currency":"EUR"}`, "Currency"},
		{`{"extra":{"a":{"amount":1},"b":{"Amount":2}}}`, "extra.b.Amount"},
		{`{"any":{"x":{"Amount":1,"y":[{"z":1}]}}}`, ""},
		// Not a field of the request: the decoder's unknown-field check
		// reports it, not a case mismatch with the embedded type's name.
		{`{"keysbase":{}}`, ""},
	} {
		err := checkKeys([]byte(tt.body), &keysRequest{})
		var got string
		if e, ok := err.(*tender.Error); ok {
			got = e.Param
		} else if err != nil {
			t.Errorf("%s: %v, not a tender error", tt.body, err)
			continue
		}
		if got != tt.param {
			t.Errorf("%s: param %q (%v), want %q", tt.body, got, err, tt.param)
		}
	}
}
