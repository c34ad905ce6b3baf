package tender

import (
	"strings"
	"testing"
)

// DerivedID is the same on every instance and every version (two may
// create one subscription charge; the store keeps one by this id): pinned
// to vectors computed apart from this code (SHA-256, the first two 64-bit
// words big-endian, five bits at a time from the low end into Crockford
// base 32).
func TestDerivedIDVectors(t *testing.T) {
	for key, want := range map[string]string{
		"sub_1/charge/2": "pay0cy4hez25e8ehd3hac4b",
		"":               "paym07rfca84649ezpc2smz",
	} {
		if got := DerivedID("pay", key); got != want {
			t.Errorf("DerivedID(pay, %q) = %s, want %s", key, got, want)
		}
	}
	if a, b := DerivedID("pay", "k1"), DerivedID("pay", "k2"); a == b || len(a) != len("pay")+20 {
		t.Fatalf("%s %s", a, b)
	}
}

func TestParseLocale(t *testing.T) {
	for in, want := range map[string]string{"": "", "nl": "nl", "NL": "nl", "nl-nl": "nl-NL", "el_GR": "el-GR", "fr-CA": "fr-CA", "en-419": "en-419"} {
		got, err := ParseLocale("locale", in)
		if err != nil || got != want {
			t.Errorf("ParseLocale(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"es", "es-ES", "nl-", "nl-NLD", "english", "n", "nl-N1"} {
		_, err := ParseLocale("locale", in)
		if err == nil || !strings.Contains(err.Error(), "locale must be one of en, nl, de, fr, el") || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseLocale(%q): %v", in, err)
		}
		if e, ok := err.(*Error); !ok || e.Param != "locale" {
			t.Errorf("ParseLocale(%q): the error names no field: %#v", in, err)
		}
	}
}

func TestMerchantOrAndEventID(t *testing.T) {
	if MerchantOr("") != DefaultMerchant || MerchantOr("mer_1") != "mer_1" {
		t.Fatal("MerchantOr")
	}
	if EventID(42) != "evt_42" {
		t.Fatal(EventID(42))
	}
}
