package tender

import (
	"regexp"
	"strings"
)

// Locales are the languages of Tender's shopper pages.
var Locales = []string{"en", "nl", "de", "fr", "el"}

var localeRE = regexp.MustCompile(`^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}|[0-9]{3}))?$`)

// ParseLocale checks a payment's locale, field being the API field it came
// from: one of Locales, with a region allowed ("nl-NL", "el-GR"). It
// returns it in canonical case ("nl-NL"); "" stays "".
func ParseLocale(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	m := localeRE.FindStringSubmatch(s)
	if m == nil || !knownLocale(strings.ToLower(m[1])) {
		return "", Invalid(field, "%s must be one of %s, optionally with a region (e.g. nl-NL), not %q", field, strings.Join(Locales, ", "), s)
	}
	out := strings.ToLower(m[1])
	if m[2] != "" {
		out += "-" + strings.ToUpper(m[2])
	}
	return out, nil
}

func knownLocale(base string) bool {
	for _, l := range Locales {
		if l == base {
			return true
		}
	}
	return false
}
