package trustpayments

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

// TestValidatePayload runs the seed's field table ("JWT-veldspecificatie")
// case by case: type, length, allowed values and dependencies.
func TestValidatePayload(t *testing.T) {
	base := `"accounttypedescription":"ECOM","currencyiso3a":"GBP","sitereference":"test_site12345"`
	for _, tc := range []struct {
		name, fields string
		wantField    string // "" = valid
	}{
		{"seed example, number", `"baseamount":1050`, ""},
		{"seed payload example, string", `"baseamount":"1050","termurl":"https://payments.securetrading.net/process/payments/mobilesdklistener","requesttypedescriptions":["THREEDQUERY","AUTH"]`, ""},
		{"mainamount", `"mainamount":"10.50"`, ""},
		{"both amounts", `"baseamount":1050,"mainamount":"10.50"`, "mainamount"},
		{"no amount", ``, "baseamount"},
		{"baseamount too long", `"baseamount":"12345678901234"`, "baseamount"},
		{"baseamount negative", `"baseamount":-5`, "baseamount"},
		{"baseamount decimal", `"baseamount":10.5`, "baseamount"},
		{"mainamount comma", `"mainamount":"10,50"`, "mainamount"},
		{"mainamount too many decimals", `"mainamount":"10.505"`, "mainamount"},
		{"unknown currency", `"baseamount":1,"currencyiso3a":"XXX"`, "currencyiso3a"},
		{"accounttype MOTO", `"baseamount":1,"accounttypedescription":"MOTO"`, "accounttypedescription"},
		{"orderreference 25", `"baseamount":1,"orderreference":"` + strings.Repeat("a", 25) + `"`, ""},
		{"orderreference 26", `"baseamount":1,"orderreference":"` + strings.Repeat("a", 26) + `"`, "orderreference"},
		{"settlestatus 2", `"baseamount":1,"settlestatus":"2"`, ""},
		{"settlestatus 3", `"baseamount":1,"settlestatus":"3"`, "settlestatus"},
		{"AUTH before THREEDQUERY", `"baseamount":1,"requesttypedescriptions":["AUTH","THREEDQUERY"]`, "requesttypedescriptions"},
		{"unknown request type", `"baseamount":1,"requesttypedescriptions":["THREEDQUERY","PAY"]`, "requesttypedescriptions"},
		{"billingcounty alone", `"baseamount":1,"billingcounty":"Kent"`, "billingcountryiso2a"},
		{"billingcounty with country", `"baseamount":1,"billingcounty":"Kent","billingcountryiso2a":"GB"`, ""},
		{"billingemail bad", `"baseamount":1,"billingemail":"nobody"`, "billingemail"},
		{"billingfirstname 128", `"baseamount":1,"billingfirstname":"` + strings.Repeat("é", 128) + `"`, "billingfirstname"},
		{"billingtelephone letters", `"baseamount":1,"billingtelephone":"call me"`, "billingtelephone"},
		{"subscriptionunit lower", `"baseamount":1,"subscriptiontype":"RECURRING","subscriptionunit":"month","subscriptionfrequency":"1","subscriptionfinalnumber":"0"`, "subscriptionunit"},
		{"subscription incomplete", `"baseamount":1,"subscriptiontype":"RECURRING"`, "subscriptionfinalnumber"},
		{"settleduedate format", `"baseamount":1,"settleduedate":"01-05-2026"`, "settleduedate"},
		{"unknown field", `"baseamount":1,"amount":1`, "amount"},
		{"control character", `"baseamount":1,"billingtown":"a\u0000b"`, "billingtown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "{" + base
			if tc.fields != "" {
				raw += "," + tc.fields
			}
			raw += "}"
			// later duplicate keys win, as in the gateway's JSON reader
			var p map[string]json.RawMessage
			if err := json.Unmarshal([]byte(raw), &p); err != nil {
				t.Fatal(err)
			}
			errs := ValidatePayload(p)
			if tc.wantField == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Field == tc.wantField {
					return
				}
			}
			t.Fatalf("want an error on %s, got %v", tc.wantField, errs)
		})
	}
}

