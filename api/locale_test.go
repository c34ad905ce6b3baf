package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCheckoutLanguages: the shopper's page speaks the payment's locale
// (metadata "locale"), and writes its amount and date as that language
// does.
func TestCheckoutLanguages(t *testing.T) {
	e := newEnv(t)
	today := time.Now().UTC()
	for _, tc := range []struct {
		locale, words, amount, month string
	}{
		{"en-GB", "Waiting for you to complete the payment.", "€1,234.50", "December"},
		{"nl-NL", "We wachten tot u de betaling afrondt.", "€\u00a01.234,50", "december"},
		{"de-DE", "Wir warten, bis Sie die Zahlung abschließen.", "1.234,50\u00a0€", "Dezember"},
		{"fr-FR", "Nous attendons que vous finalisiez le paiement.", "1\u202f234,50\u00a0€", "décembre"},
		{"el-GR", "Περιμένουμε να ολοκληρώσετε την πληρωμή.", "1.234,50\u00a0€", "Δεκεμβρίου"},
	} {
		t.Run(tc.locale, func(t *testing.T) {
			p := e.mustDo("POST", "/v1/payments", `{"amount":123450,"currency":"EUR","connector":"testpay","metadata":{"locale":"`+tc.locale+`"}}`, 201)
			body := getPage(t, e.srv.URL+"/pay/"+p["id"].(string), "")
			lang := tc.locale[:2]
			for _, want := range []string{`<html lang="` + lang + `">`, tc.words, `id="amount">` + tc.amount + `<`} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %q:\n%s", want, body)
				}
			}
			if today.Month() == time.December && !strings.Contains(body, tc.month) {
				t.Errorf("the page's date is not in %s: lacks %q", lang, tc.month)
			}
		})
	}
}

// TestCheckoutLanguageChoice: without a payment locale the merchant's
// default locale decides, and without that the browser's Accept-Language;
// the merchant's branding is shown.
func TestCheckoutLanguageChoice(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay"}`, 201)
	page := e.srv.URL + "/pay/" + p["id"].(string)
	if body := getPage(t, page, "de-CH,de;q=0.9,en;q=0.5"); !strings.Contains(body, `lang="de"`) || !strings.Contains(body, "10,50\u00a0€") {
		t.Errorf("Accept-Language de: not German:\n%s", body)
	}
	if body := getPage(t, page, "ja"); !strings.Contains(body, `lang="en"`) {
		t.Errorf("Accept-Language ja: not English:\n%s", body)
	}
	e.mustDo("POST", "/v1/merchants/mer_default", `{"default_locale":"el-GR","branding":{"display_name":"Taverna Nikos","logo_url":"https://cdn.example/logo.png","color":"#aa3300"}}`, 200)
	res, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body := string(b)
	for _, want := range []string{`lang="el"`, "Taverna Nikos", `src="https://cdn.example/logo.png"`, "#aa3300", "10,50\u00a0€"} {
		if !strings.Contains(body, want) {
			t.Errorf("with the merchant's locale and branding, the page lacks %q:\n%s", want, body)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://cdn.example") {
		t.Errorf("the CSP does not let the logo load: %s", csp)
	}
	if body := getPage(t, page, "fr"); !strings.Contains(body, `lang="el"`) {
		t.Errorf("the merchant's default locale should beat Accept-Language")
	}
}

func getPage(t *testing.T, u, acceptLanguage string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestExpiredPage: a payment that expired says so, in the shopper's
// language, and how to go on.
func TestExpiredPage(t *testing.T) {
	e := newEnv(t)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay","metadata":{"locale":"nl"}}`, 201)
	id := p["id"].(string)
	if r := e.do("POST", "/callbacks/testpay/tp1/notify", `{"ref":"`+id+`","status":"failed","failure":"expired"}`, "X-Sig", "s3cret"); r.status != 200 {
		t.Fatalf("callback: %d %s", r.status, r.body)
	}
	body := getPage(t, e.srv.URL+"/pay/"+id, "")
	if !strings.Contains(body, "Deze betaling is verlopen.") {
		t.Errorf("the expired page lacks its message:\n%s", body)
	}
}

// TestPaymentLocale: locale is a field of the create request, checked and
// named in errors; it chooses the page's language before the merchant's
// default, and reaches the connector (Op.Locale), which gets the
// merchant's default when the payment has none.
func TestPaymentLocale(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"es", "nl-Netherlands", "english", "nl--NL"} {
		r := e.do("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay","locale":"`+bad+`"}`)
		if r.status != 400 || r.json(t)["error"].(map[string]any)["param"] != "locale" {
			t.Errorf("locale %q: %d %s", bad, r.status, r.body)
		}
	}
	e.mustDo("POST", "/v1/merchants/mer_default", `{"default_locale":"el-GR"}`, 200)
	p := e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay","locale":"nl-nl"}`, 201)
	id := p["id"].(string)
	if p["locale"] != "nl-NL" {
		t.Errorf("locale = %v, want nl-NL", p["locale"])
	}
	if l, _ := e.conn.locales.Load(id); l != "nl-NL" {
		t.Errorf("the connector got locale %q, want the payment's", l)
	}
	if body := getPage(t, e.srv.URL+"/pay/"+id, "fr"); !strings.Contains(body, `lang="nl"`) || !strings.Contains(body, "€\u00a010,50") {
		t.Errorf("the payment's locale should beat the merchant's default and Accept-Language:\n%s", body)
	}

	p = e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay"}`, 201)
	if p["locale"] != nil {
		t.Errorf("locale = %v, want null", p["locale"])
	}
	if l, _ := e.conn.locales.Load(p["id"].(string)); l != "el-GR" {
		t.Errorf("the connector got locale %q, want the merchant's default el-GR", l)
	}

	// The way before the field still works.
	p = e.mustDo("POST", "/v1/payments", `{"amount":1050,"currency":"EUR","connector":"testpay","metadata":{"locale":"de-AT"}}`, 201)
	if p["locale"] != "de-AT" {
		t.Errorf("metadata.locale: locale = %v, want de-AT", p["locale"])
	}
	if body := getPage(t, e.srv.URL+"/pay/"+p["id"].(string), ""); !strings.Contains(body, `lang="de"`) {
		t.Errorf("metadata.locale: not German:\n%s", body)
	}
}
