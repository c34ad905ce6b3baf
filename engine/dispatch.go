package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/webhook"
)

// WebhookOptions configure the delivery of merchant webhooks. Zero fields
// take DefaultWebhookOptions'.
type WebhookOptions struct {
	// Object renders a payment for a delivery's data.object. cmd/tender
	// passes the API's renderer, so that a webhook carries exactly what
	// GET /v1/payments/{id} returns.
	Object func(*tender.Payment) any
	// AllowHTTP accepts http:// endpoint URLs (sandbox mode, for a
	// receiver on localhost); otherwise only https is accepted.
	AllowHTTP bool
	// PublicOnly refuses, at registration, a URL whose host is a literal
	// address that is not public (127.1, 0x7f000001, [::1],
	// 169.254.169.254) or localhost. Client must then also dial public
	// addresses only (PublicOnlyClient): this check is for the merchant's
	// benefit, an error at once instead of failed deliveries.
	PublicOnly bool
	// Client sends the deliveries; its redirects are never followed (a
	// 3xx is a failed attempt: the merchant must register the final URL).
	Client *http.Client
	// Timeout bounds one attempt, from dialling to the status line.
	Timeout time.Duration
	// Workers is how many deliveries are sent at once.
	Workers int
	// Poll is how often the dispatcher looks for due deliveries when this
	// process has queued none (other instances may have).
	Poll time.Duration
	// Lease is how long a claimed delivery is left to its dispatcher
	// before another may claim it again; longer than Timeout.
	Lease time.Duration
	// RetryBase is the pause after the first failed attempt; each next
	// pause doubles, up to RetryMax, with jitter so that an endpoint that
	// comes back is not hit by every queued delivery at once.
	RetryBase time.Duration
	RetryMax  time.Duration
	// GiveUpAfter is how long after its event a delivery is retried; an
	// attempt that fails later marks it failed.
	GiveUpAfter time.Duration
	// Retention is how long finished deliveries and their attempts are
	// kept (for GET .../deliveries) before the reconciler purges them.
	Retention time.Duration
}

// DefaultWebhookOptions: ten-second attempts, retried with exponential
// backoff (10 s, 20 s, 40 s, ... at most 12 h apart) for three days, which
// is about 17 attempts.
var DefaultWebhookOptions = WebhookOptions{
	Timeout:     10 * time.Second,
	Workers:     4,
	Poll:        time.Second,
	Lease:       time.Minute,
	RetryBase:   10 * time.Second,
	RetryMax:    12 * time.Hour,
	GiveUpAfter: 72 * time.Hour,
	Retention:   30 * 24 * time.Hour,
}

func (o *WebhookOptions) setDefaults() {
	d := DefaultWebhookOptions
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.Workers <= 0 {
		o.Workers = d.Workers
	}
	if o.Poll <= 0 {
		o.Poll = d.Poll
	}
	if o.Lease <= 0 {
		o.Lease = d.Lease
	}
	o.Lease = max(o.Lease, 2*o.Timeout)
	if o.RetryBase <= 0 {
		o.RetryBase = d.RetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = d.RetryMax
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = d.GiveUpAfter
	}
	if o.Retention <= 0 {
		o.Retention = d.Retention
	}
	o.Retention = max(o.Retention, o.GiveUpAfter)
	c := http.Client{}
	if o.Client != nil {
		c = *o.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Client = &c
}

// kickWebhooks wakes this process's dispatcher after a commit that may
// have queued deliveries, so that they leave at once rather than at the
// next poll.
func (e *Engine) kickWebhooks() {
	select {
	case e.hookKick <- struct{}{}:
	default:
	}
}

// RunWebhooks delivers queued webhooks until ctx ends. Several instances
// may run it against one database: each delivery is claimed by one of them
// for a lease, and only the claim's holder records its outcome. Delivery
// is at least once: a dispatcher that stops between the receiver's answer
// and recording it leaves the delivery to be sent again after the lease.
func (e *Engine) RunWebhooks(ctx context.Context) error {
	if e.hooks.Object == nil {
		return errors.New("engine: webhooks need WebhookOptions.Object to render payments")
	}
	sem := make(chan struct{}, e.hooks.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		n, err := e.dispatchOnce(ctx, sem, &wg)
		if err != nil && ctx.Err() == nil {
			e.log.Error("webhooks: claim due deliveries", "err", err)
		}
		var wait <-chan time.Time
		if n == 0 || err != nil {
			wait = time.After(e.hooks.Poll)
		} else {
			wait = time.After(0) // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.hookKick:
		case <-wait:
		}
	}
}

func (e *Engine) dispatchOnce(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup) (int, error) {
	free := cap(sem) - len(sem)
	if free == 0 {
		// Every worker is busy: wait for one rather than spin, then look
		// again at once (a backlog is likely).
		select {
		case sem <- struct{}{}:
			<-sem
		case <-ctx.Done():
		}
		return 1, nil
	}
	due, err := e.store.ClaimWebhookDeliveries(ctx, e.clock.Now().UTC(), e.hooks.Lease, free)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			// A delivery begun is finished and recorded even if the server
			// is stopping: its outcome is what decides a retry.
			e.deliver(context.WithoutCancel(ctx), d)
		})
	}
	return len(due), nil
}

