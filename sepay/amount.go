package sepay

import (
	"errors"
	"strconv"
	"strings"
)

// Currency is the only currency WECR carries: the messages have no currency
// field and the terminals are Dutch (notes §2.1).
const Currency = "EUR"

// FormatAmount formats minor units (euro cents) as the WECR decimal with a
// dot and exactly two decimals: 1234 → "12.34". This is the one place an
// amount is turned into text; the same string is sent and signed.
func FormatAmount(cents int64) string {
	neg := cents < 0
	u := uint64(cents)
	if neg {
		u = uint64(-cents)
	}
	s := strconv.FormatUint(u, 10)
	for len(s) < 3 {
		s = "0" + s
	}
	s = s[:len(s)-2] + "." + s[len(s)-2:]
	if neg {
		s = "-" + s
	}
	return s
}

// ParseAmount parses a WECR decimal into cents. Trailing zero decimals
// beyond two are accepted ("12.340"); any other fraction of a cent is not.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if !digits(whole) || len(whole) > 15 || (frac != "" && !digits(frac)) {
		return 0, errors.New("sepay: amount is not a decimal")
	}
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > 2 {
		return 0, errors.New("sepay: amount has a fraction of a cent")
	}
	frac += strings.Repeat("0", 2-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, errors.New("sepay: amount out of range")
	}
	if neg {
		v = -v
	}
	return v, nil
}

// normalizeAmount renders a wire amount with exactly two decimals, or
// returns it unchanged when it does not parse.
func normalizeAmount(s string) string {
	v, err := ParseAmount(s)
	if err != nil {
		return s
	}
	return FormatAmount(v)
}
