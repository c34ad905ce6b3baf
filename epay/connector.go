package epay

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// Options configure the Connector.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
	Clock      tender.Clock
	// RequestTimeout bounds each HTTP call (default 30 s).
	RequestTimeout time.Duration
	// PollInterval is how soon to look at a payment on the terminal again
	// (default 2 s, as GKS polls; notes §2).
	PollInterval time.Duration
	// WorkingPollInterval is how soon to look again once the terminal has
	// taken the payment (intent SENT): the card is being read and the
	// outcome is seconds away, and with no callback from ePay the poll is
	// what tells the POS (default 500 ms).
	WorkingPollInterval time.Duration
	// LostAfter: a payment whose txninit got no answer and for which ePay
	// has no intent after this long never reached ePay (default 2 min).
	LostAfter time.Duration
	// OperationWait is how long a refund or pre-authorization completion,
	// a transaction of its own on the terminal, is waited for before it is
	// left in doubt for CheckOperation (default 30 s; keep it below the
	// engine's provider timeout).
	OperationWait time.Duration
}

// Connector is the epay tender.Connector: Impact signs, ePay's WebECR
// drives the terminal.
type Connector struct {
	opts    Options
	log     *slog.Logger
	mu      sync.Mutex
	clients map[string]*WebECRClient // by account endpoint + credentials
	termIDs map[string]string        // webecr URL + TID → backend terminal id
}

var _ tender.Connector = (*Connector)(nil)

