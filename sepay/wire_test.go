package sepay

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMarshalRequest(t *testing.T) {
	v := Values{"key_index": "0", "version": "2", "login": "shop-login", "sid": "12345678",
		"transactionref": "K7Q2M9X1A", "merchantref": "4711", "amount": "12.34"}
	got := string(StartTransaction.MarshalRequest(v, "SIG=="))
	// Element order and namespace of notes §3.5; callbackurl (null) omitted.
	want := `<?xml version="1.0" encoding="utf-8"?>` +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` +
		`<soap:Body><StartTransaction xmlns="https://wecr.sepay.nl/v2/WECR">` +
		`<key_index>0</key_index><version>2</version><login>shop-login</login><sid>12345678</sid>` +
		`<transactionref>K7Q2M9X1A</transactionref><merchantref>4711</merchantref><amount>12.34</amount>` +
		`<signature>SIG==</signature></StartTransaction></soap:Body></soap:Envelope>`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if SOAPAction(OpStart) != `"https://wecr.sepay.nl/v2/WECR/StartTransaction"` {
		t.Error(SOAPAction(OpStart))
	}
	m, err := StartTransaction.ParseRequest([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v, m.Values); diff != "" || m.Signature != "SIG==" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if op, err := RequestOperation([]byte(got)); err != nil || op != OpStart {
		t.Errorf("RequestOperation = %q, %v", op, err)
	}
}

// The response example of notes §3.5 (with illustrative signature).
const startResponseExample = `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soap:Body>
    <StartTransactionResponse xmlns="https://wecr.sepay.nl/v2/WECR">
      <StartTransactionResult>
        <key_index>0</key_index><version>2</version><login>shop-login</login>
        <sid>12345678</sid><transactionref>K7Q2M9X1A</transactionref>
        <merchantref>4711</merchantref><amount>12.34</amount>
        <status>00</status>
        <terminalip>192.168.1.50</terminalip><terminalport>4000</terminalport>
        <signature>QUJD</signature>
      </StartTransactionResult>
    </StartTransactionResponse>
  </soap:Body>
</soap:Envelope>`

func TestParseResponse(t *testing.T) {
	m, err := StartTransaction.ParseResponse([]byte(startResponseExample))
	if err != nil {
		t.Fatal(err)
	}
	want := Values{"key_index": "0", "version": "2", "login": "shop-login", "sid": "12345678",
		"transactionref": "K7Q2M9X1A", "merchantref": "4711", "amount": "12.34", "status": "00",
		"terminalip": "192.168.1.50", "terminalport": "4000"}
	if diff := cmp.Diff(want, m.Values); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if m.Signature != "QUJD" {
		t.Errorf("signature %q", m.Signature)
	}
	if got := StartTransaction.Result.Canonical(m.Values); got != "0;2;shop-login;12345678;K7Q2M9X1A;4711;12.34;00;;192.168.1.50;4000" {
		t.Errorf("canonical %q", got)
	}
}

func TestResponseRoundTripKeepsRawText(t *testing.T) {
	v := Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R",
		"amount": "5.00", "status": "00", "brand": "V PAY", "ticket": "@AMSEPAY@LF@@ <b>&amp; ;x",
		"transactiontime": "2024-01-02T10:11:12"}
	body := GetTransactionStatus.MarshalResponse(v, "SIG")
	m, err := GetTransactionStatus.ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(v, m.Values); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A bare result (callback body) parses too.
	m2, err := GetTransactionStatus.ParseResult(GetTransactionStatus.MarshalResult(v, "SIG"))
	if err != nil || m2.Values["ticket"] != v["ticket"] {
		t.Fatalf("bare result: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	good := startResponseExample
	tests := map[string]string{
		"not xml":           "hello",
		"truncated":         good[:200],
		"wrong namespace":   strings.Replace(good, `xmlns="https://wecr.sepay.nl/v2/WECR"`, `xmlns="urn:x"`, 1),
		"unknown element":   strings.Replace(good, "<status>", "<extra>1</extra><status>", 1),
		"repeated element":  strings.Replace(good, "<status>00</status>", "<status>00</status><status>13</status>", 1),
		"nested element":    strings.Replace(good, "<status>00</status>", "<status><b>00</b></status>", 1),
		"not an envelope":   strings.Replace(strings.Replace(good, "soap:Envelope", "Envelope", 2), `xmlns:soap`, `xmlns:s`, 1),
		"wrong result name": strings.Replace(good, "StartTransactionResult", "CancelTransactionResult", 2),
		"latin1 charset":    strings.Replace(good, "utf-8", "iso-8859-1", 1),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := StartTransaction.ParseResponse([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseFault(t *testing.T) {
	_, err := StartTransaction.ParseResponse(MarshalFault("soap:Client", "Server was unable to read request."))
	var f *Fault
	if !errors.As(err, &f) || f.Code != "soap:Client" || f.String != "Server was unable to read request." {
		t.Fatalf("err = %v", err)
	}
}

func TestParseRequestTypes(t *testing.T) {
	base := Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R", "amount": "1.00"}
	for name, mod := range map[string][2]string{
		"amount not decimal": {"amount", "12,50"},
		"key_index not int":  {"key_index", "zero"},
	} {
		v := Values{}
		for k, x := range base {
			v[k] = x
		}
		v[mod[0]] = mod[1]
		if _, err := StartTransaction.ParseRequest(StartTransaction.MarshalRequest(v, "S")); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	v := Values{"key_index": "0", "version": "2", "login": "l", "sid": "1", "transactionref": "R", "force": "yes"}
	if _, err := CancelTransaction.ParseRequest(CancelTransaction.MarshalRequest(v, "S")); !errors.Is(err, ErrMalformed) {
		t.Errorf("force=yes: %v", err)
	}
	for _, f := range []string{"true", "True", "1", "false", "False", "0"} {
		v["force"] = f
		if _, err := CancelTransaction.ParseRequest(CancelTransaction.MarshalRequest(v, "S")); err != nil {
			t.Errorf("force=%s: %v", f, err)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(startResponseExample))
	f.Add(GetTransactionStatus.MarshalResponse(Values{"status": "13", "transactionerror": "116", "ticket": "@LF"}, "S"))
	f.Add(MarshalFault("soap:Client", "x"))
	f.Add([]byte(`<GetTransactionStatusResult xmlns="https://wecr.sepay.nl/v2/WECR"><status xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></GetTransactionStatusResult>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, op := range Operations {
			if m, err := op.ParseResponse(body); err == nil {
				// What parsed must marshal and parse back to the same values.
				m2, err := op.ParseResponse(op.MarshalResponse(m.Values, m.Signature))
				if err != nil {
					t.Fatalf("re-parse: %v", err)
				}
				if diff := cmp.Diff(m.Values, m2.Values, cmp.Comparer(func(a, b string) bool {
					return strings.ReplaceAll(a, "\r", "\n") == strings.ReplaceAll(b, "\r", "\n")
				})); diff != "" && !hasValueTypeGap(op.Result, m.Values) {
					t.Fatalf("round trip:\n%s", diff)
				}
				_ = CanonicalCandidates(op.Result, m.Values)
			}
			_, _ = op.ParseResult(body)
			_, _ = op.ParseRequest(body)
		}
		_, _ = RequestOperation(body)
	})
}

