package computop

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Class is a character class of the seed's "Data formats" table.
type Class string

// Character classes (seed, "Definitions / Data formats").
const (
	ClassA   Class = "a"   // alphabetical
	ClassAS  Class = "as"  // alphabetical with special characters
	ClassN   Class = "n"   // numeric
	ClassAN  Class = "an"  // alphanumeric
	ClassANS Class = "ans" // alphanumeric with special characters
	ClassNS  Class = "ns"  // numeric with special characters
)

// Format is one entry of the format column, such as "ans..30" (at most 30
// characters), "a3" (exactly 3) or "ans" (no length given).
type Format struct {
	Class Class
	Len   int  // 0: no limit
	Fixed bool // exactly Len characters; else at most Len
}

// ParseFormat parses the seed's notation: a class, then N or ..N.
func ParseFormat(s string) (Format, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return r == '.' || (r >= '0' && r <= '9') })
	cls, rest := s, ""
	if i >= 0 {
		cls, rest = s[:i], s[i:]
	}
	f := Format{Class: Class(cls)}
	switch f.Class {
	case ClassA, ClassAS, ClassN, ClassAN, ClassANS, ClassNS:
	default:
		return Format{}, fmt.Errorf("computop: format %q: unknown class %q", s, cls)
	}
	if rest == "" {
		return f, nil
	}
	digits, variable := strings.CutPrefix(rest, "..")
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 {
		return Format{}, fmt.Errorf("computop: format %q: bad length", s)
	}
	f.Len, f.Fixed = n, !variable
	return f, nil
}

// String returns the format in the seed's notation.
func (f Format) String() string {
	switch {
	case f.Len == 0:
		return string(f.Class)
	case f.Fixed:
		return fmt.Sprintf("%s%d", f.Class, f.Len)
	}
	return fmt.Sprintf("%s..%d", f.Class, f.Len)
}

// Describe says the rule in words, for error messages.
func (f Format) Describe() string {
	words := map[Class]string{
		ClassA: "letters", ClassAS: "letters and special characters", ClassN: "digits",
		ClassAN: "letters and digits", ClassANS: "letters, digits and special characters",
		ClassNS: "digits and special characters",
	}[f.Class]
	switch {
	case f.Len == 0:
		return words
	case f.Fixed:
		return fmt.Sprintf("exactly %d %s", f.Len, words)
	}
	return fmt.Sprintf("at most %d %s", f.Len, words)
}

// allows reports whether r belongs to the class. "Special characters" are
// any printable character that is not a letter or digit; control characters
// belong to no class. Letters and digits of a, n and an are ASCII only.
func (c Class) allows(r rune) bool {
	letter := r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	digit := r >= '0' && r <= '9'
	special := !letter && !digit && unicode.IsPrint(r) && !unicode.IsLetter(r) && !unicode.IsDigit(r)
	switch c {
	case ClassA:
		return letter
	case ClassN:
		return digit
	case ClassAN:
		return letter || digit
	case ClassAS:
		return (letter || special || unicode.IsLetter(r)) && !digit && !unicode.IsDigit(r)
	case ClassNS:
		return digit || special
	case ClassANS:
		return unicode.IsPrint(r)
	}
	return false
}

// Cond is the CND column: mandatory, optional or conditional.
type Cond byte

// Conditions.
const (
	M Cond = 'M'
	O Cond = 'O'
	C Cond = 'C'
)

// Field is one row of a message table.
type Field struct {
	Key    string
	Format Format
	Cond   Cond
	// When makes a C field mandatory for the message at hand; nil leaves it
	// optional.
	When func(Params) bool
}

// Spec is a message table of the seed: every field with its format and
// condition.
type Spec struct {
	Name   string
	Fields []Field
}

// field builds a Field from the seed's notation; a bad format is a bug.
func field(key, format string, cond Cond) Field {
	f, err := ParseFormat(format)
	if err != nil {
		panic(err)
	}
	return Field{Key: key, Format: f, Cond: cond}
}

// Rule is what a FieldError broke; the simulator maps it to Paygate's A4
// module digits.
type Rule string

