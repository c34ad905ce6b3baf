package trustpayments

import (
	"encoding/json"
	"testing"

	"github.com/tenderpay/tender"
)

// TestCheckoutLocale: a payment's metadata.locale gives st.js its locale
// in the request payload, unless the merchant set trustpayments.locale.
func TestCheckoutLocale(t *testing.T) {
	for _, tc := range []struct {
		meta, input, want string
	}{
		{"nl-NL", "", "nl_NL"}, {"el", "", "el_GR"}, {"fr-BE", "", "fr_FR"}, {"ja-JP", "", "en_GB"},
		{"de-DE", `{"locale":"en_US"}`, "en_US"}, {"", "", ""},
	} {
		p := &tender.Payment{Metadata: map[string]string{"locale": tc.meta}}
		if tc.input != "" {
			p.Input = json.RawMessage(tc.input)
		}
		m, err := extraOf(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := m["locale"]; got != tc.want {
			t.Errorf("metadata %q, input %q: locale %q, want %q", tc.meta, tc.input, got, tc.want)
		}
	}
}
