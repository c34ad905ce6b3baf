package trustpayments

import (
	"encoding/json"
	"testing"

	"github.com/tenderpay/tender"
)

// TestCheckoutLocale: the op's locale (the payment's, else its merchant's
// default) gives st.js its locale in the request payload, unless the
// merchant set trustpayments.locale.
func TestCheckoutLocale(t *testing.T) {
	for _, tc := range []struct {
		meta, input, want string
	}{
		{"nl-NL", "", "nl_NL"}, {"el", "", "el_GR"}, {"fr-BE", "", "fr_FR"}, {"ja-JP", "", "en_GB"},
		{"de-DE", `{"locale":"en_US"}`, "en_US"}, {"", "", ""},
	} {
		p := &tender.Payment{}
		if tc.input != "" {
			p.Input = json.RawMessage(tc.input)
		}
		m, err := extraOf(p, tc.meta)
		if err != nil {
			t.Fatal(err)
		}
		if got := m["locale"]; got != tc.want {
			t.Errorf("locale %q, input %q: locale %q, want %q", tc.meta, tc.input, got, tc.want)
		}
	}
}
