package sepay

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Namespace is the XML namespace of every WECR v2 operation element
// (notes §2.1).
const Namespace = "https://wecr.sepay.nl/v2/WECR"

// SOAPEnvelopeNS is the SOAP 1.1 envelope namespace.
const SOAPEnvelopeNS = "http://schemas.xmlsoap.org/soap/envelope/"

// ProductionURL is Sepay's WECR v2 service (notes §2.1). Accounts may point
// elsewhere with the base_url setting.
const ProductionURL = "https://wecr.sepay.nl/v2/wecr.asmx"

// Operation names.
const (
	OpStart  = "StartTransaction"
	OpStatus = "GetTransactionStatus"
	OpCancel = "CancelTransaction"
)

// SOAPAction returns the SOAPAction header value of an operation, quotes
// included: "https://wecr.sepay.nl/v2/WECR/StartTransaction".
func SOAPAction(op string) string { return `"` + Namespace + "/" + op + `"` }

// XSD types of message fields.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeDecimal  = "decimal"
	TypeBoolean  = "boolean"
	TypeUShort   = "unsignedShort"
	TypeBase64   = "base64Binary"
	signatureTag = "signature"
)

// Field is one element of a message, in schema order.
type Field struct {
	Name string
	Type string
}

// valueType reports whether the field is an XSD value type, which ASMX always
// serialises (a string that is null is omitted instead).
func (f Field) valueType() bool {
	switch f.Type {
	case TypeInt, TypeDecimal, TypeBoolean, TypeUShort:
		return true
	}
	return false
}

// Schema is a message's element name and its fields in WSDL order, without
// the trailing signature (which every message has).
type Schema struct {
	Element string
	Fields  []Field
	// SignatureType is base64Binary in requests and string in results (§4.1).
	SignatureType string
}

// Operation is one WECR operation: its request and its result.
type Operation struct {
	Name    string
	Request Schema
	Result  Schema
}

var header = []Field{
	{"key_index", TypeInt}, {"version", TypeString}, {"login", TypeString},
	{"sid", TypeString}, {"transactionref", TypeString},
}

func fields(extra ...Field) []Field {
	return append(append([]Field(nil), header...), extra...)
}

// The three documented operations, element order per notes §3.2–§3.4.
var (
	StartTransaction = &Operation{
		Name: OpStart,
		Request: Schema{OpStart, fields(
			Field{"merchantref", TypeString}, Field{"amount", TypeDecimal}, Field{"callbackurl", TypeString},
		), TypeBase64},
		Result: Schema{OpStart + "Result", fields(
			Field{"merchantref", TypeString}, Field{"amount", TypeDecimal}, Field{"status", TypeString},
			Field{"message", TypeString}, Field{"terminalip", TypeString}, Field{"terminalport", TypeUShort},
		), TypeString},
	}
	GetTransactionStatus = &Operation{
		Name:    OpStatus,
		Request: Schema{OpStatus, fields(Field{"timeout", TypeInt}), TypeBase64},
		Result: Schema{OpStatus + "Result", fields(
			Field{"merchantref", TypeString}, Field{"amount", TypeDecimal},
			Field{"transactiontime", TypeString}, Field{"transactionerror", TypeString},
			Field{"transactionresult", TypeString}, Field{"status", TypeString},
			Field{"message", TypeString}, Field{"brand", TypeString}, Field{"ticket", TypeString},
		), TypeString},
	}
	CancelTransaction = &Operation{
		Name:    OpCancel,
		Request: Schema{OpCancel, fields(Field{"force", TypeBoolean}), TypeBase64},
		Result: Schema{OpCancel + "Result", fields(
			Field{"status", TypeString}, Field{"message", TypeString},
		), TypeString},
	}
	// Operations indexes the operations by name.
	Operations = map[string]*Operation{OpStart: StartTransaction, OpStatus: GetTransactionStatus, OpCancel: CancelTransaction}
)

// Values holds a message's field values as the text on the wire (not
// re-formatted), by element name. An absent or nil element is absent here.
type Values map[string]string

// Canonical returns the string that is signed for a message: every field's
// value in schema order, joined with ";", absent values as "" (notes §4.2).
// The signature itself is not part of it.
func (s Schema) Canonical(v Values) string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		parts[i] = v[f.Name]
	}
	return strings.Join(parts, ";")
}

// Filled returns v as it is marshalled: value-typed fields that are absent
// or empty get their zero ("0", "0.00", "false"), since ASMX always writes
// them. Sign this, not v, so that the signature matches the XML.
func (s Schema) Filled(v Values) Values {
	out := Values{}
	for k, x := range v {
		out[k] = x
	}
	for _, f := range s.Fields {
		if f.valueType() && out[f.Name] == "" {
			out[f.Name] = zeroValue(f.Type)
		}
	}
	return out
}