// hasValueTypeGap reports values that do not survive marshalling as given:
// empty value types are written as zero, empty strings are omitted.
func hasValueTypeGap(s Schema, v Values) bool {
	for _, f := range s.Fields {
		if x, ok := v[f.Name]; ok && x == "" {
			return true
		}
		if _, ok := v[f.Name]; !ok && f.valueType() {
			return true
		}
	}
	return false
}

func TestRenderTicket(t *testing.T) {
	ticket := "@RS@AM@SLSEPAY@LF@RS@SSTerminal 12345678@LF@RSTotaal@AR12,34@LF@RSa@@b@HTc@LFlast"
	want := []string{
		strings.Repeat(" ", (TicketWidth-5)/2) + "SEPAY",
		"Terminal 12345678",
		"Totaal" + strings.Repeat(" ", TicketWidth-11) + "12,34",
		"a@b    c",
		"last",
	}
	if diff := cmp.Diff(want, RenderTicket(ticket)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if RenderTicket("") != nil {
		t.Error("empty ticket has lines")
	}
	if got := RenderTicket("@XYunknown@"); len(got) != 1 || got[0] != "@XYunknown@" {
		t.Errorf("unknown tokens: %q", got)
	}
}

func TestDescribeFailure(t *testing.T) {
	for _, tt := range []struct{ e, r, want string }{
		{"116", "", "Not sufficient funds (card code 116)"},
		{"000", "2621", "Canceled on PIN entry (terminal code 2621)"},
		{"100", "2627", "Do not honour (card code 100); Declined by host (terminal code 2627)"},
		{"", "", "The card payment failed at the terminal"},
		{"555", "", "Declined (card code 555)"},
	} {
		if got := DescribeFailure(tt.e, tt.r); got != tt.want {
			t.Errorf("DescribeFailure(%q,%q) = %q, want %q", tt.e, tt.r, got, tt.want)
		}
	}
}