// New returns a Connector.
func New(o Options) *Connector {
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Clock == nil {
		o.Clock = tender.SystemClock{}
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.PollInterval == 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.WorkingPollInterval == 0 {
		o.WorkingPollInterval = 500 * time.Millisecond
	}
	if o.LostAfter == 0 {
		o.LostAfter = 2 * time.Minute
	}
	if o.OperationWait == 0 {
		o.OperationWait = 30 * time.Second
	}
	return &Connector{opts: o, log: o.Logger, clients: map[string]*WebECRClient{}, termIDs: map[string]string{}}
}

// Name is "epay".
func (c *Connector) Name() string { return "epay" }

// ValidateAccount checks settings and credentials.
func (c *Connector) ValidateAccount(a *tender.Account) error {
	_, err := accountConfig(a)
	return err
}

// ValidateTerminal checks the TID and the terminal's ApiKey.
func (c *Connector) ValidateTerminal(t *tender.Terminal, a *tender.Account) error {
	_, _, err := terminalConfig(t)
	return err
}

// ValidatePayment checks the currency, the terminal and the invoice.
func (c *Connector) ValidatePayment(p *tender.Payment, a *tender.Account, t *tender.Terminal) error {
	if p.Currency != "EUR" {
		return tender.Invalid("currency", "ePay terminals take EUR only")
	}
	if _, _, err := terminalConfig(t); err != nil {
		return err
	}
	inv, err := ParseInvoice(p.Input, p.Amount)
	if err == nil && inv.Tip() != 0 && p.CaptureMode == tender.CaptureManual {
		return tender.Invalid("invoice.tip_amount", "a pre-authorization (capture \"manual\") takes no tip; add it to the completion's amount instead")
	}
	return err
}

// payState is the connector's durable state for a payment (Payment.State).
type payState struct {
	TID        string    `json:"tid"`
	TerminalID string    `json:"terminal_id"` // backend id
	IntentID   string    `json:"intent_id,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	UID        string    `json:"uid"`
	Input      string    `json:"input"`
	Signature  string    `json:"signature"`
	ProviderID string    `json:"provider_id"`
	// Tip is the tip the POS asked for (invoice.tip_amount); Payable the
	// signed payable amount (the payment's amount less the tip).
	Tip     int64 `json:"tip,omitempty"`
	Payable int64 `json:"payable,omitempty"`
	// PreAuth: capture "manual", sent as a pre-authorization (TxnType 2)
	// and completed by Capture (TxnType 3).
	PreAuth bool `json:"pre_auth,omitempty"`
}

func (st *payState) raw() json.RawMessage {
	b, _ := json.Marshal(st)
	return b
}

func loadState(p *tender.Payment) *payState {
	st := &payState{}
	if len(p.State) > 0 {
		_ = json.Unmarshal(p.State, st)
	}
	if st.StartedAt.IsZero() {
		st.StartedAt = p.CreatedAt
	}
	return st
}

func (c *Connector) webecr(cfg *config) *WebECRClient {
	h := sha256.Sum256([]byte(cfg.webecrURL + "\x00" + cfg.prefix + "\x00" + cfg.user + "\x00" + cfg.password))
	k := hex.EncodeToString(h[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.clients[k]; cl != nil {
		return cl
	}
	cl := &WebECRClient{BaseURL: cfg.webecrURL, PathPrefix: cfg.prefix, User: cfg.user, Password: cfg.password, HTTP: c.opts.HTTPClient}
	c.clients[k] = cl
	return cl
}

func (c *Connector) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.RequestTimeout)
}

// terminalID returns the backend id of the op's terminal (cached).
func (c *Connector) terminalID(ctx context.Context, cfg *config, wc *WebECRClient, t *tender.Terminal, apiKey string) (string, error) {
	if id := t.Settings[TerminalSettingBackendID]; id != "" {
		return id, nil
	}
	k := cfg.webecrURL + "\x00" + t.ProviderID
	c.mu.Lock()
	id := c.termIDs[k]
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	id, err := wc.ResolveTerminal(ctx, apiKey, t.ProviderID)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.termIDs[k] = id
	c.mu.Unlock()
	return id, nil
}

// Start signs the payment at Impact, checks the signature, and queues it
// on the terminal with txninit.
func (c *Connector) Start(ctx context.Context, op *tender.Op) (tender.Update, error) {
	p := op.Payment
	cfg, err := accountConfig(op.Account)
	if err != nil {
		return tender.Update{}, err
	}
	tid, apiKey, err := terminalConfig(op.Terminal)
	if err != nil {
		return tender.Update{}, err
	}
	inv, err := ParseInvoice(p.Input, p.Amount)
	if err != nil {
		return tender.Update{}, err
	}
	now := c.opts.Clock.Now()
	payable, tip := inv.Payable(p.Amount), inv.Tip()

	// 1. Impact signs the payment order.
	req := SignPOSRequest{NSPCode: cfg.nspCode, IssuerTin: inv.vat(), IssueDate: inv.Date, BranchCode: *inv.Branch,
		InvoiceTypeCode: inv.Type, Series: inv.Series, Identifier: string(inv.Number),
		PaymentAmount: Euros(payable), TotalNetAmount: Euros(*inv.NetAmount), TotalVatAmount: Euros(*inv.VATAmount),
		TotalAmount: Euros(*inv.TotalAmount), TerminalID: tid, SignatureDurationType: cfg.dur}
	if inv.Mark != "" {
		m, _ := markForProviderData(string(inv.Mark))
		req.Mark = m
	}
	ictx, cancel := c.timeout(ctx)
	ic := &ImpactClient{BaseURL: cfg.impactURL, APIKey: cfg.impactKey, HTTP: c.opts.HTTPClient}
	signed, clear, err := ic.SignPOS(ictx, req)
	cancel()
	if err != nil {
		// Nothing reached ePay: the payment certainly did not happen.
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			return tender.Update{}, tender.Wrap(tender.EProvider, err, "Impact refused the account's impact_api_key")
		}
		return tender.Update{}, tender.Wrap(tender.EProvider, err, "the e-invoicing provider (Impact) did not sign the payment; nothing was sent to the terminal")
	}

	// 2. Check what was signed before it goes anywhere.
	if err := CheckSigned(clear, signed.Signature, cfg.pub, inv, payable, tid, now, SignatureValidity(cfg.dur)); err != nil {
		c.log.Warn("epay: Impact signature refused", "payment", p.ID, "err", err)
		return tender.Update{}, tender.Wrap(tender.EProvider, err, "the e-invoicing provider's signature does not match the invoice; nothing was sent to the terminal")
	}
	st := &payState{TID: tid, StartedAt: now, UID: clear.UID, Input: signed.Input, Signature: signed.Signature, ProviderID: cfg.providerID,
		PreAuth: p.CaptureMode == tender.CaptureManual, Tip: tip, Payable: payable}

	// 3. Queue it on the terminal.
	wc := c.webecr(cfg)
	termID, err := c.terminalID(ctx, cfg, wc, op.Terminal, apiKey)
	if err != nil {
		return tender.Update{}, c.beforeSendError(err)
	}
	st.TerminalID = termID
	mark, _ := markForProviderData(clear.Mark)
	txnType := TxnSale
	if st.PreAuth {
		txnType = TxnPreAuth
	}
	tx := TxnInitRequest{TxnType: txnType, Amount: clear.Payable, TipAmount: tip, CurrencyCode: CurrencyEUR, CustomerReference: p.ID,
		ProviderData: &ProviderData{Uid: clear.UID, Mark: mark, SignatureTimestamp: clear.Timestamp,
			NetAmount: clear.Net, VatAmount: clear.VAT, TotalAmount: clear.Total,
			ProviderId: NumID(cfg.providerID), Signature: signed.Signature}}
	tctx, cancel := c.timeout(ctx)
	in, err := wc.TxnInit(tctx, apiKey, termID, tx)
	cancel()
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < 500 {
			return tender.Update{}, c.refusal(ae)
		}
		if errors.Is(err, ErrAuth) {
			return tender.Update{}, c.beforeSendError(err)
		}
		// Keep what Impact signed: the POS needs it for myDATA whatever
		// reconciliation finds.
		return tender.Update{State: st.raw(), Details: signedDetails(st, payable)},
			tender.Wrap(tender.EUnavailable, err, "ePay did not answer; the payment's outcome is being checked")
	}
	st.IntentID = string(in.ID)
	u, err := c.interpret(ctx, cfg, wc, apiKey, p, st, in)
	if err != nil {
		u = tender.Update{Status: tender.StatusProcessing, CheckIn: c.opts.PollInterval}
	}
	if u.Status == "" {
		u.Status = tender.StatusProcessing
	}
	u.ProviderReference = string(in.ID)
	u.State = st.raw()
	if u.Details == nil {
		u.Details = signedDetails(st, payable)
	}
	return u, nil
}

// CheckSigned checks Impact's answer against the invoice before the
// signature is sent on: every field of the clear text must be the
// invoice's (UID, MARK, net, VAT, total), the payable amount the payment's,
// the TID the terminal's, the time within validity (SignatureValidity of
// the account's signature_duration) and not in the future, and the
// signature valid under the provider's public key.
func CheckSigned(c ClearText, signature string, pub *ecdsa.PublicKey, inv *Invoice, amount int64, tid string, now time.Time, validity time.Duration) error {
	switch {
	case c.UID != inv.UID():
		return fmt.Errorf("signed UID %s is not the invoice's %s", c.UID, inv.UID())
	case inv.Mark == "" && !markAbsent(c.Mark), inv.Mark != "" && c.Mark != string(inv.Mark):
		return fmt.Errorf("signed MARK %q is not the invoice's %q", c.Mark, inv.Mark)
	case c.Net != *inv.NetAmount || c.VAT != *inv.VATAmount || c.Total != *inv.TotalAmount:
		return fmt.Errorf("signed amounts %d;%d;%d are not the invoice's", c.Net, c.VAT, c.Total)
	case c.Payable != amount:
		return fmt.Errorf("signed payable %d is not the payment amount %d", c.Payable, amount)
	case c.TID != tid:
		return fmt.Errorf("signed TID %s is not the terminal's %s", c.TID, tid)
	}
	ts, err := c.Time()
	if err != nil {
		return err
	}
	if now.Sub(ts) > validity || ts.Sub(now) > signatureSkew {
		return fmt.Errorf("signature time %s is not current", c.Timestamp)
	}
	return Verify(pub, c.String(), signature)
}

// beforeSendError maps an error that happened before txninit was sent:
// ePay certainly did nothing.
func (c *Connector) beforeSendError(err error) error {
	var ae *APIError
	switch {
	case errors.Is(err, ErrAuth):
		return tender.Wrap(tender.EProvider, err, "ePay refused the account's user and password")
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		return tender.Wrap(tender.EProvider, err, "ePay refused the terminal's api_key; pair the terminal again (tender epay apikey)")
	case errors.As(err, &ae):
		return tender.Wrap(tender.EProvider, err, "ePay refused the request")
	}
	return tender.Wrap(tender.EProvider, err, "ePay could not be reached; nothing was sent to the terminal")
}

// refusal maps a 4xx answer to txninit (ePay did nothing).
func (c *Connector) refusal(ae *APIError) error {
	e := &tender.Error{Code: tender.EProvider, Err: ae, ProviderCode: fmt.Sprint(ae.Status)}
	switch ae.Status {
	case http.StatusBadRequest:
		e.Message = "ePay refused the payment (for example the provider signature); nothing was sent to the terminal"
	case http.StatusForbidden:
		e.Message = "ePay refused the terminal's api_key; pair the terminal again (tender epay apikey)"
	case http.StatusNotFound:
		e.Message = "ePay does not know the terminal"
	default:
		e.Message = "ePay refused the payment"
	}
	return e
}
