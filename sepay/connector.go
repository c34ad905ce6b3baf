package sepay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"crypto/rsa"

	"github.com/tenderpay/tender"
)

// Name is the connector's name.
const Name = "sepay"

// Options configure a Connector.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      tender.Clock
	// RequestTimeout bounds one SOAP call (default 30 s).
	RequestTimeout time.Duration
	// LongPoll is the <timeout> sent with GetTransactionStatus: Sepay may
	// hold the answer that long while nothing changes. Default 0 (plain
	// polling), as the notes advise until Sepay confirms the semantics.
	LongPoll time.Duration
	// PollInterval is the CheckIn asked for while a terminal works on a
	// payment whose outcome is polled for (default 2 s).
	PollInterval time.Duration
	// CallbackPollInterval is the CheckIn while a payment was sent with a
	// callbackurl (default 10 s): the signed callback tells the outcome,
	// so the status is asked only to find a payment whose callback was
	// lost. Each poll costs two RSA signatures (Tender's request and
	// Sepay's answer).
	CallbackPollInterval time.Duration
	// ResendWindow overrides the package's ResendWindow (tests).
	ResendWindow time.Duration
}

// Connector is Sepay WECR v2 as a tender.Connector.
type Connector struct {
	opts    Options
	log     *slog.Logger
	configs configCache
}

var _ tender.Connector = (*Connector)(nil)

// New returns a Connector.
func New(opts Options) *Connector {
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = tender.SystemClock{}
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.CallbackPollInterval <= 0 {
		opts.CallbackPollInterval = 10 * time.Second
	}
	if opts.ResendWindow <= 0 {
		opts.ResendWindow = ResendWindow
	}
	return &Connector{opts: opts, log: opts.Logger.With("connector", Name)}
}

// Name implements tender.Connector.
func (c *Connector) Name() string { return Name }

// ValidateAccount implements tender.Connector.
func (c *Connector) ValidateAccount(a *tender.Account) error {
	_, err := parseConfig(a)
	return err
}

// ValidateTerminal implements tender.Connector: ProviderID is the SID.
func (c *Connector) ValidateTerminal(t *tender.Terminal, a *tender.Account) error {
	if err := checkText(t.ProviderID); err != nil {
		return tender.Invalid("provider_id", "the Sepay SID (provider_id) %s", err)
	}
	return nil
}

// ValidatePayment implements tender.Connector.
func (c *Connector) ValidatePayment(p *tender.Payment, a *tender.Account, t *tender.Terminal) error {
	if t == nil {
		return tender.Invalid("terminal", "Sepay payments are made on a terminal: give its id")
	}
	if p.Currency != Currency {
		return tender.Invalid("currency", "Sepay terminals take EUR only, not %s", p.Currency)
	}
	if p.CaptureMode == tender.CaptureManual {
		// The terminal would take the money at once: a merchant who asked
		// to capture later must hear so before anything is charged.
		return &tender.Error{Code: tender.ENotSupported, Param: "capture",
			Message: "Sepay terminal sales are captured at once; capture \"manual\" is not supported"}
	}
	if p.Amount <= 0 {
		return tender.Invalid("amount", "amount must be more than 0 (Sepay has no refunds by amount)")
	}
	if p.Amount > 99999999 { // EUR 999,999.99: far above any terminal's limit
		return tender.Invalid("amount", "amount is more than a terminal can take")
	}
	if err := checkOptionalText(p.Reference); err != nil {
		return tender.Invalid("reference", "reference %s", err)
	}
	return nil
}

// State is what the connector keeps in Payment.State.
type State struct {
	TransactionRef string `json:"transactionref"`
	SID            string `json:"sid"`
	TerminalIP     string `json:"terminal_ip,omitempty"`
	TerminalPort   string `json:"terminal_port,omitempty"`
	// Callback says the payment was started with a callbackurl, so its
	// outcome will be posted and its status is asked only rarely.
	Callback bool `json:"callback,omitempty"`
}

func stateOf(op *tender.Op) State {
	var s State
	if len(op.Payment.State) > 0 {
		_ = json.Unmarshal(op.Payment.State, &s) // a broken state falls back to derivation
	}
	if s.TransactionRef == "" {
		s.TransactionRef = TransactionRef(op.Payment.ID)
	}
	if op.Terminal != nil && op.Terminal.ProviderID != "" {
		s.SID = op.Terminal.ProviderID
	}
	return s
}

func (s State) raw() json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func (c *Connector) client(cfg *config) *Client {
	return &Client{
		URL: cfg.url, Login: cfg.login, KeyIndex: cfg.keyIndex, Key: cfg.key,
		Sepay: map[int]*rsa.PublicKey{0: cfg.sepay}, HTTP: c.opts.HTTPClient, Timeout: c.opts.RequestTimeout,
	}
}

func (c *Connector) prepare(op *tender.Op) (*config, State, error) {
	cfg, err := c.configs.get(op.Account)
	if err != nil {
		return nil, State{}, err
	}
	st := stateOf(op)
	if st.SID == "" {
		return nil, st, tender.Invalid("terminal", "the payment has no Sepay terminal")
	}
	return cfg, st, nil
}

