package trustpayments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tenderpay/tender"
)

// kind is the format of a JWT payload field in the seed's "JWT-veldspecificatie".
type kind int

const (
	kText      kind = iota // "Alfanumeriek (n)": printable text, at most n characters
	kNumeric               // "Numeriek (n)": digits, as a JSON string or integer
	kDecimal               // mainamount: digits with an optional decimal point
	kISO2                  // iso2a country
	kISO3                  // iso3a currency
	kEmail                 // "E-mail (255)"
	kURL                   // "URL (1024)"
	kDate                  // "Datum JJJJ-MM-DD"
	kList                  // "Lijst": JSON array of strings
	kTelephone             // "Alfanumeriek, inclusief symbolen (20)"
	kReference             // "Alfanumeriek, inclusief koppeltekens (25)"
	kLocale                // "en_GB", "es_ES" (the seed's list of values was lost)
)

type fieldSpec struct {
	kind    kind
	max     int      // maximum length in characters (0: none)
	allowed []string // the only values allowed (nil: any of the kind)
}

// payloadFields is the seed's JWT field table (section "JWT-veldspecificatie",
// completed from notes §3.3 where the seed's excerpt lost the value lists).
var payloadFields = map[string]fieldSpec{
	"accounttypedescription":     {kText, 20, []string{"ECOM"}},
	"authmethod":                 {kText, 5, nil},
	"baseamount":                 {kNumeric, 13, nil},
	"mainamount":                 {kDecimal, 14, nil},
	"currencyiso3a":              {kISO3, 3, nil},
	"sitereference":              {kText, 50, nil},
	"orderreference":             {kText, 25, nil},
	"parenttransactionreference": {kReference, 25, nil},
	"requesttypedescriptions":    {kList, 0, requestTypes},
	"termurl":                    {kURL, 1024, nil},
	"settlestatus":               {kNumeric, 3, []string{"0", "1", "2", "100"}},
	"settleduedate":              {kDate, 10, nil},
	"credentialsonfile":          {kNumeric, 1, []string{"0", "1", "2"}},
	"initiationreason":           {kText, 1, []string{"A", "C", "D", "S", "X"}},
	"scaexemptionindicator":      {kNumeric, 1, nil},
	"threedbypasspaymenttypes":   {kList, 0, nil},
	"locale":                     {kLocale, 5, nil},
	"operatorname":               {kText, 255, nil},
	"subscriptiontype":           {kText, 11, []string{"RECURRING", "INSTALLMENT"}},
	"subscriptionunit":           {kText, 5, []string{"DAY", "MONTH"}},
	"subscriptionfrequency":      {kNumeric, 11, nil},
	"subscriptionfinalnumber":    {kNumeric, 5, nil},
	"subscriptionnumber":         {kNumeric, 5, nil},
	"subscriptionbegindate":      {kDate, 10, nil},
	"transactionactive":          {kNumeric, 1, []string{"0", "1", "2"}},
	"cachetoken":                 {kText, 2048, nil},
	"customfield1":               {kText, 100, nil},
	"customfield2":               {kText, 100, nil},
	"customfield3":               {kText, 100, nil},
	"customfield4":               {kText, 100, nil},
	"customfield5":               {kText, 100, nil},
}

// addressFields are the billing*/customer* fields (seed field table);
// customer* is the delivery address.
var addressFields = map[string]fieldSpec{
	"prefixname":    {kText, 25, nil},
	"firstname":     {kText, 127, nil},
	"middlename":    {kText, 127, nil},
	"lastname":      {kText, 127, nil},
	"suffixname":    {kText, 25, nil},
	"premise":       {kText, 25, nil},
	"street":        {kText, 127, nil},
	"town":          {kText, 127, nil},
	"county":        {kText, 127, nil},
	"postcode":      {kText, 25, nil},
	"countryiso2a":  {kISO2, 2, nil},
	"email":         {kEmail, 255, nil},
	"telephone":     {kTelephone, 20, nil},
	"telephonetype": {kText, 1, nil},
}

func init() {
	for name, spec := range addressFields {
		payloadFields["billing"+name] = spec
		payloadFields["customer"+name] = spec
	}
}

// requestTypes the JS library may run (notes §4.1).
var requestTypes = []string{"WALLETVERIFY", "JSINIT", "THREEDQUERY", "CACHETOKENISE", "AUTH", "ERROR", "RISKDEC", "SUBSCRIPTION", "ACCOUNTCHECK"}

// FieldError is a payload field that breaks the field table. The gateway
// reports these as errorcode 30000 with errordata naming the field.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

var (
	reEmail = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	reDate  = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`)
	reTel   = regexp.MustCompile(`^[0-9 +()\-]+$`)
	reRef   = regexp.MustCompile(`^[A-Za-z0-9\-]+$`)
	reISO2  = regexp.MustCompile(`^[A-Z]{2}$`)
	reDec   = regexp.MustCompile(`^\d+(\.\d+)?$`)
	reDigit = regexp.MustCompile(`^\d+$`)
	reLoc   = regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`)
)

