package sepay

import "testing"

// The bounds of a WECR amount: 15 digits before the point are read, 16 are
// not; trailing zeros beyond the cents are dropped whatever their number.
func TestAmountBounds(t *testing.T) {
	if v, err := ParseAmount("123456789012345.67"); err != nil || v != 12345678901234567 {
		t.Errorf("15 digits: %d, %v", v, err)
	}
	if _, err := ParseAmount("1234567890123456"); err == nil {
		t.Error("16 digits before the point accepted")
	}
	if v, err := ParseAmount(" -0.10 "); err != nil || v != -10 {
		t.Errorf("-0.10: %d, %v", v, err)
	}
	if v, err := ParseAmount("7.5000"); err != nil || v != 750 {
		t.Errorf("7.5000: %d, %v", v, err)
	}
	for in, want := range map[string]string{"12.3": "12.30", "12.340": "12.34", "1": "1.00", "x": "x", "12.345": "12.345"} {
		if got := normalizeAmount(in); got != want {
			t.Errorf("normalizeAmount(%q) = %q, want %q", in, got, want)
		}
	}
}
