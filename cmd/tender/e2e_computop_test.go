package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const computopBilling = `"computop":{"billing":{"first_name":"Eva","last_name":"de Vries","street":"Damrak 1","city":"Amsterdam","zip":"1012LG","country_code":"NL"}}`

// shopper follows a payment's next_action like a browser and presses a
// button on the simulated Wero page.
func computopShopper(t *testing.T, nextURL, button string) *http.Response {
	t.Helper()
	jar := &http.Client{}
	res, err := jar.Get(nextURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("Wero page: %d %s", res.StatusCode, page)
	}
	form := url.Values{"action": {button}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	action := res.Request.URL.ResolveReference(&url.URL{Path: "WERO.aspx"})
	res, err = jar.PostForm(action.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'").Replace(s)
}

// TestComputopThroughAPI pays with Wero through Tender's HTTP API against
// the Paygate simulator over HTTP: the shopper approves on the simulated
// Wero page, the signed notify captures the payment, and the browser lands
// on Tender's page.
func TestComputopThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	created := p.mustCall("POST", "/v1/payments", `{"amount":2500,"currency":"EUR","connector":"computop","return_url":"https://shop.example/done",`+computopBilling+`}`, 201)
	id := created["id"].(string)
	na, _ := created["next_action"].(map[string]any)
	if created["status"] != "requires_action" || na == nil || na["url"] == "" {
		t.Fatalf("created %v", created)
	}
	res := computopShopper(t, na["url"].(string), "approve")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(res.Request.URL.String(), p.URL+"/pay/"+id) {
		t.Fatalf("browser ended at %s, want Tender's page", res.Request.URL)
	}
	if !strings.Contains(string(body), "Payment successful") {
		t.Errorf("result page: %s", body)
	}
	got := p.waitFor(id, 30*time.Second, "captured")
	if got["captured_amount"].(float64) != 2500 {
		t.Fatalf("captured %v", got)
	}

	// Manual capture: authorized, then a partial capture and the rest.
	created = p.mustCall("POST", "/v1/payments", `{"amount":3000,"currency":"EUR","connector":"computop","capture":"manual",`+computopBilling+`}`, 201)
	id = created["id"].(string)
	computopShopper(t, created["next_action"].(map[string]any)["url"].(string), "approve").Body.Close()
	p.waitFor(id, 30*time.Second, "authorized")
	if got := p.mustCall("POST", "/v1/payments/"+id+"/capture", `{"amount":1000}`, 200, "Idempotency-Key", "cap-1"); got["status"] != "partially_captured" {
		t.Fatalf("partial capture: %v", got)
	}
	if status, m := p.call("POST", "/v1/payments/"+id+"/capture", `{"amount":2001}`); status != 400 {
		t.Fatalf("capture beyond the authorization: %d %v", status, m)
	}
	if got := p.mustCall("POST", "/v1/payments/"+id+"/capture", `{}`, 200, "Idempotency-Key", "cap-2"); got["status"] != "captured" || got["captured_amount"].(float64) != 3000 {
		t.Fatalf("capture of the rest: %v", got)
	}

	// The shopper declines.
	created = p.mustCall("POST", "/v1/payments", `{"amount":4000,"currency":"EUR","connector":"computop",`+computopBilling+`}`, 201)
	id = created["id"].(string)
	computopShopper(t, created["next_action"].(map[string]any)["url"].(string), "decline").Body.Close()
	p.waitFor(id, 30*time.Second, "failed", "canceled")

	// A forged notify changes nothing.
	forged, _ := http.PostForm(p.URL+"/callbacks/computop/computop-sandbox/notify", url.Values{"MerchantID": {"TenderSandbox"}, "Len": {"16"}, "Data": {"00112233445566778899AABBCCDDEEFF"}})
	forged.Body.Close()
	if forged.StatusCode < 400 {
		t.Fatalf("forged notify answered %d", forged.StatusCode)
	}
	if got := p.mustCall("GET", "/v1/payments/"+id, "", 200); got["status"] != "failed" && got["status"] != "canceled" {
		t.Fatalf("after forged notify: %v", got["status"])
	}
}