// ValidatePayload checks a request JWT's payload object against the field
// table: every field known, of its type and length, with an allowed value,
// and the dependencies between fields (exactly one of baseamount and
// mainamount; billingcounty needs billingcountryiso2a; THREEDQUERY before
// AUTH; subscription fields together). It returns every fault, sorted by
// field; nil means valid. Tender validates what it signs with it, and the
// simulator validates what merchants send, as the gateway does.
func ValidatePayload(p map[string]json.RawMessage) []FieldError {
	var errs []FieldError
	add := func(f, format string, args ...any) {
		errs = append(errs, FieldError{f, fmt.Sprintf(format, args...)})
	}
	vals := map[string]string{}
	for name, raw := range p {
		spec, ok := payloadFields[name]
		if !ok {
			add(name, "unknown field")
			continue
		}
		if spec.kind == kList {
			list, err := stringList(raw)
			if err != nil {
				add(name, "must be a list of strings")
				continue
			}
			for _, v := range list {
				if spec.allowed != nil && !slices.Contains(spec.allowed, v) {
					add(name, "%q is not an allowed value", truncate(v, 20))
				}
			}
			continue
		}
		v, err := scalar(raw, spec.kind)
		if err != nil {
			add(name, "%v", err)
			continue
		}
		vals[name] = v
		if reason := checkValue(spec, v); reason != "" {
			add(name, "%s", reason)
		}
	}

	for _, f := range []string{"accounttypedescription", "sitereference", "currencyiso3a"} {
		if _, ok := p[f]; !ok {
			add(f, "is required")
		}
	}
	_, hasBase := p["baseamount"]
	_, hasMain := p["mainamount"]
	switch {
	case hasBase && hasMain:
		add("mainamount", "baseamount and mainamount must not both be given")
	case !hasBase && !hasMain:
		add("baseamount", "baseamount or mainamount is required")
	}
	if m, ok := vals["mainamount"]; ok {
		if exp, known := tender.CurrencyExponent(vals["currencyiso3a"]); known {
			if _, frac, _ := strings.Cut(m, "."); len(frac) > exp {
				add("mainamount", "has more decimals than the currency")
			}
		}
	}
	for county, country := range countyRequiresCountry {
		if _, ok := p[county]; ok {
			if _, ok := p[country]; !ok {
				add(country, "is required when %s is given", county)
			}
		}
	}
	if raw, ok := p["requesttypedescriptions"]; ok {
		if list, err := stringList(raw); err == nil {
			tdq, auth := slices.Index(list, "THREEDQUERY"), slices.Index(list, "AUTH")
			if tdq >= 0 && auth >= 0 && tdq > auth {
				add("requesttypedescriptions", "THREEDQUERY must come before AUTH")
			}
			if sub := slices.Index(list, "SUBSCRIPTION"); sub >= 0 {
				// notes §6.5: chained on an AUTH or ACCOUNTCHECK before it.
				if !slices.Contains(list[:sub], "AUTH") && !slices.Contains(list[:sub], "ACCOUNTCHECK") {
					add("requesttypedescriptions", "SUBSCRIPTION must follow AUTH or ACCOUNTCHECK")
				}
				if _, ok := p["subscriptiontype"]; !ok {
					add("subscriptiontype", "is required with SUBSCRIPTION")
				}
			}
			seen := map[string]bool{}
			for _, v := range list {
				if seen[v] {
					add("requesttypedescriptions", "%s is listed twice", v)
				}
				seen[v] = true
			}
		}
	}
	if _, ok := p["subscriptiontype"]; ok {
		for _, f := range []string{"subscriptionunit", "subscriptionfrequency", "subscriptionfinalnumber"} {
			if _, ok := p[f]; !ok {
				add(f, "is required with subscriptiontype")
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool {
		if errs[i].Field != errs[j].Field {
			return errs[i].Field < errs[j].Field
		}
		return errs[i].Reason < errs[j].Reason
	})
	return errs
}

func checkValue(spec fieldSpec, v string) string {
	if spec.max > 0 && utf8.RuneCountInString(v) > spec.max {
		return fmt.Sprintf("longer than %d characters", spec.max)
	}
	if spec.allowed != nil && !slices.Contains(spec.allowed, v) {
		return fmt.Sprintf("%q is not an allowed value", truncate(v, 20))
	}
	var ok bool
	switch spec.kind {
	case kText:
		ok = v != "" && utf8.ValidString(v) && !strings.ContainsFunc(v, isControl)
	case kNumeric:
		ok = reDigit.MatchString(v)
	case kDecimal:
		ok = reDec.MatchString(v)
	case kISO2:
		ok = reISO2.MatchString(v)
	case kISO3:
		ok = tender.ValidCurrency(v)
	case kEmail:
		ok = reEmail.MatchString(v)
	case kURL:
		ok = strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://")
	case kDate:
		ok = reDate.MatchString(v)
	case kTelephone:
		ok = reTel.MatchString(v)
	case kReference:
		ok = reRef.MatchString(v)
	case kLocale:
		ok = reLoc.MatchString(v)
	}
	if !ok {
		return "has the wrong format"
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// scalar returns a field's value as text. Strings are always accepted;
// numbers only for amount and numeric fields (the gateway takes "1050" and
// 1050 alike, notes §13.3), written plainly (no sign, no exponent).
func scalar(raw json.RawMessage, k kind) (string, error) {
	numeric := k == kNumeric || k == kDecimal
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("is not a valid string")
		}
		return s, nil
	}
	if k == kNumeric && reDigit.Match(raw) || k == kDecimal && reDec.Match(raw) {
		return string(raw), nil
	}
	if numeric {
		return "", fmt.Errorf("must be a whole number")
	}
	return "", fmt.Errorf("must be a string")
}

func stringList(raw json.RawMessage) ([]string, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, fmt.Errorf("not a list of strings")
	}
	return list, nil
}

// ScalarField returns a payload field's value as text ("" if absent or not
// a string or integer), so 1050 and "1050" compare equal.
func ScalarField(p map[string]json.RawMessage, name string) string {
	raw, ok := p[name]
	if !ok {
		return ""
	}
	v, err := scalar(raw, kDecimal)
	if err != nil {
		return ""
	}
	return v
}