// marshalElement writes <Element xmlns=ns>fields…<signature/></Element>.
// Empty strings are omitted (ASMX omits null strings); value types are
// always written, as "0"/"false" when empty.
func (s Schema) marshalElement(b *bytes.Buffer, v Values, sig string, withNS bool) {
	b.WriteString("<" + s.Element)
	if withNS {
		b.WriteString(` xmlns="` + Namespace + `"`)
	}
	b.WriteString(">")
	for _, f := range s.Fields {
		val, ok := v[f.Name]
		if !ok || val == "" {
			if !f.valueType() {
				continue
			}
			val = zeroValue(f.Type)
		}
		writeElem(b, f.Name, val)
	}
	if sig != "" {
		writeElem(b, signatureTag, sig)
	}
	b.WriteString("</" + s.Element + ">")
}

func zeroValue(typ string) string {
	switch typ {
	case TypeBoolean:
		return "false"
	case TypeDecimal:
		return "0.00"
	}
	return "0"
}

func writeElem(b *bytes.Buffer, name, val string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(val)) // writes to a bytes.Buffer never fail
	b.WriteString("</" + name + ">")
}

const envelopeHead = `<?xml version="1.0" encoding="utf-8"?>` +
	`<soap:Envelope xmlns:soap="` + SOAPEnvelopeNS + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` +
	`<soap:Body>`
const envelopeTail = `</soap:Body></soap:Envelope>`

// MarshalRequest returns the SOAP 1.1 envelope of a request.
func (op *Operation) MarshalRequest(v Values, signature string) []byte {
	var b bytes.Buffer
	b.WriteString(envelopeHead)
	op.Request.marshalElement(&b, v, signature, true)
	b.WriteString(envelopeTail)
	return b.Bytes()
}

// MarshalResponse returns the SOAP 1.1 envelope of a result:
// <OpResponse xmlns=ns><OpResult>…</OpResult></OpResponse>.
func (op *Operation) MarshalResponse(v Values, signature string) []byte {
	var b bytes.Buffer
	b.WriteString(envelopeHead)
	b.WriteString("<" + op.Name + `Response xmlns="` + Namespace + `">`)
	op.Result.marshalElement(&b, v, signature, false)
	b.WriteString("</" + op.Name + "Response>")
	b.WriteString(envelopeTail)
	return b.Bytes()
}

// MarshalResult returns a result element alone, in the WECR namespace, with
// an XML declaration: the body of a callback (assumptions.go).
func (op *Operation) MarshalResult(v Values, signature string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	op.Result.marshalElement(&b, v, signature, true)
	return b.Bytes()
}

// Fault is a SOAP 1.1 fault.
type Fault struct {
	Code   string // e.g. "soap:Client"
	String string
}

func (f *Fault) Error() string { return "soap fault " + f.Code + ": " + f.String }

// MarshalFault returns a SOAP 1.1 fault envelope.
func MarshalFault(code, text string) []byte {
	var b bytes.Buffer
	b.WriteString(envelopeHead + "<soap:Fault>")
	writeElem(&b, "faultcode", code)
	writeElem(&b, "faultstring", text)
	b.WriteString("<detail /></soap:Fault>" + envelopeTail)
	return b.Bytes()
}

// ErrMalformed is wrapped by every parse error of a message.
var ErrMalformed = errors.New("malformed WECR message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// maxMessage bounds what is read of one message.
const maxMessage = 1 << 20

// Message is a parsed WECR element: its values and its signature text.
type Message struct {
	Element   string
	Values    Values
	Signature string
}

// ParseResponse parses a SOAP response to op. It returns a *Fault (as the
// error) when the body holds a SOAP fault.
func (op *Operation) ParseResponse(body []byte) (*Message, error) {
	return parseIn(body, op.Result, true)
}

// ParseResult parses a bare result element of op, or one inside a SOAP
// envelope (a callback's body, whose format is unknown; assumptions.go).
func (op *Operation) ParseResult(body []byte) (*Message, error) {
	return parseIn(body, op.Result, false)
}

// ParseRequest parses a SOAP request to op; the body's operation element
// must be op's. Value-typed fields that do not convert are an error (ASMX
// answers them with a fault).
func (op *Operation) ParseRequest(body []byte) (*Message, error) {
	m, err := parseIn(body, op.Request, true)
	if err != nil {
		return nil, err
	}
	for _, f := range op.Request.Fields {
		if v, ok := m.Values[f.Name]; ok {
			if err := checkType(f, v); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// RequestOperation returns the local name of the first element in a SOAP
// request's Body, to route on when SOAPAction is absent.
func RequestOperation(body []byte) (string, error) {
	d := newDecoder(body)
	depth := 0
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return "", malformed("no operation element: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if inBody {
				return t.Name.Local, nil
			}
			if t.Name.Space == SOAPEnvelopeNS && t.Name.Local == "Body" && depth == 2 {
				inBody = true
			}
		case xml.EndElement:
			depth--
		}
	}
}

func newDecoder(body []byte) *xml.Decoder {
	d := xml.NewDecoder(io.LimitReader(bytes.NewReader(body), maxMessage))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") {
			return r, nil
		}
		return nil, fmt.Errorf("charset %q not supported", label)
	}
	return d
}

// parseIn walks the document to the element s.Element in the WECR namespace
// (inside soap:Envelope/soap:Body when soap is set, else anywhere) and reads
// its child elements. Unknown children are an error, so that a field this
// package does not know about cannot slip past the signature unnoticed.
func parseIn(body []byte, s Schema, soap bool) (*Message, error) {
	d := newDecoder(body)
	var stack []xml.Name
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, malformed("no %s element", s.Element)
		}
		if err != nil {
			return nil, malformed("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && soap && (t.Name.Space != SOAPEnvelopeNS || t.Name.Local != "Envelope") {
				return nil, malformed("root element is %s, not soap:Envelope", t.Name.Local)
			}
			if t.Name.Space == SOAPEnvelopeNS && t.Name.Local == "Fault" {
				return nil, parseFault(d)
			}
			if t.Name.Local == s.Element && t.Name.Space == Namespace {
				if soap && !inBody(stack) {
					return nil, malformed("%s outside soap:Body", s.Element)
				}
				return readChildren(d, s)
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func inBody(stack []xml.Name) bool {
	for _, n := range stack {
		if n.Space == SOAPEnvelopeNS && n.Local == "Body" {
			return true
		}
	}
	return false
}

func readChildren(d *xml.Decoder, s Schema) (*Message, error) {
	known := map[string]bool{signatureTag: true}
	for _, f := range s.Fields {
		known[f.Name] = true
	}
	m := &Message{Element: s.Element, Values: Values{}}
	seen := map[string]bool{}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, malformed("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if t.Name.Space != Namespace || !known[name] {
				return nil, malformed("unexpected element %s in %s", name, s.Element)
			}
			if seen[name] {
				return nil, malformed("element %s repeated", name)
			}
			seen[name] = true
			text, err := readText(d)
			if err != nil {
				return nil, err
			}
			if isNil(t) {
				continue
			}
			if name == signatureTag {
				m.Signature = strings.TrimSpace(text)
			} else {
				m.Values[name] = text
			}
		case xml.EndElement:
			return m, nil
		}
	}
}

func isNil(t xml.StartElement) bool {
	for _, a := range t.Attr {
		if a.Name.Space == "http://www.w3.org/2001/XMLSchema-instance" && a.Name.Local == "nil" {
			return a.Value == "true" || a.Value == "1"
		}
	}
	return false
}

// readText returns the character data of a leaf element.
func readText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", malformed("%v", err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", malformed("element %s inside a value", t.Name.Local)
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

func parseFault(d *xml.Decoder) error {
	f := &Fault{}
	for {
		tok, err := d.Token()
		if err != nil {
			return malformed("fault: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "faultcode", "faultstring":
				text, err := readText(d)
				if err != nil {
					return err
				}
				if t.Name.Local == "faultcode" {
					f.Code = strings.TrimSpace(text)
				} else {
					f.String = text
				}
			default:
				if err := d.Skip(); err != nil {
					return malformed("fault: %v", err)
				}
			}
		case xml.EndElement:
			return f
		}
	}
}

// checkType reports whether text converts to the field's XSD type the way
// .NET's XmlSerializer would accept it.
func checkType(f Field, text string) error {
	t := strings.TrimSpace(text)
	var err error
	switch f.Type {
	case TypeInt:
		_, err = strconv.ParseInt(t, 10, 32)
	case TypeUShort:
		_, err = strconv.ParseUint(t, 10, 16)
	case TypeDecimal:
		if !isDecimal(t) {
			err = errors.New("not a decimal")
		}
	case TypeBoolean:
		switch t {
		case "true", "false", "1", "0", "True", "False":
		default:
			err = errors.New("not a boolean")
		}
	}
	if err != nil {
		return malformed("element %s: %q is not a valid %s", f.Name, text, f.Type)
	}
	return nil
}

func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 20 || !digits(whole) {
		return false
	}
	return !dot || (frac != "" && len(frac) <= 20 && digits(frac))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