// Start implements tender.Connector: StartTransaction queues the payment on
// the terminal. The transactionref is derived from the payment id (stored
// before sending), so whatever happens to the answer, the same reference is
// asked about afterwards.
func (c *Connector) Start(ctx context.Context, op *tender.Op) (tender.Update, error) {
	cfg, st, err := c.prepare(op)
	if err != nil {
		return tender.Update{}, err
	}
	if err := c.ValidatePayment(op.Payment, op.Account, op.Terminal); err != nil {
		return tender.Update{}, err
	}
	return c.start(ctx, op, cfg, st)
}

// callbackURL is the <callbackurl> a payment is started with, "" when the
// account or the server sends none.
func callbackURL(cfg *config, op *tender.Op) string {
	if cfg.callbacks && op.CallbackURL != "" {
		return op.CallbackURL + CallbackPath
	}
	return ""
}

// pollInterval is how soon to ask about a payment a terminal works on:
// rarely when its callback will tell (a lost one is still found then),
// every PollInterval otherwise.
func (c *Connector) pollInterval(st State) time.Duration {
	if st.Callback {
		return c.opts.CallbackPollInterval
	}
	return c.opts.PollInterval
}

func (c *Connector) start(ctx context.Context, op *tender.Op, cfg *config, st State) (tender.Update, error) {
	p := op.Payment
	callback := callbackURL(cfg, op)
	res, err := c.client(cfg).StartTransaction(ctx, st.SID, st.TransactionRef,
		MerchantRef(p.Reference, p.ID), p.Amount, callback)
	if err != nil {
		return tender.Update{}, c.callError("start the payment", st, err)
	}
	code := res.Status()
	st.Callback = callback != ""
	switch code {
	case StatusOK:
		st.TerminalIP, st.TerminalPort = res.Get("terminalip"), res.Get("terminalport")
		return tender.Update{
			Status: tender.StatusProcessing, ProviderReference: st.TransactionRef, State: st.raw(),
			Details: details(st, res), CheckIn: c.pollInterval(st),
			Note: "queued on terminal " + st.SID + "; waiting for the terminal to pick it up",
		}, nil
	case StatusDuplicate:
		// The reference exists at Sepay: this payment was sent before and
		// its answer lost. Never start another; follow the existing one.
		return tender.Update{
			Status: tender.StatusProcessing, ProviderReference: st.TransactionRef, State: st.raw(),
			CheckIn: time.Millisecond, Note: "Sepay already has this transaction (06); following it",
		}, nil
	case StatusPending:
		return tender.Update{}, &tender.Error{Code: tender.ETerminalBusy, ProviderCode: code,
			Message: "terminal " + st.SID + " is busy with another payment; finish or cancel that one first"}
	}
	return tender.Update{}, refusal("start the payment", st, res)
}

// refusal turns a status code that is not about the transaction into an
// error: configuration and request errors (nothing happened at Sepay), or
// an unknown code (outcome unknown).
func refusal(what string, st State, res *Result) error {
	code := res.Status()
	e := &tender.Error{Code: tender.EProvider, ProviderCode: code,
		Err: errors.New("sepay " + code + ": " + res.Get("message"))}
	switch code {
	case StatusMissing, StatusInvalid:
		e.Message = "Sepay refused the request as incomplete or invalid (" + code + ")"
	case StatusBadSig:
		e.Message = "Sepay could not verify Tender's signature (02): check private_key and that Sepay linked its certificate to the login"
	case StatusNotEnabled:
		e.Message = "Sepay terminal " + st.SID + " is not enabled for WECR under this login (07); ask Sepay to link it and reboot the terminal"
	default:
		e.Code = tender.EUnavailable
		e.Message = "Sepay answered " + code + " (" + StatusText(code) + ") when asked to " + what + "; the outcome is checked again"
	}
	return e
}

// callError maps a client error. Anything but a SOAP fault from the request
// parser leaves the outcome unknown.
func (c *Connector) callError(what string, st State, err error) error {
	c.log.Warn("sepay call failed", "op", what, "transactionref", st.TransactionRef, "err", err)
	var fe *FaultError
	if errors.As(err, &fe) && strings.Contains(fe.Fault.Code, "Client") {
		return tender.Wrap(tender.EProvider, err, "Sepay rejected the request as malformed")
	}
	if errors.Is(err, ErrSignature) {
		return tender.Wrap(tender.EUnavailable, err, "Sepay's answer failed signature verification and was not believed; the status is asked again")
	}
	return tender.Wrap(tender.EUnavailable, err, "no usable answer from Sepay when trying to %s; the outcome is checked again", what)
}

func details(st State, res *Result) map[string]string {
	d := map[string]string{"sid": st.SID, "transactionref": st.TransactionRef}
	for k, f := range map[string]string{
		"terminal_ip": "terminalip", "terminal_port": "terminalport", "brand": "brand",
		"transaction_time": "transactiontime", "transaction_error": "transactionerror",
		"transaction_result": "transactionresult",
	} {
		if v := strings.TrimSpace(res.Get(f)); v != "" {
			d[k] = v
		}
	}
	return d
}

// Capture implements tender.Connector: terminal sales are captured by the
// terminal itself.
func (c *Connector) Capture(ctx context.Context, op *tender.Op) (tender.Update, error) {
	return tender.Update{}, tender.Errorf(tender.ENotSupported, "Sepay terminal payments are captured by the terminal; there is nothing to capture")
}

// Refund implements tender.Connector: WECR has no refund operation.
func (c *Connector) Refund(ctx context.Context, op *tender.Op) (tender.Update, error) {
	return tender.Update{}, tender.Errorf(tender.ENotSupported, "Sepay WECR has no refund operation; make the refund on the terminal itself")
}
