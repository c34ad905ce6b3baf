package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/computop"
	cpsim "github.com/tenderpay/tender/computop/sim"
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

// TestComputopRefundThroughAPI refunds captured Wero payments through
// Tender's HTTP API against the Paygate simulator's credit.aspx: in parts,
// a retried request once, more than is left refused, a credit whose answer
// is lost (sandbox rule 55 on the credit's amount) found by the reconciler
// in the inquiry's credited total; then the simulator's ledger, read with
// inquire.aspx as a merchant would, agrees with Tender's records.
func TestComputopRefundThroughAPI(t *testing.T) {
	t.Parallel()
	p := startTender(t)
	pay := func(amount int) string {
		t.Helper()
		created := p.mustCall("POST", "/v1/payments", fmt.Sprintf(`{"amount":%d,"currency":"EUR","connector":"computop",`+computopBilling+`}`, amount), 201)
		id := created["id"].(string)
		computopShopper(t, created["next_action"].(map[string]any)["url"].(string), "approve").Body.Close()
		p.waitFor(id, 30*time.Second, "captured")
		return id
	}
	a := pay(2500)
	path := "/v1/payments/" + a + "/refunds"
	for range 2 {
		got := p.mustCall("POST", path, `{"amount":1000}`, 200, "Idempotency-Key", "ref-a1")
		if got["status"] != "partially_refunded" || got["refunded_amount"].(float64) != 1000 {
			t.Fatalf("partial refund: %v", got)
		}
	}
	if status, m := p.call("POST", path, `{"amount":1501}`); status != 400 {
		t.Fatalf("refund beyond what is left: %d %v", status, m)
	}
	got := p.mustCall("POST", path, `{"amount":700}`, 200, "Idempotency-Key", "ref-a2")
	if got["status"] != "partially_refunded" || got["refunded_amount"].(float64) != 1700 {
		t.Fatalf("second partial refund: %v", got)
	}
	got = p.mustCall("POST", path, `{}`, 200, "Idempotency-Key", "ref-a3")
	if got["status"] != "refunded" || got["refunded_amount"].(float64) != 2500 {
		t.Fatalf("refund of the rest: %v", got)
	}
	if status, m := p.call("POST", path, `{}`); status != 409 {
		t.Fatalf("refund of a refunded payment: %d %v", status, m)
	}

	// Rule 51 on the credit's amount: Paygate declines; nothing is booked.
	b := pay(3000)
	if status, m := p.call("POST", "/v1/payments/"+b+"/refunds", `{"amount":151}`); status != 502 {
		t.Fatalf("declined credit: %d %v", status, m)
	}
	// Rule 55: credited, never answered. The reconciler asks the inquiry.
	if status, m := p.call("POST", "/v1/payments/"+b+"/refunds", `{"amount":455}`, "Idempotency-Key", "ref-b1"); status == 200 {
		t.Fatalf("a credit without an answer succeeded at once: %v", m)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got = p.mustCall("GET", "/v1/payments/"+b, "", 200)
		if got["refunded_amount"].(float64) == 455 && got["status"] == "partially_refunded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the credit in doubt was not reconciled: %v", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The retry with the same key learns the outcome and credits nothing more.
	if got := p.mustCall("POST", "/v1/payments/"+b+"/refunds", `{"amount":455}`, 200, "Idempotency-Key", "ref-b1"); got["refunded_amount"].(float64) != 455 {
		t.Fatalf("retry of the credit in doubt: %v", got)
	}
	computopLedgerAgrees(t, p, a, b)
}

// computopClient is a Paygate client with the sandbox merchant's keys.
func computopClient(t *testing.T, p *tenderProc) *computop.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Data, "sim", "computop", "computop-sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		EncryptionKey string `json:"encryption_key"`
		HMACKey       string `json:"hmac_key"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	c, err := computop.NewCipher(computop.Blowfish, []byte(k.EncryptionKey))
	if err != nil {
		t.Fatal(err)
	}
	return &computop.Client{BaseURL: p.SimURL + "/sim/computop", Merchant: &computop.Merchant{ID: cpsim.SandboxMerchantID, Cipher: c, HMACKey: []byte(k.HMACKey)}}
}

// computopLedgerAgrees asks the simulated Paygate's inquire.aspx, with the
// sandbox merchant's keys, what it captured and credited for each payment,
// and compares that with Tender's record.
func computopLedgerAgrees(t *testing.T, p *tenderProc, ids ...string) {
	t.Helper()
	cl := computopClient(t, p)
	for _, id := range ids {
		pay := p.mustCall("GET", "/v1/payments/"+id, "", 200)
		r, err := cl.Inquire(context.Background(), pay["provider_reference"].(string), id)
		if err != nil || !r.OK() {
			t.Fatalf("inquiry of %s: %+v %v", id, r, err)
		}
		capt, cred := r.Params.Get("AmountCap"), r.Params.Get("AmountCred")
		if capt != strconv.Itoa(int(pay["captured_amount"].(float64))) || cred != strconv.Itoa(int(pay["refunded_amount"].(float64))) {
			t.Errorf("%s: Tender captured %v refunded %v; Paygate captured %s credited %s", id, pay["captured_amount"], pay["refunded_amount"], capt, cred)
		}
	}
}
