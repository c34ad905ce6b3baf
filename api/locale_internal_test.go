package api

import "testing"

// TestMoneyFormats: amounts as each language writes them.
func TestMoneyFormats(t *testing.T) {
	for _, tc := range []struct{ lang, cur, want string }{
		{"en", "EUR", "€10.50"}, {"nl", "EUR", "€\u00a010,50"}, {"de", "EUR", "10,50\u00a0€"},
		{"fr", "EUR", "10,50\u00a0€"}, {"el", "EUR", "10,50\u00a0€"}, {"en", "GBP", "£10.50"}, {"de", "SEK", "10,50\u00a0kr"},
	} {
		if got := pageWords[tc.lang].money(1050, tc.cur); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.lang, tc.cur, got, tc.want)
		}
	}
	if got := pageWords["en"].money(100, "JPY"); got != "¥100" {
		t.Errorf("JPY: %q", got)
	}
}
