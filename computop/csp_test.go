package computop

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"testing"
)

// TestAutopostScriptHash: the one inline script of the form page is the
// one whose hash CheckoutScripts gives the page's Content-Security-Policy,
// and the page has no inline event handler the policy would block.
func TestAutopostScriptHash(t *testing.T) {
	var b bytes.Buffer
	if err := autopost.Execute(&b, map[string]any{"Action": "https://www.computop-paygate.com/WERO.aspx",
		"Fields": url.Values{"MerchantID": {"m"}, "Len": {"1"}, "Data": {"x"}}}); err != nil {
		t.Fatal(err)
	}
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllSubmatch(b.Bytes(), -1)
	srcs, _ := (&Connector{}).CheckoutScripts(nil)
	if len(scripts) != 1 || len(srcs) != 1 {
		t.Fatalf("%d inline scripts, %d sources", len(scripts), len(srcs))
	}
	sum := sha256.Sum256(scripts[0][1])
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; srcs[0] != want {
		t.Fatalf("CheckoutScripts %s, want %s", srcs[0], want)
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=`).Match(b.Bytes()) {
		t.Fatalf("inline event handler in %s", b.Bytes())
	}
}
