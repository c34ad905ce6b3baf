package tender

import (
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, cur string
		want    int64
		err     string
	}{
		{"10.50", "EUR", 1050, ""},
		{"10.5", "EUR", 1050, ""},
		{"10", "EUR", 1000, ""},
		{"0.01", "EUR", 1, ""},
		{"1050", "JPY", 1050, ""},
		{"1.234", "KWD", 1234, ""},
		{"10.505", "EUR", 0, "more than 2 decimals"},
		{"10.5", "JPY", 0, "more than 0 decimals"},
		{"-1.00", "EUR", 0, "not a decimal"},
		{"+1.00", "EUR", 0, "not a decimal"},
		{"1e3", "EUR", 0, "not a decimal"},
		{"1,00", "EUR", 0, "not a decimal"},
		{" 1.00", "EUR", 0, "not a decimal"},
		{".50", "EUR", 0, "not a decimal"},
		{"1.", "EUR", 0, "not a decimal"},
		{"", "EUR", 0, "not a decimal"},
		{"99999999999999999999", "EUR", 0, "too large"},
		{"1.00", "XXX", 0, "ISO 4217"},
		{"1.00", "eur", 0, "ISO 4217"},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in, tt.cur)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAmount(%q, %s) error = %v, want %q", tt.in, tt.cur, err, tt.err)
			}
			continue
		}
		if err != nil || got.Value != tt.want || got.Currency != tt.cur {
			t.Errorf("ParseAmount(%q, %s) = %v, %v; want %d", tt.in, tt.cur, got, err, tt.want)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	tests := []struct {
		v    int64
		cur  string
		want string
	}{
		{1050, "EUR", "10.50"}, {1, "EUR", "0.01"}, {0, "EUR", "0.00"}, {100, "EUR", "1.00"},
		{1050, "JPY", "1050"}, {1234, "KWD", "1.234"}, {5, "KWD", "0.005"}, {50, "EUR", "0.50"}, {123, "KWD", "0.123"}, {-1050, "EUR", "-10.50"},
		{MaxAmount, "EUR", "23058430092136939.51"},
	}
	for _, tt := range tests {
		a := Amount{Value: tt.v, Currency: tt.cur}
		if got := a.String(); got != tt.want {
			t.Errorf("%d %s formats as %q, want %q", tt.v, tt.cur, got, tt.want)
		}
		if tt.v < 0 {
			continue
		}
		back, err := ParseAmount(a.String(), tt.cur)
		if err != nil || back != a {
			t.Errorf("round trip of %d %s = %v, %v", tt.v, tt.cur, back, err)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"10.50", "0", "1.234", "99999999999999999999", "1e3", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, cur := range []string{"EUR", "JPY", "KWD"} {
			a, err := ParseAmount(s, cur)
			if err != nil {
				continue
			}
			if a.Value < 0 {
				t.Fatalf("ParseAmount(%q) = negative %d", s, a.Value)
			}
			back, err := ParseAmount(a.String(), cur)
			if err != nil || back != a {
				t.Fatalf("%q → %v → %q → %v, %v", s, a, a.String(), back, err)
			}
		}
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 1000; i++ {
		id := NewID("pay")
		if len(id) != 23 || seen[id] {
			t.Fatalf("id %q: bad length or repeated", id)
		}
		for _, r := range id {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				t.Fatalf("id %q has %q; ids must be lower-case alphanumeric", id, r)
			}
		}
		if id[:13] < prev {
			t.Fatalf("ids do not sort by time: %q after %q", id, prev)
		}
		prev = id[:13]
		seen[id] = true
	}
}
