package computop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// Name is the connector's name in Tender's API.
const Name = "computop"

// Options configure a Connector.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      tender.Clock
	// Timeout bounds each request to Paygate; 0 means 30s.
	Timeout time.Duration
	// NotifyGrace and AbandonAfter override the defaults of assumptions.go.
	NotifyGrace  time.Duration
	AbandonAfter time.Duration
}

// Connector is Tender's tender.Connector for Computop Paygate (Wero).
type Connector struct {
	http         *http.Client
	log          *slog.Logger
	clock        tender.Clock
	timeout      time.Duration
	notifyGrace  time.Duration
	abandonAfter time.Duration
}

var (
	_ tender.Connector     = (*Connector)(nil)
	_ tender.CheckoutPager = (*Connector)(nil)
)

// New returns a Connector.
func New(opts Options) *Connector {
	c := &Connector{http: opts.HTTPClient, log: opts.Logger, clock: opts.Clock, timeout: opts.Timeout,
		notifyGrace: opts.NotifyGrace, abandonAfter: opts.AbandonAfter}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = tender.SystemClock{}
	}
	if c.notifyGrace <= 0 {
		c.notifyGrace = NotifyGrace
	}
	if c.abandonAfter <= 0 {
		c.abandonAfter = AbandonAfter
	}
	return c
}

// Name returns "computop".
func (c *Connector) Name() string { return Name }

// ValidateAccount checks the settings and credentials (see account.go).
func (c *Connector) ValidateAccount(a *tender.Account) error {
	_, err := parseAccount(a)
	return err
}

// ValidateTerminal refuses terminals: Wero through Paygate is online only.
func (c *Connector) ValidateTerminal(t *tender.Terminal, a *tender.Account) error {
	return tender.Errorf(tender.ENotSupported, "computop has no terminals")
}

// ValidatePayment checks a new payment by building its WERO.aspx request
// against the seed's table; nothing is sent.
func (c *Connector) ValidatePayment(p *tender.Payment, a *tender.Account, t *tender.Terminal) error {
	if t != nil {
		return tender.Invalid("terminal", "computop payments are online; leave terminal empty")
	}
	cfg, err := parseAccount(a)
	if err != nil {
		return err
	}
	_, err = c.weroRequest(cfg, p, "", "https://tender.invalid/callbacks/computop/x")
	return err
}

// state is the connector's durable state of a payment (Payment.State).
type state struct {
	TransID string `json:"trans_id"`
	ReqID   string `json:"req_id,omitempty"`
	ED      bool   `json:"ed,omitempty"`
	PayID   string `json:"pay_id,omitempty"`
	XID     string `json:"xid,omitempty"`
	// Outcome is the payment result Tender accepted: "ok" or "failed:<Code>".
	Outcome string `json:"outcome,omitempty"`
	// Notified is set once a verified URLNotify was received; Paygate
	// refuses follow-up actions before (seed, URLNotify).
	Notified     bool      `json:"notified,omitempty"`
	AuthorizedAt time.Time `json:"authorized_at,omitzero"`
}

func loadState(p *tender.Payment) (*state, error) {
	st := &state{TransID: p.ID}
	if len(p.State) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(p.State, st); err != nil {
		return nil, tender.Wrap(tender.EInternal, err, "the payment's computop state is unreadable")
	}
	return st, nil
}

func (st *state) raw() json.RawMessage {
	b, _ := json.Marshal(st)
	return b
}

// userData binds amount and currency to the payment: Paygate echoes
// UserData in every result, so a result for another amount or payment is
// caught even if blocks of its ECB Data were spliced.
func userData(m *Merchant, transID string, amount int64, currency string) string {
	a := strconv.FormatInt(amount, 10)
	return a + "." + currency + "." + MAC(m.HMACKey, "tender-userdata", transID, a, currency)[:24]
}

func (c *Connector) weroRequest(cfg *config, p *tender.Payment, reqID, callbackURL string) (*WeroRequest, error) {
	if !weroCurrencies[p.Currency] {
		return nil, tender.Invalid("currency", "Wero pays in EUR only")
	}
	if p.Amount < cfg.minAmount {
		return nil, tender.Invalid("amount", "the amount must be at least %d cents for this Computop account", cfg.minAmount)
	}
	if p.Amount > 9999999999 {
		return nil, tender.Invalid("amount", "the amount must have at most 10 digits in cents")
	}
	in, err := parseInput(p)
	if err != nil {
		return nil, err
	}
	chDesc := in.ChDesc
	if chDesc == "" {
		chDesc = p.Reference
		if chDesc == "" {
			chDesc = p.ID
		}
		chDesc = ChDesc(chDesc)
	}
	w := &WeroRequest{
		TransID: p.ID, RefNr: p.Reference, Amount: p.Amount, Currency: p.Currency,
		OrderDesc:  Transliterate(p.Description),
		URLSuccess: callbackURL + "/success", URLFailure: callbackURL + "/failure", URLNotify: callbackURL + "/notify",
		UserData: userData(cfg.merchant, p.ID, p.Amount, p.Currency), ReqID: reqID,
		PayTypeED: p.CaptureMode == tender.CaptureManual, ChDesc: chDesc,
		Billing: in.Billing, Shipping: in.Shipping,
	}
	ps, err := w.Params(cfg.merchant)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, tender.Invalid(paramName(fe.Field), "%s must be %s", paramName(fe.Field), ruleWords(fe))
		}
		return nil, tender.Wrap(tender.EInternal, err, "the Paygate request could not be built")
	}
	for _, f := range ps {
		if strings.Contains(f.Value, "&") { // Paygate's format cannot carry it (notes §9.5)
			return nil, tender.Invalid(paramName(f.Key), "%s must not contain '&'", paramName(f.Key))
		}
	}
	return w, nil
}