// Rules.
const (
	RuleMissing   Rule = "missing"   // a mandatory parameter is absent (A4 010)
	RuleEmpty     Rule = "empty"     // a mandatory parameter has no value (A4 015)
	RuleFormat    Rule = "format"    // a character outside the class (A4 011)
	RuleTooShort  Rule = "too_short" // shorter than a fixed length (A4 013)
	RuleTooLong   Rule = "too_long"  // longer than the maximum (A4 014)
	RuleDuplicate Rule = "duplicate" // the parameter is present twice (A4 017)
	RuleUnknown   Rule = "unknown"   // not in the table (strict validation only)
)

// FieldError says which field broke which rule of a message table.
type FieldError struct {
	Spec   string
	Field  string
	Index  int // the field's row in the table, 0-based; -1 when unknown
	Rule   Rule
	Format Format
}

func (e *FieldError) Error() string {
	switch e.Rule {
	case RuleMissing:
		return fmt.Sprintf("computop: %s: %s is mandatory", e.Spec, e.Field)
	case RuleEmpty:
		return fmt.Sprintf("computop: %s: %s is mandatory and must not be empty", e.Spec, e.Field)
	case RuleDuplicate:
		return fmt.Sprintf("computop: %s: %s is present twice", e.Spec, e.Field)
	case RuleUnknown:
		return fmt.Sprintf("computop: %s: %s is not a parameter of this message", e.Spec, e.Field)
	}
	return fmt.Sprintf("computop: %s: %s must be %s (%s); rule %s", e.Spec, e.Field, e.Format, e.Format.Describe(), e.Rule)
}

// Validate checks ps against the table: every mandatory field present and
// not empty, no field twice, every present field in its format. With strict,
// a key that is not in the table is an error too (what Tender sends); Paygate
// and the simulator tolerate unknown keys. The first fault is returned as a
// *FieldError.
func (s *Spec) Validate(ps Params, strict bool) error {
	seen := make(map[string]bool, len(ps))
	for _, p := range ps {
		k := strings.ToLower(p.Key)
		i, f := s.lookup(p.Key)
		name := p.Key
		if f != nil {
			name = f.Key
		}
		if seen[k] {
			return &FieldError{Spec: s.Name, Field: name, Index: i, Rule: RuleDuplicate}
		}
		seen[k] = true
		if f == nil {
			if strict {
				return &FieldError{Spec: s.Name, Field: p.Key, Index: -1, Rule: RuleUnknown}
			}
			continue
		}
		if p.Value == "" {
			if f.required(ps) {
				return &FieldError{Spec: s.Name, Field: f.Key, Index: i, Rule: RuleEmpty, Format: f.Format}
			}
			continue
		}
		if r := f.Format.check(p.Value); r != "" {
			return &FieldError{Spec: s.Name, Field: f.Key, Index: i, Rule: r, Format: f.Format}
		}
	}
	for i := range s.Fields {
		f := &s.Fields[i]
		if f.required(ps) && !seen[strings.ToLower(f.Key)] {
			return &FieldError{Spec: s.Name, Field: f.Key, Index: i, Rule: RuleMissing, Format: f.Format}
		}
	}
	return nil
}

// Missing returns the first mandatory field absent or empty in ps, or "".
// Receivers of results use it instead of Validate: they must accept
// whatever Paygate sends in a present field (its own Status value
// AUTHORIZE_REQUEST breaks the table's a..50).
func (s *Spec) Missing(ps Params) string {
	for i := range s.Fields {
		f := &s.Fields[i]
		if f.required(ps) && ps.Get(f.Key) == "" {
			return f.Key
		}
	}
	return ""
}

func (s *Spec) lookup(key string) (int, *Field) {
	for i := range s.Fields {
		if strings.EqualFold(s.Fields[i].Key, key) {
			return i, &s.Fields[i]
		}
	}
	return -1, nil
}

func (f *Field) required(ps Params) bool {
	return f.Cond == M || (f.Cond == C && f.When != nil && f.When(ps))
}

// check returns the rule v breaks, or "".
func (f Format) check(v string) Rule {
	for _, r := range v {
		if r == utf8.RuneError || !f.Class.allows(r) {
			return RuleFormat
		}
	}
	n := utf8.RuneCountInString(v)
	switch {
	case f.Len > 0 && n > f.Len:
		return RuleTooLong
	case f.Fixed && n < f.Len:
		return RuleTooShort
	}
	return ""
}
