package epay

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenderpay/tender"
)

func TestCentsAndEuros(t *testing.T) {
	for in, want := range map[string]int64{"12.40": 1240, "12.4": 1240, "12": 1200, "0.005": 1, "0.004": 0, "9.999": 1000} {
		if got, err := Cents(json.Number(in)); err != nil || got != want {
			t.Errorf("Cents(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "1e3", "", ".5", "1.2.3", "abc"} {
		if _, err := Cents(json.Number(bad)); err == nil {
			t.Errorf("Cents(%q) accepted", bad)
		}
	}
	if Euros(1240) != "12.40" || Euros(5) != "0.05" || Euros(100000) != "1000.00" {
		t.Error("Euros")
	}
}

func TestParseInvoice(t *testing.T) {
	good := `{"issuer_vat":"EL999999999","date":"2020-10-22","branch":0,"type":"1.1","series":"Α","number":2,"net_amount":100,"vat_amount":24,"total_amount":124}`
	in, err := ParseInvoice(json.RawMessage(good), 124)
	if err != nil {
		t.Fatal(err)
	}
	// Notes §4.1: the UID of 999999999-2020-10-22-0-1.1-Α-2.
	if in.UID() != "B6135D5377B0AA2A92264AB56B334169D0B25089" {
		t.Fatalf("UID %s", in.UID())
	}
	for _, tc := range []struct{ body, param string }{
		{``, "invoice"},
		{`[]`, "invoice"},
		{strings.Replace(good, `"EL999999999"`, `"12345"`, 1), "invoice.issuer_vat"},
		{strings.Replace(good, `"2020-10-22"`, `"22/10/2020"`, 1), "invoice.date"},
		{strings.Replace(good, `"branch":0,`, ``, 1), "invoice.branch"},
		{strings.Replace(good, `"1.1"`, `"invoice"`, 1), "invoice.type"},
		{strings.Replace(good, `"Α"`, `""`, 1), "invoice.series"},
		{strings.Replace(good, `"net_amount":100`, `"net_amount":-100`, 1), "invoice.net_amount"},
		{strings.Replace(good, `"vat_amount":24,`, ``, 1), "invoice.vat_amount"},
		{strings.Replace(good, `"total_amount":124`, `"total_amount":125`, 1), "invoice.total_amount"},
		{strings.Replace(good, `}`, `,"mark":"4000x"}`, 1), "invoice.mark"},
		{strings.Replace(good, `}`, `,"tip":1}`, 1), "invoice"},
	} {
		_, err := ParseInvoice(json.RawMessage(tc.body), 124)
		if e := tender.AsError(err); e == nil || e.Code != tender.EInvalid || e.Param != tc.param {
			t.Errorf("%s: got %v, want param %s", tc.body, err, tc.param)
		}
	}
	if _, err := ParseInvoice(json.RawMessage(good), 125); tender.AsError(err) == nil || tender.AsError(err).Param != "amount" {
		t.Errorf("payable above total: %v", err)
	}
	withMark, err := ParseInvoice(json.RawMessage(strings.Replace(good, `}`, `,"mark":400013293980417}`, 1)), 100)
	if err != nil || withMark.Mark != "400013293980417" {
		t.Fatalf("mark: %v", err)
	}
}

func TestParseErrorBody(t *testing.T) {
	e := ParseErrorBody("webecr", 401, []byte(`{"detail":"Given token not valid for any token type","code":"token_not_valid"}`))
	if e.Code != "token_not_valid" || e.Detail == "" {
		t.Fatalf("%+v", e)
	}
	e = ParseErrorBody("webecr", 400, []byte(`{"ProviderData":["Invalid provider signature."],"Amount":["x"]}`))
	if e.Detail != "Amount: x; ProviderData: Invalid provider signature." {
		t.Fatalf("%q", e.Detail)
	}
}

func TestIntentIDsAsNumberOrString(t *testing.T) {
	in, err := ParseIntent([]byte(`{"id":"42","Status":3,"Result":1,"Transaction":77,"TransactionId":"075121702285176315144"}`))
	if err != nil || in.ID != "42" || *in.Transaction != "77" || in.ResultCode() != ResultApproved {
		t.Fatalf("%+v %v", in, err)
	}
	b, _ := json.Marshal(in)
	if !strings.Contains(string(b), `"Id":42`) || !strings.Contains(string(b), `"Transaction":77`) {
		t.Fatalf("%s", b)
	}
	pd, _ := json.Marshal(ProviderData{ProviderId: "3"})
	if !strings.Contains(string(pd), `"ProviderId":"3"`) || strings.Contains(string(pd), `"Mark"`) {
		t.Fatalf("%s", pd)
	}
}

func FuzzParseSignPOSResponse(f *testing.F) {
	f.Add([]byte(`{"input":"1686345696C2FCC2B51FBA922E502A84C7021BBA;0;20240717103906;800;104;904;904;08104148","signature":"MEUCIQCeZ9pqqk8JQojd"}`))
	f.Add([]byte(`{"input":"` + vectorClear + `","signature":"` + vectorBase64 + `"}`))
	f.Add([]byte(`{"success":false,"message":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, c, err := ParseSignPOSResponse(b)
		if err == nil && (len(c.TID) != 8 || c.UID == "" || r.Signature == "") {
			t.Fatalf("accepted inconsistent answer %q", b)
		}
	})
}

func FuzzParseIntent(f *testing.F) {
	f.Add([]byte(`{"Id":1001,"Status":3,"Result":1,"Amount":1240,"CustomerReference":"pay1","Terminal":358046,"Transaction":1002,"TransactionId":"075000001000001123456"}`))
	f.Add([]byte(`{"id":"5","Status":1,"Result":null,"Transaction":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := ParseIntent(b)
		if err == nil && (in.ID == "" || in.Status < 1 || in.Status > 3) {
			t.Fatalf("accepted %q", b)
		}
	})
}

func FuzzParsePages(f *testing.F) {
	f.Add([]byte(`{"count":1,"next":null,"previous":null,"results":[{"id":358046,"TerminalID":"64999964","FriendlyName":"Test softPOS","TerminalType":100,"Merchant":"11719","Acquirer":11,"Locked":false,"CurrentBatchNumber":1}]}`))
	f.Add([]byte(`{"count":1,"next":"http://x/transaction/?offset=1","results":[{"Id":"12","CardPAN":"516732******6411","Approved":true,"Amount":1240,"STAN":3,"VoidTimestamp":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePage[TerminalRecord](b)
		_, _ = ParsePage[Transaction](b)
		_, _ = ParsePage[Intent](b)
		_ = ParseErrorBody("webecr", 400, b)
	})
}

func FuzzParseInvoice(f *testing.F) {
	f.Add([]byte(`{"issuer_vat":"999999999","date":"2020-10-22","branch":0,"type":"1.1","series":"A","number":"2","net_amount":100,"vat_amount":24,"total_amount":124}`), int64(124))
	f.Fuzz(func(t *testing.T, b []byte, amount int64) {
		in, err := ParseInvoice(b, amount)
		if err == nil && (*in.NetAmount+*in.VATAmount != *in.TotalAmount || amount > *in.TotalAmount || amount <= 0) {
			t.Fatalf("accepted %q", b)
		}
	})
}