// deliver makes one attempt of a claimed delivery and records it.
func (e *Engine) deliver(ctx context.Context, d *tender.WebhookDelivery) {
	log := e.log.With("delivery", d.ID, "endpoint", d.EndpointID, "event", d.EventID, "attempt", d.Attempts)
	w, err := e.store.GetWebhookEndpoint(ctx, d.EndpointID)
	if tender.ErrorCodeOf(err) == tender.ENotFound {
		// Deleted after the delivery was queued (PostgreSQL: by a
		// transaction that committed in between).
		e.finish(ctx, d, tender.WebhookAttempt{Error: "the webhook endpoint was deleted"}, tender.DeliveryCanceled, log)
		return
	}
	if err != nil {
		log.Error("webhooks: load endpoint", "err", err)
		return // the lease runs out and the delivery is claimed again
	}
	secret, err := e.openWebhookSecret(w)
	if err != nil {
		log.Error("webhooks: open signing secret", "err", err)
		e.retryOrFail(ctx, d, tender.WebhookAttempt{Error: "the signing secret does not open with this server's master key"}, log)
		return
	}
	body, err := e.webhookBody(ctx, d)
	if err != nil {
		log.Error("webhooks: build payload", "err", err)
		return
	}

	start := time.Now()
	at := e.clock.Now().UTC()
	// During a roll the secret it replaced signs too, so that a receiver
	// that has not switched yet still verifies.
	secrets := []string{secret}
	if prev, err := e.previousWebhookSecret(ctx, w.ID, at); err != nil {
		log.Error("webhooks: open previous signing secret", "err", err)
	} else if prev != "" {
		secrets = append(secrets, prev)
	}
	status, sendErr := e.post(ctx, w.URL, secrets, d, body, at)
	a := tender.WebhookAttempt{At: at, StatusCode: status, Duration: time.Since(start)}
	if sendErr == nil {
		e.finish(ctx, d, a, tender.DeliverySucceeded, log)
		return
	}
	a.Error = sendErr.Error()
	e.retryOrFail(ctx, d, a, log)
}

// webhookPayload is the JSON body of a delivery.
type webhookPayload struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	Data      struct {
		Object any `json:"object"`
	} `json:"data"`
}

// webhookBody renders the payment as it is now: a late or retried delivery
// then never carries a state older than one the merchant has already seen;
// the event's type says what happened.
func (e *Engine) webhookBody(ctx context.Context, d *tender.WebhookDelivery) ([]byte, error) {
	p, err := e.store.GetPayment(ctx, d.PaymentID)
	if err != nil {
		return nil, err
	}
	v := webhookPayload{ID: tender.EventID(d.EventID), Object: "event", Type: d.EventType, CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339Nano)}
	v.Data.Object = e.hooks.Object(p)
	return json.Marshal(v)
}

