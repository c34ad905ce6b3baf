// Package engine holds Tender's use cases: creating payments with
// idempotency, driving each payment through the state machine on what its
// connector reports, serializing money-moving operations, and reconciling
// payments whose outcome is in doubt.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/seal"
)

// Schedule says when the engine asks providers about open payments.
type Schedule struct {
	// Processing is the pause between status checks of a payment a
	// terminal is working on (a connector's Update.CheckIn overrides it).
	Processing time.Duration
	// RequiresAction is the pause between checks of a payment waiting for
	// a shopper; the provider's callback normally arrives first.
	RequiresAction time.Duration
	// Unknown are the pauses between checks of a payment in doubt: the
	// first check waits Unknown[0], the n-th Unknown[n-1], and the last one
	// repeats for as long as the payment stays unknown.
	Unknown []time.Duration
	// Lease is how long a claimed check may take before another worker or
	// instance may claim the payment again.
	Lease time.Duration
	// Poll is how often the reconciler looks for due checks.
	Poll time.Duration
	// Workers is how many checks run at once. A check mostly waits for
	// its provider, so a fleet of terminals needs many: 400 terminals
	// polled every 2 s are 200 checks a second, each a provider call of
	// tens of milliseconds to seconds.
	Workers int
	// ProviderTimeout bounds each call to a provider.
	ProviderTimeout time.Duration
	// StartTimeout is how long a create waits for the provider to accept a
	// payment before it answers with the payment as it is (unknown, still
	// being started): a POS gets its payment id at once and long-polls
	// for the rest instead of being held.
	StartTimeout time.Duration
	// MaxOpen is how long a payment may stay processing or unknown, or an
	// operation in doubt, before Tender resolves it actively: it cancels
	// the payment where the provider allows, and otherwise flags a
	// discrepancy for a person (which frees the terminal).
	MaxOpen time.Duration
	// IdempotencyLease is how long an in-flight Idempotency-Key stays
	// locked without renewal; the request renews it while it runs, so a
	// retry after a crash takes the key over within about this long.
	IdempotencyLease time.Duration
	// Subscriptions is how often the reconciler asks providers for the
	// charges they made on their own schedule (see DiscoverInstalments).
	Subscriptions time.Duration
}

// DefaultSchedule is the schedule of a server started without configuration.
var DefaultSchedule = Schedule{
	Processing:       2 * time.Second,
	RequiresAction:   5 * time.Minute,
	Unknown:          []time.Duration{2 * time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour},
	Lease:            2 * time.Minute,
	Poll:             500 * time.Millisecond,
	Workers:          64,
	ProviderTimeout:  45 * time.Second,
	StartTimeout:     10 * time.Second,
	MaxOpen:          30 * time.Minute,
	IdempotencyLease: 30 * time.Second,
	Subscriptions:    time.Minute,
}

// Options configure an Engine.
type Options struct {
	Store      tender.Store
	Connectors []tender.Connector
	Sealer     *seal.Sealer
	Clock      tender.Clock // default: the system clock
	Logger     *slog.Logger // default: discard
	// PublicURL is Tender's base URL as providers and shoppers reach it,
	// e.g. https://pay.example.com (no trailing slash).
	PublicURL string
	Schedule  Schedule // zero fields take DefaultSchedule's
	// IdempotencyTTL is how long an Idempotency-Key is remembered (≥ 24 h).
	IdempotencyTTL time.Duration
	Metrics        *Metrics // optional
	// Webhooks configure merchant webhooks (see RunWebhooks).
	Webhooks WebhookOptions
}

// Engine runs Tender's use cases. It is safe for concurrent use.
type Engine struct {
	store      tender.Store
	connectors map[string]tender.Connector
	sealer     *seal.Sealer
	clock      tender.Clock
	log        *slog.Logger
	publicURL  string
	sched      Schedule
	idemTTL    time.Duration
	metrics    *Metrics
	hooks      WebhookOptions
	hookKick   chan struct{} // wakes RunWebhooks after a commit

	watch   *watchers
	touched sync.Map  // terminal id → when this instance last wrote its LastSeenAt
	due     *dueTimes // check times this process wrote, for Run
	locks   keyedMutex
	idemMu  sync.Mutex
	idemWay map[string]chan struct{} // in-flight idempotent requests in this process
	memo    *memo                    // API keys and accounts kept in memory (nil: read every time)
	opened  *recent[tender.Account]  // accounts kept for callbacks and pages (see recent)
	shops   *recent[tender.Merchant] // merchants kept for pages (see recent)

	discovering atomic.Bool // a DiscoverInstalments is running (methods.go)
	credMu      sync.Mutex
	creds       map[string]openedCredentials // kind and id → credentials opened (see openCredentials)
}

