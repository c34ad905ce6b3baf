package computop

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"ans..30", Format{ClassANS, 30, false}},
		{"a3", Format{ClassA, 3, true}},
		{"an64", Format{ClassAN, 64, true}},
		{"n..10", Format{ClassN, 10, false}},
		{"as..5", Format{ClassAS, 5, false}},
		{"ns..12", Format{ClassNS, 12, false}},
		{"ans", Format{ClassANS, 0, false}},
	} {
		got, err := ParseFormat(tc.in)
		if err != nil || got != tc.want || got.String() != tc.in {
			t.Errorf("%s: %+v %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"x..3", "an..", "an..0", "a-3", "..3", "ans..3x"} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Every class and length rule of the seed's "Data formats" table, good and bad.
func TestFormatCheck(t *testing.T) {
	for _, tc := range []struct {
		format string
		value  string
		want   Rule
	}{
		{"a3", "EUR", ""},
		{"a3", "EU1", RuleFormat},
		{"a3", "EU", RuleTooShort},
		{"a3", "EURO", RuleTooLong},
		{"a3", "EÜR", RuleFormat},
		{"a..7", "encrypt", ""},
		{"a..7", "en-rypt", RuleFormat},
		{"as..10", "Jean-Luc", ""},
		{"as..10", "Jean-Luc 2", RuleFormat},
		{"as..10", "Müller", ""},
		{"n..10", "1999", ""},
		{"n..10", "19.99", RuleFormat},
		{"n..10", "-1", RuleFormat},
		{"n..10", "12345678901", RuleTooLong},
		{"n..10", "１２", RuleFormat}, // full-width digits
		{"an32", "8f2c1e9a4b7d4c0e9a1b2c3d4e5f6071", ""},
		{"an32", "8f2c1e9a-b7d4c0e9a1b2c3d4e5f6071", RuleFormat},
		{"an32", "8f2c1e9a4b7d4c0e9a1b2c3d4e5f607", RuleTooShort},
		{"an..6", "ED", ""},
		{"an..6", "E D", RuleFormat},
		{"ans..30", "ORDER-10001 / x", ""},
		{"ans..30", "Straße 1", ""},
		{"ans..30", "tab\there", RuleFormat},
		{"ans..30", "nul\x00", RuleFormat},
		{"ans..30", strings.Repeat("x", 31), RuleTooLong},
		{"ans..5", "äöüßé", ""}, // characters, not bytes
		{"ans..4", "äöüßé", RuleTooLong},
		{"ans..5", "a\xffb", RuleFormat}, // not UTF-8
		{"ns..10", "+49 30-1", ""},
		{"ns..10", "+49 30 A", RuleFormat},
	} {
		f, err := ParseFormat(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.check(tc.value); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.format, tc.value, got, tc.want)
		}
	}
}

func fixtureRequest(t *testing.T) Params {
	ps, err := ParseParams(f1Plain)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestValidateWeroRequest(t *testing.T) {
	// The F1 fixture is a valid request, strictly.
	if err := SpecWero.Validate(fixtureRequest(t), true); err != nil {
		t.Fatalf("F1: %v", err)
	}
	set := func(ps Params, key, v string) Params {
		out := append(Params(nil), ps...)
		for i := range out {
			if strings.EqualFold(out[i].Key, key) {
				out[i].Value = v
				return out
			}
		}
		return append(out, Param{key, v})
	}
	drop := func(ps Params, key string) Params {
		var out Params
		for _, p := range ps {
			if !strings.EqualFold(p.Key, key) {
				out = append(out, p)
			}
		}
		return out
	}
	base := fixtureRequest(t)
	for _, tc := range []struct {
		name  string
		ps    Params
		field string
		rule  Rule
	}{
		{"MerchantID missing", drop(base, "MerchantID"), "MerchantID", RuleMissing},
		{"MerchantID too long", set(base, "MerchantID", strings.Repeat("M", 31)), "MerchantID", RuleTooLong},
		{"TransID too long", set(base, "TransID", strings.Repeat("T", 65)), "TransID", RuleTooLong},
		{"TransID empty", set(base, "TransID", ""), "TransID", RuleEmpty},
		{"refnr too long", set(base, "RefNr", strings.Repeat("r", 31)), "refnr", RuleTooLong},
		{"Amount decimal", set(base, "Amount", "19.99"), "Amount", RuleFormat},
		{"Amount 11 digits", set(base, "Amount", "12345678901"), "Amount", RuleTooLong},
		{"Amount missing", drop(base, "Amount"), "Amount", RuleMissing},
		{"Currency numeric", set(base, "Currency", "978"), "Currency", RuleFormat},
		{"Currency short", set(base, "Currency", "EU"), "Currency", RuleTooShort},
		{"MAC short", set(base, "MAC", "ABC"), "MAC", RuleTooShort},
		{"MAC not hex alnum", set(base, "MAC", strings.Repeat("-", 64)), "MAC", RuleFormat},
		{"MAC missing", drop(base, "MAC"), "MAC", RuleMissing},
		{"OrderDesc too long", set(base, "OrderDesc", strings.Repeat("o", 769)), "OrderDesc", RuleTooLong},
		{"URLSuccess missing", drop(base, "URLSuccess"), "URLSuccess", RuleMissing},
		{"URLFailure too long", set(base, "URLFailure", "https://x/"+strings.Repeat("f", 247)), "URLFailure", RuleTooLong},
		{"URLNotify missing", drop(base, "URLNotify"), "URLNotify", RuleMissing},
		{"Response too long", set(base, "Response", "encrypted"), "Response", RuleTooLong},
		{"UserData too long", set(base, "UserData", strings.Repeat("u", 1025)), "UserData", RuleTooLong},
		{"ReqId too long", set(base, "ReqId", strings.Repeat("q", 33)), "ReqId", RuleTooLong},
		{"PayType too long", set(base, "PayType", "EDEDEDE"), "PayType", RuleTooLong},
		{"PayType special", set(base, "PayType", "E-D"), "PayType", RuleFormat},
		{"ChDesc missing", drop(base, "ChDesc"), "ChDesc", RuleMissing},
		{"ChDesc too long", set(base, "ChDesc", strings.Repeat("c", 36)), "ChDesc", RuleTooLong},
		{"bdFirstName missing", drop(base, "bdFirstName"), "bdFirstName", RuleMissing},
		{"bdLastName too long", set(base, "bdLastName", strings.Repeat("l", 26)), "bdLastName", RuleTooLong},
		{"bdStreet missing", drop(base, "bdStreet"), "bdStreet", RuleMissing},
		{"bdCity too long", set(base, "bdCity", strings.Repeat("c", 41)), "bdCity", RuleTooLong},
		{"bdZIP too long", set(base, "bdZIP", "12345678901"), "bdZIP", RuleTooLong},
		{"bdCountryCode 3 letters", set(base, "bdCountryCode", "DEU"), "bdCountryCode", RuleTooLong},
		{"bdCountryCode digits", set(base, "bdCountryCode", "49"), "bdCountryCode", RuleFormat},
		{"bdState too long", set(base, "bdState", strings.Repeat("s", 41)), "bdState", RuleTooLong},
		{"sdState too long", set(base, "sdState", strings.Repeat("s", 31)), "sdState", RuleTooLong},
		{"sdCountryCode short", set(base, "sdCountryCode", "D"), "sdCountryCode", RuleTooShort},
		{"Plain too long", set(base, "Plain", strings.Repeat("p", 51)), "Plain", RuleTooLong},
		{"Custom too long", set(base, "Custom", strings.Repeat("c", 1025)), "Custom", RuleTooLong},
		{"Amount twice", append(append(Params(nil), base...), Param{"amount", "1"}), "Amount", RuleDuplicate},
		{"control character", set(base, "OrderDesc", "a\nb"), "OrderDesc", RuleFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SpecWero.Validate(tc.ps, false)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Rule != tc.rule {
				t.Fatalf("got %v", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error does not name the field: %v", err)
			}
		})
	}
	// Unknown keys: tolerated by Paygate, refused when Tender is strict.
	extra := append(append(Params(nil), base...), Param{"Language", "de"})
	if err := SpecWero.Validate(extra, false); err != nil {
		t.Errorf("lenient: %v", err)
	}
	var fe *FieldError
	if err := SpecWero.Validate(extra, true); !errors.As(err, &fe) || fe.Rule != RuleUnknown {
		t.Errorf("strict: %v", err)
	}
}

func TestValidateActions(t *testing.T) {
	for _, tc := range []struct {
		spec  *Spec
		plain string
	}{
		{&SpecCapture, f3Plain},
		{&SpecReverse, f5Plain},
	} {
		ps, _ := ParseParams(tc.plain)
		if err := tc.spec.Validate(ps, true); err != nil {
			t.Errorf("%s: %v", tc.spec.Name, err)
		}
		bad := append(Params(nil), ps...)
		bad[1].Value = "short" // PayID an32
		if err := tc.spec.Validate(bad, true); err == nil {
			t.Errorf("%s: bad PayID accepted", tc.spec.Name)
		}
	}
	for _, tc := range []struct {
		spec  *Spec
		plain string
	}{
		{&SpecWeroResult, f2Plain}, {&SpecWeroResult, f6Plain}, {&SpecActionResult, f4Plain},
	} {
		ps, _ := ParseParams(tc.plain)
		if m := tc.spec.Missing(ps); m != "" {
			t.Errorf("%s: missing %s", tc.spec.Name, m)
		}
		if m := tc.spec.Missing(ps[1:]); m != "mid" {
			t.Errorf("%s: missing mid not found: %q", tc.spec.Name, m)
		}
	}
}

func TestKindOf(t *testing.T) {
	for code, want := range map[string]CodeKind{
		"00000000": KindOK, "00000001": KindError, "22060200": KindError, "4010000A": KindFatal,
		"60000000": KindPending, "0000000": KindMalformed, "X0000000": KindMalformed,
	} {
		if got := KindOf(code); got != want {
			t.Errorf("%s: %c", code, got)
		}
	}
}

func TestReqIDAndChDesc(t *testing.T) {
	if ReqID("op_01HZX") != "op_01HZX" {
		t.Error("short id changed")
	}
	long := ReqID(strings.Repeat("k", 40))
	if len(long) != 32 || long != ReqID(strings.Repeat("k", 40)) || long == ReqID(strings.Repeat("k", 41)) {
		t.Errorf("long id: %q", long)
	}
	if r := ReqID("a b"); len(r) != 32 || r[0] != 'h' {
		t.Errorf("special id: %q", r)
	}
	if got := ChDesc("Bestellung Nr. 42 – Müller & Söhne <GmbH> " + strings.Repeat("x", 30)); got != "Bestellung Nr. 42  Mueller  Soehne" {
		t.Errorf("ChDesc: %q", got)
	}
}