// post sends one signed delivery and returns the HTTP status (0 without
// an answer) and why the attempt failed, in words safe to show the
// merchant: never the secret, nor the URL (which may hold a token of the
// merchant's).
func (e *Engine) post(ctx context.Context, endpoint string, secrets []string, d *tender.WebhookDelivery, body []byte, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, e.hooks.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("the endpoint URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Tender-Webhooks/1")
	// Standard Webhooks, which the merchant's reference library verifies.
	id := tender.EventID(d.EventID)
	var sigs, legacy []string
	for i, secret := range secrets {
		sig, err := webhook.SignStandard(secret, id, at, body)
		if err != nil {
			return 0, errors.New("the endpoint's signing secret is not usable")
		}
		sigs = append(sigs, sig)
		//lint:ignore SA1019 the deprecated header is still sent
		l := webhook.Sign(secret, at, body)
		if i > 0 {
			l = l[strings.Index(l, ",")+1:] // one t=, a v1= per secret
		}
		legacy = append(legacy, l)
	}
	req.Header.Set(webhook.IDHeader, id)
	req.Header.Set(webhook.TimestampHeader, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(webhook.StandardSignatureHeader, strings.Join(sigs, " "))
	// Deprecated, sent for one more release (README, Webhooks).
	//lint:ignore SA1019 the deprecated header is still sent
	req.Header.Set(webhook.EventIDHeader, id)
	//lint:ignore SA1019 the deprecated header is still sent
	req.Header.Set(webhook.SignatureHeader, strings.Join(legacy, ","))
	res, err := e.hooks.Client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return 0, fmt.Errorf("no answer within %s", e.hooks.Timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("request failed: %s", truncate(err.Error(), 300))
	}
	// Read a little of the answer so the connection can be reused; its
	// content is the merchant's business and is not kept.
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("the endpoint answered HTTP %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

// retryOrFail schedules the next attempt with backoff, or gives up once the
// next one would come after GiveUpAfter.
func (e *Engine) retryOrFail(ctx context.Context, d *tender.WebhookDelivery, a tender.WebhookAttempt, log *slog.Logger) {
	now := e.clock.Now().UTC()
	next := now.Add(e.backoff(d.Attempts))
	if next.After(d.CreatedAt.Add(e.hooks.GiveUpAfter)) {
		e.finish(ctx, d, a, tender.DeliveryFailed, log)
		return
	}
	d.NextAttemptAt = next
	e.record(ctx, d, a, tender.DeliveryPending)
	log.Warn("webhooks: attempt failed; will retry", "status_code", a.StatusCode, "err", a.Error, "next_attempt_at", next)
}

// backoff is the pause after the n-th failed attempt: RetryBase·2^(n-1),
// at most RetryMax, of which a random quarter is taken off (jitter).
func (e *Engine) backoff(n int) time.Duration {
	d := e.hooks.RetryMax
	if n-1 < 40 {
		d = min(e.hooks.RetryBase<<max(n-1, 0), e.hooks.RetryMax)
		if d <= 0 { // overflow
			d = e.hooks.RetryMax
		}
	}
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

func (e *Engine) finish(ctx context.Context, d *tender.WebhookDelivery, a tender.WebhookAttempt, status string, log *slog.Logger) {
	d.NextAttemptAt = time.Time{}
	e.record(ctx, d, a, status)
	switch status {
	case tender.DeliveryFailed:
		log.Warn("webhooks: giving up on a delivery", "status_code", a.StatusCode, "err", a.Error)
	case tender.DeliveryCanceled:
		log.Info("webhooks: delivery canceled: endpoint deleted")
	}
}

func (e *Engine) record(ctx context.Context, d *tender.WebhookDelivery, a tender.WebhookAttempt, status string) {
	if a.At.IsZero() {
		a.At = e.clock.Now().UTC()
	}
	a.DeliveryID, a.Attempt = d.ID, d.Attempts
	d.Status, d.LastAttemptAt, d.LastStatusCode, d.LastError = status, a.At, a.StatusCode, a.Error
	outcome := map[string]string{
		tender.DeliverySucceeded: "delivered", tender.DeliveryPending: "retry",
		tender.DeliveryFailed: "failed", tender.DeliveryCanceled: "canceled",
	}[status]
	if err := e.store.RecordWebhookAttempt(ctx, d, a); err != nil {
		// A lost claim means another dispatcher took over after our lease
		// ran out: it decides now; the receiver dedupes by event id.
		e.log.Warn("webhooks: record attempt", "delivery", d.ID, "err", err)
	}
	e.metrics.webhook(outcome)
}