func ruleWords(fe *FieldError) string {
	switch fe.Rule {
	case RuleMissing, RuleEmpty:
		return "given"
	}
	return fe.Format.Describe()
}

func (c *Connector) client(cfg *config) *Client {
	return &Client{BaseURL: cfg.baseURL, Merchant: cfg.merchant, HTTP: c.http, Timeout: c.timeout}
}

// checkCallbackURL enforces Paygate's rule for the URLs of a live payment:
// https on port 443, no query (seed, URLSuccess).
func checkCallbackURL(cfg *config, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery != "" || u.Host == "" {
		return tender.Errorf(tender.EInternal, "the callback URL is not usable for Paygate")
	}
	if cfg.live && (u.Scheme != "https" || (u.Port() != "" && u.Port() != "443")) {
		return tender.Errorf(tender.EInvalid, "Paygate calls back only over https on port 443; configure an https public URL")
	}
	return nil
}

// Start builds the encrypted WERO.aspx request and returns requires_action
// with the URL that takes the shopper there. Nothing is sent to Paygate:
// the shopper's browser makes the request.
func (c *Connector) Start(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, err := parseAccount(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	if err := checkCallbackURL(cfg, op.CallbackURL); err != nil {
		return tender.Update{}, err
	}
	p := op.Payment
	st, err := loadState(p)
	if err != nil {
		return tender.Update{}, err
	}
	st.TransID = p.ID
	st.ReqID = ReqID(firstNonEmpty(op.ID, p.OperationID))
	st.ED = p.CaptureMode == tender.CaptureManual
	w, err := c.weroRequest(cfg, p, st.ReqID, op.CallbackURL)
	if err != nil {
		return tender.Update{}, err
	}
	action, fields, err := c.client(cfg).WeroForm(w)
	if err != nil {
		return tender.Update{}, tender.Wrap(tender.EInternal, err, "the Paygate request could not be built")
	}
	next := &tender.NextAction{Type: "redirect", URL: action + "?" + fields.Encode(), Data: map[string]string{
		"method": http.MethodPost, "action": action,
		"MerchantID": fields.Get("MerchantID"), "Len": fields.Get("Len"), "Data": fields.Get("Data"),
	}}
	if len(next.URL) > maxGetURL && op.PageURL != "" {
		next.URL = op.PageURL // Tender's page posts the form (CheckoutPage)
	}
	return tender.Update{
		Status: tender.StatusRequiresAction, NextAction: next, State: st.raw(),
		CheckIn: c.notifyGrace, Note: "shopper sent to Paygate WERO.aspx",
	}, nil
}

var autopost = template.Must(template.New("autopost").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Wero</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}<noscript><button type="submit">Continue to Wero</button></noscript>
</form><script>` + autopostScript + `</script></body></html>`))

// autopostScript submits the form; the page's Content-Security-Policy
// allows it by its hash (CheckoutScripts) and no other script.
const autopostScript = `document.forms[0].submit()`

// CheckoutScripts says what the form page runs (tender.CheckoutScripter).
func (c *Connector) CheckoutScripts(*tender.Account) ([]string, error) {
	sum := sha256.Sum256([]byte(autopostScript))
	return []string{"'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"}, nil
}

// CheckoutPage serves a form that posts the WERO.aspx request, for
// requests too long for a GET URL (notes §2.6).
func (c *Connector) CheckoutPage(ctx context.Context, op *tender.Op) (string, []byte, error) {
	u, err := c.Start(ctx, op)
	if err != nil {
		return "", nil, err
	}
	d := u.NextAction.Data
	var b bytes.Buffer
	err = autopost.Execute(&b, map[string]any{"Action": d["action"], "Fields": url.Values{
		"MerchantID": {d["MerchantID"]}, "Len": {d["Len"]}, "Data": {d["Data"]}}})
	if err != nil {
		return "", nil, tender.Wrap(tender.EInternal, err, "the checkout page could not be rendered")
	}
	return "text/html; charset=utf-8", b.Bytes(), nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// unavailable is the error for a request whose outcome is unknown.
func unavailable(err error, what string) error {
	return tender.Wrap(tender.EUnavailable, err, "Paygate did not answer the %s; the outcome is unknown", what)
}

// refused is the error for a request Paygate answered with a failure.
func refused(r *Result, what string) error {
	return &tender.Error{Code: tender.EProvider, Message: fmt.Sprintf("Paygate refused the %s", what),
		ProviderCode: r.Code, Err: fmt.Errorf("computop: %s: Status %s Code %s", what, r.Status, r.Code)}
}