// New returns an Engine.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("engine: a store is required")
	}
	if o.Sealer == nil {
		return nil, fmt.Errorf("engine: a sealer (master key) is required")
	}
	e := &Engine{
		store:      o.Store,
		connectors: map[string]tender.Connector{},
		sealer:     o.Sealer,
		clock:      o.Clock,
		log:        o.Logger,
		publicURL:  strings.TrimRight(o.PublicURL, "/"),
		sched:      o.Schedule,
		idemTTL:    o.IdempotencyTTL,
		metrics:    o.Metrics,
		hooks:      o.Webhooks,
		hookKick:   make(chan struct{}, 1),
		idemWay:    map[string]chan struct{}{},
		creds:      map[string]openedCredentials{},
		due:        newDueTimes(),
	}
	for _, c := range o.Connectors {
		if _, dup := e.connectors[c.Name()]; dup {
			return nil, fmt.Errorf("engine: two connectors named %q", c.Name())
		}
		e.connectors[c.Name()] = c
	}
	if e.clock == nil {
		e.clock = tender.SystemClock{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.idemTTL < 24*time.Hour {
		e.idemTTL = 24 * time.Hour
	}
	d := DefaultSchedule
	s := &e.sched
	if s.Processing <= 0 {
		s.Processing = d.Processing
	}
	if s.RequiresAction <= 0 {
		s.RequiresAction = d.RequiresAction
	}
	if len(s.Unknown) == 0 {
		s.Unknown = d.Unknown
	}
	if s.Lease <= 0 {
		s.Lease = d.Lease
	}
	if s.Poll <= 0 {
		s.Poll = d.Poll
	}
	if s.Workers <= 0 {
		s.Workers = d.Workers
	}
	if s.ProviderTimeout <= 0 {
		s.ProviderTimeout = d.ProviderTimeout
	}
	if s.StartTimeout <= 0 {
		s.StartTimeout = d.StartTimeout
	}
	if s.MaxOpen <= 0 {
		s.MaxOpen = d.MaxOpen
	}
	if s.IdempotencyLease <= 0 {
		s.IdempotencyLease = d.IdempotencyLease
	}
	if s.Subscriptions <= 0 {
		s.Subscriptions = d.Subscriptions
	}
	if e.metrics == nil {
		e.metrics = NewMetrics(nil)
	}
	e.hooks.setDefaults()
	feed, _ := e.store.(changeFeed)
	e.watch = newWatchers(feed, e.clock.Now, e.log)
	if notices, ok := e.store.(noticeFeed); ok {
		e.memo = newMemo(notices)
		e.opened = newRecent(notices, "account", copyAccount)
		e.shops = newRecent(notices, "merchant", copyMerchant)
	} else {
		e.opened = newRecent(nil, "account", copyAccount)
		e.shops = newRecent(nil, "merchant", copyMerchant)
	}
	e.watch.read = e.readParked
	return e, nil
}

// Store returns the engine's store.
func (e *Engine) Store() tender.Store { return e.store }

// Connectors returns the names of the registered connectors.
func (e *Engine) Connectors() []string {
	var names []string
	for n := range e.connectors {
		names = append(names, n)
	}
	return names
}

func (e *Engine) connector(name string) (tender.Connector, error) {
	c, ok := e.connectors[name]
	if !ok {
		return nil, tender.Invalid("connector", "connector %q is not available; this server has %s", name, strings.Join(sortedNames(e.connectors), ", "))
	}
	return c, nil
}

// keyedMutex serializes work per key (a payment id) within this process.
// Across processes the optimistic version of the payment and its operation
// events do the same job.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) Lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// providerContext bounds one provider call. It is detached from the API
// request's cancellation: once a provider call has begun, a client that hangs
// up must not turn a payment that may have been made into one we stop
// tracking halfway.
func (e *Engine) providerContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), e.sched.ProviderTimeout)
}

// guard is how long after an operation is recorded the reconciler first
// looks at it: past the longest the provider call can take, so it finds
// only operations whose process died (or whose answer was never stored).
func (e *Engine) guard() time.Duration { return e.sched.ProviderTimeout + 15*time.Second }
