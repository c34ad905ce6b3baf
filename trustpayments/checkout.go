package trustpayments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/url"
	"strings"

	"github.com/tenderpay/tender"
)

// checkoutPage is the hosted checkout: st.js v3's documented markup (a form
// with st-card-number, st-expiration-date and st-security-code containers
// and a notification frame) and its initialisation with the request JWT.
// The library posts the form, with the response jwt, to the form's action.
// In sandbox the account's library_url points at the simulator's stand-in,
// which implements the same SecureTrading({...}).Components() interface.
var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Pay}} {{.Amount}} {{.Currency}}</title>
<style>
body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;display:flex;justify-content:center;padding:3rem 1rem}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002;padding:2rem;max-width:26rem;width:100%;border-top:6px solid #1d4ed8}
h1{font-size:1.2rem;font-weight:600;margin:0;text-align:center}.amount{font-size:2rem;font-weight:600;margin:.5rem 0 1.5rem;text-align:center}
.st-card-number,.st-expiration-date,.st-security-code{margin:.6rem 0}
button{width:100%;padding:.8rem;font-size:1rem;border:0;border-radius:8px;background:#1d4ed8;color:#fff;cursor:pointer}
button:focus-visible{outline:3px solid #f5b400;outline-offset:2px}
.note{color:#5f6368;font-size:.85rem;margin-top:1rem}
.notice{background:#fdecea;color:#8a1c12;border-radius:8px;padding:.7rem 1rem;margin:0 0 1rem}
button.secondary{background:#fff;color:#1d4ed8;border:1px solid #1d4ed8;margin-top:.8rem}
</style>
</head>
<body><main>
<h1>{{if .Description}}{{.Description}}{{else}}{{.Card}}{{end}}</h1>
<div class="amount">{{.Amount}} {{.Currency}}</div>
{{if .Notice}}<p class="notice" role="alert" id="attempt-failed">{{.Notice}}</p>{{end}}
<div id="st-notification-frame"></div>
<form id="st-form" action="{{.Action}}" method="POST" data-jwt="{{.JWT}}">
  <input type="hidden" name="orderreference" value="{{.PaymentID}}">
  <div id="st-card-number" class="st-card-number"></div>
  <div id="st-expiration-date" class="st-expiration-date"></div>
  <div id="st-security-code" class="st-security-code"></div>
  <div id="st-challenge" class="st-challenge"></div>
  <button type="submit" id="st-form__submit">{{.Pay}} {{.Amount}} {{.Currency}}</button>
</form>
{{if .CancelURL}}<form action="{{.CancelURL}}" method="POST"><button type="submit" class="secondary" id="cancel">{{.CancelLabel}}</button></form>{{end}}
{{if .Sandbox}}<p class="note">Sandbox: try 4111 1111 1111 1111, 12/30, security code 123. Card 4000 0000 0000 1091 asks for a 3-D Secure code (1234); amounts ending in .51 are declined.</p>{{end}}
</main>
<script src="{{.LibraryURL}}"></script>
<script>` + checkoutInit + `</script>
</body>
</html>
`))

// checkoutInit starts the library with the request JWT that the form
// carries in data-jwt. It is the same text on every page, so the page's
// Content-Security-Policy allows it by its hash and no other inline script.
const checkoutInit = `
(function () {
  var form = document.getElementById("st-form");
  var st = SecureTrading({
    jwt: form.getAttribute("data-jwt"),
    formId: "st-form",
    submitOnSuccess: true,
    submitOnError: true
  });
  st.Components();
})();
`

// CheckoutScripts says what the checkout page runs (tender.CheckoutScripter):
// the library from its host and the inline start of it.
func (c *Connector) CheckoutScripts(a *tender.Account) ([]string, error) {
	cfg, err := ParseConfig(a)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.LibraryURL)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(checkoutInit))
	return []string{u.Scheme + "://" + u.Host, "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"}, nil
}

// CheckoutPage renders the hosted checkout for a payment that requires
// action: it loads the JavaScript library with the request JWT, and the
// library posts the response JWT to Op.CallbackURL + "/return".
func (c *Connector) CheckoutPage(ctx context.Context, op *tender.Op) (string, []byte, error) {
	cfg, err := ParseConfig(op.Account)
	if err != nil {
		return "", nil, err
	}
	if cfg.LibraryOverride {
		c.log.Warn("trustpayments: checkout loads st.js from a host Trust Payments does not document ("+SettingLibraryHostOverride+" is set)",
			"account", op.Account.ID, "library_url", cfg.LibraryURL)
	}
	p := op.Payment
	jwt := stateOf(p).JWT
	if jwt == "" && p.NextAction != nil {
		jwt = p.NextAction.Data["jwt"]
	}
	if jwt == "" {
		return "", nil, tender.Errorf(tender.EConflict, "the payment has no checkout")
	}
	w := checkoutWords(tender.LocaleFrom(ctx))
	sp := tender.ShopperPageFrom(ctx)
	var b bytes.Buffer
	err = checkoutPage.Execute(&b, map[string]any{
		"Amount":      tender.FormatMinor(p.Amount, p.Currency),
		"Currency":    p.Currency,
		"Description": p.Description,
		"Action":      op.CallbackURL + "/" + ReturnPath,
		"PaymentID":   p.ID,
		"LibraryURL":  cfg.LibraryURL,
		"JWT":         jwt,
		"Sandbox":     op.Account.Environment == tender.EnvSandbox,
		"Lang":        w.lang,
		"Pay":         w.pay,
		"Card":        w.card,
		"Notice":      sp.Notice,
		"CancelURL":   sp.CancelURL,
		"CancelLabel": sp.CancelLabel,
	})
	if err != nil {
		return "", nil, tender.Wrap(tender.EInternal, err, "could not render the checkout page")
	}
	return "text/html; charset=utf-8", b.Bytes(), nil
}

type pageWords struct{ lang, pay, card, locale string }

// checkoutWords are the checkout's words in the languages of Tender's
// shopper pages, with the locale st.js is given for its own texts.
var checkoutLanguages = map[string]pageWords{
	"en": {"en", "Pay", "Card payment", "en_GB"},
	"nl": {"nl", "Betaal", "Betalen met kaart", "nl_NL"},
	"de": {"de", "Bezahlen", "Kartenzahlung", "de_DE"},
	"fr": {"fr", "Payer", "Paiement par carte", "fr_FR"},
	"el": {"el", "Πληρωμή", "Πληρωμή με κάρτα", "el_GR"},
}

// checkoutWords returns the words for a BCP 47 locale, English when
// Tender has not its language.
func checkoutWords(locale string) pageWords {
	base, _, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	if w, ok := checkoutLanguages[strings.ToLower(base)]; ok {
		return w
	}
	return checkoutLanguages["en"]
}