func TestRequestJWT(t *testing.T) {
	cfg := Config{SiteReference: "test_site12345", JWTUsername: "jwt.user", Algorithm: HS512, ResponseAlgorithm: HS512,
		Secret: []byte("k"), AmountField: "baseamount", TermURL: DefaultTermURL}
	now := time.Unix(1700000000, 0)
	tok, err := cfg.RequestJWT(Order{Reference: "pay0123456789abcdefghjkm", Amount: 1050, Currency: "GBP", Manual: true,
		Extra: map[string]string{"billingfirstname": "Ann", "billingcountryiso2a": "GB"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(tok, VerifyOptions{Alg: HS512, Secret: []byte("k"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iss":"jwt.user","iat":1700000000,"payload":{"accounttypedescription":"ECOM","baseamount":1050,"billingcountryiso2a":"GB","billingfirstname":"Ann","currencyiso3a":"GBP","orderreference":"pay0123456789abcdefghjkm","requesttypedescriptions":["THREEDQUERY","AUTH"],"settlestatus":"2","sitereference":"test_site12345","termurl":"https://payments.securetrading.net/process/payments/mobilesdklistener"}}`
	if string(v.ClaimsJSON) != want {
		t.Fatalf("claims\n%s\nwant\n%s", v.ClaimsJSON, want)
	}
	cfg.AmountField = "mainamount"
	tok, _ = cfg.RequestJWT(Order{Reference: "p", Amount: 1100, Currency: "JPY"}, now)
	v, _ = Parse(tok)
	if p, _ := PayloadOf(v); string(p["mainamount"]) != `"1100"` || p["baseamount"] != nil || p["settlestatus"] != nil {
		t.Fatalf("JPY mainamount payload %s", v.ClaimsJSON)
	}
	if _, err := cfg.RequestJWT(Order{Reference: "p", Amount: 1, Currency: "GBP", Extra: map[string]string{"baseamount": "1"}}, now); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("extra baseamount: %v", err)
	}
	if _, err := cfg.RequestJWT(Order{Reference: "p", Amount: 1, Currency: "GBP", Extra: map[string]string{"billingcounty": "Kent"}}, now); tender.ErrorCodeOf(err) != tender.EInvalid {
		t.Fatalf("county without country: %v", err)
	}
}

// TestSeedResponseMapping verifies the seed's response JWT (TV-2) as a
// response to the seed's request JWT (TV-1) and maps it.
func TestSeedResponseMapping(t *testing.T) {
	cfg := Config{JWTUsername: "jwt.user", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
	r, err := cfg.VerifyResponse(tv2, tv1Time)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckIssued(tv1); err != nil {
		t.Fatal(err)
	}
	u := UpdateOf(r)
	if u.Status != tender.StatusCaptured || u.ProviderReference != "1-2-345679" || u.Details["maskedpan"] != "520000######1005" ||
		u.Details["authcode"] != "TEST95" || u.Details["enrolled"] != "Y" || u.Details["paymenttypedescription"] != "MASTERCARD" {
		t.Fatalf("update %+v", u)
	}
	// The same response presented for another order is refused.
	other, _ := Sign(HS256, []byte(seedSecret), []byte(`{"iss":"jwt.user","iat":1594647268,"payload":{"baseamount":2000,"currencyiso3a":"GBP","sitereference":"test_site12345","accounttypedescription":"ECOM"}}`))
	if err := r.CheckIssued(other); err == nil {
		t.Fatal("CheckIssued accepted another amount")
	}
	// Another JWT user, or another secret.
	if _, err := (Config{JWTUsername: "x", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}).VerifyResponse(tv2, tv1Time); err == nil {
		t.Fatal("aud of another user accepted")
	}
}

func TestClassify(t *testing.T) {
	for code, want := range map[string]Outcome{"0": OutcomeOK, "30000": OutcomeInvalid, "60010": OutcomeUnknown, "60034": OutcomeUnknown,
		"99999": OutcomeUnknown, "50000": OutcomeUnknown, "60022": OutcomeAuthentication, "70000": OutcomeDeclined, "12345": OutcomeUnknown} {
		if got := Classify(code); got != want {
			t.Errorf("Classify(%s) = %v, want %v", code, got, want)
		}
	}
	if MaskedPAN("4111111111111111") != "" || MaskedPAN("411111######1111") == "" {
		t.Error("MaskedPAN")
	}
}

func FuzzVerifyResponse(f *testing.F) {
	f.Add(tv2)
	f.Add(tv1)
	f.Fuzz(func(t *testing.T, s string) {
		cfg := Config{JWTUsername: "jwt.user", Algorithm: HS256, ResponseAlgorithm: HS256, Secret: []byte(seedSecret)}
		r, err := cfg.VerifyResponse(s, tv1Time)
		if err == nil {
			_ = UpdateOf(r)
			_ = r.CheckIssued(tv1)
		}
	})
}

func FuzzResult(f *testing.F) {
	f.Add(`{"errorcode":"0","records":[{"baseamount":"1"}],"errordata":["pan"]}`)
	f.Add(`{"a":1,"b":true,"c":null,"d":{}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var r Result
		if json.Unmarshal([]byte(s), &r) == nil {
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		}
	})
}
