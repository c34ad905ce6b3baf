package engine

import (
	"context"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// Fewer commits per create. Idempotent reserves a key in a commit of its
// own before the request runs and stores the response in another after it;
// a create has two commits of its own besides (the payment's insert and the
// start's answer). IdempotentCreate folds the key into those two: the
// reservation is written in the payment's insert (store.CreatePaymentReserving)
// and the response in the start's answer (store.UpdatePaymentAnswering)
// when the answer comes before the create answers the caller. What each
// guarantee rests on is unchanged:
//   - nothing is sent to a provider before the payment is stored with a
//     check due, and the key with it;
//   - of concurrent duplicates, one wins the key in the store (the insert
//     is refused for the others, which wait for its response);
//   - the key is leased and renewed as before, so that a retry after a
//     crash takes it over (ReserveIdempotency, on the key it finds) and
//     answers with the payment the operation made.
// When the create answers first (StartTimeout), the response is stored
// with a commit of its own, as Idempotent does.

// keyClaim is the key of an IdempotentCreate on its way through CreatePayment.
type keyClaim struct {
	rec    *tender.IdempotencyRecord
	render func(*tender.Payment, error) Response

	mu       sync.Mutex
	state    claimState
	existing *tender.IdempotencyRecord // the record that kept the key from us
	answered bool                      // the response was stored with the start's answer
	resp     Response                  // that response
}

type claimState int

const (
	claimFree      claimState = iota // nothing stored yet
	claimReserved                    // stored with the payment
	claimAnswering                   // the start's answer is storing the response
	claimLate                        // the create answered first: the response is stored apart
)

type claimCtxKey struct{}

func claimFrom(ctx context.Context) *keyClaim {
	c, _ := ctx.Value(claimCtxKey{}).(*keyClaim)
	return c
}

// move changes the claim's state from one to another and reports whether
// it was in from.
func (c *keyClaim) move(from, to claimState) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != from {
		return false
	}
	c.state = to
	return true
}

func (c *keyClaim) is(s claimState) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == s
}

// errKeyTaken is what CreatePayment returns when another request holds the
// key it was to reserve; IdempotentCreate never returns it.
var errKeyTaken = &tender.Error{Code: tender.EIdempotency, Param: "Idempotency-Key", Message: "the Idempotency-Key is taken"}

// IdempotentCreate is Idempotent for a request whose first durable write is
// Engine.CreatePayment, called with the context fn is given: the key is
// reserved with the payment and answered with the start's answer (see
// above). render makes the response of CreatePayment's result, exactly as
// fn makes it (the response stored with the start's answer is render's).
func (e *Engine) IdempotentCreate(ctx context.Context, scope, key, requestHash string,
	fn func(ctx context.Context, opID string) Response, render func(*tender.Payment, error) Response) (Response, error) {
	if key == "" {
		return fn(ctx, randomOperationID()), nil
	}
	if err := checkIdempotencyKey(key); err != nil {
		return Response{}, err
	}
	opID := OperationID(scope, key)
	wayKey := scope + "\x00" + key
	deadline := time.Now().Add(2*e.sched.ProviderTimeout + 10*time.Second)
	for first := true; ; first = false {
		now := e.clock.Now().UTC()
		rec := e.idemRecord(scope, key, requestHash, now)
		way, mine := e.joinWay(wayKey)
		var existing *tender.IdempotencyRecord
		if first && mine && e.memo != nil {
			// Most keys are new: reserve it with the payment without
			// reading it first (on a store read over the network, whose
			// insert checks the operation after the key: see
			// createPayment). The insert returns the record that holds
			// it, if one does; one in flight may be a dead request's, which
			// only ReserveIdempotency takes over: look again (below).
			var resp Response
			resp, existing = e.runClaimed(ctx, rec, opID, wayKey, way, fn, render)
			if existing == nil {
				return resp, nil
			}
			if existing.Done || existing.RequestHash != requestHash {
				if resp, done, err := awaitHolder(ctx, existing, requestHash, deadline, way); done {
					return resp, err
				}
			}
			continue
		}
		old, err := e.store.GetIdempotency(ctx, scope, key)
		switch {
		case mine && (tender.ErrorCodeOf(err) == tender.ENotFound || err == nil && !old.ExpiresAt.After(now)):
			// Free: reserve it with the payment.
			var resp Response
			resp, existing = e.runClaimed(ctx, rec, opID, wayKey, way, fn, render)
			if existing == nil {
				return resp, nil
			}
		case err != nil && tender.ErrorCodeOf(err) != tender.ENotFound:
			if mine {
				e.endWay(wayKey, way)
			}
			return Response{}, err
		default:
			// Taken (or a duplicate in this process has it): as Idempotent.
			existing, err = e.store.ReserveIdempotency(ctx, rec)
			if err != nil {
				if mine {
					e.endWay(wayKey, way)
				}
				return Response{}, err
			}
			if existing == nil {
				return e.runReserved(ctx, scope, key, opID, wayKey, way, mine, func(opID string) Response { return fn(ctx, opID) })
			}
			if mine {
				e.endWay(wayKey, way)
			}
		}
		if resp, done, err := awaitHolder(ctx, existing, requestHash, deadline, way); done {
			return resp, err
		}
	}
}

// runClaimed runs fn with the key to reserve in its context. It returns
// the record that kept the key from fn, if one did (fn stored nothing).
func (e *Engine) runClaimed(ctx context.Context, rec *tender.IdempotencyRecord, opID, wayKey string, way chan struct{},
	fn func(context.Context, string) Response, render func(*tender.Payment, error) Response) (resp Response, existing *tender.IdempotencyRecord) {
	scope, key := rec.Scope, rec.Key
	claim := &keyClaim{rec: rec, render: render}
	sctx := context.WithoutCancel(ctx)
	done := false
	defer func() {
		if !done && !claim.is(claimFree) {
			// fn panicked after the key was stored: free it.
			e.store.ReleaseIdempotency(sctx, scope, key)
		}
		e.endWay(wayKey, way)
	}()
	stop := e.renewLease(sctx, scope, key)
	defer stop()
	resp = fn(context.WithValue(ctx, claimCtxKey{}, claim), opID)
	done = true
	claim.mu.Lock()
	state, existing, answered := claim.state, claim.existing, claim.answered
	if answered {
		resp = claim.resp
	}
	claim.mu.Unlock()
	var err error
	switch {
	case existing != nil:
		return Response{}, existing
	case answered:
	case state == claimFree:
		// fn stored no payment (invalid input, or a retry answered with
		// the payment its operation made): keep a response it gave as
		// Idempotent would, in commits of its own.
		if resp.Keep {
			if old, rerr := e.store.ReserveIdempotency(sctx, rec); rerr == nil && old == nil {
				err = e.store.CompleteIdempotency(sctx, scope, key, resp.Status, resp.Body)
			}
		}
	case resp.Keep:
		err = e.store.CompleteIdempotency(sctx, scope, key, resp.Status, resp.Body)
	default:
		err = e.store.ReleaseIdempotency(sctx, scope, key)
	}
	if err != nil {
		e.log.Error("idempotency: store response", "err", err)
	}
	return resp, nil
}

// answerer is how the start's answer is saved: with the create's
// response if the create still waits for it (see above), else alone.
func (e *Engine) answerer(claim *keyClaim, reply func(*tender.Payment) error) saveFunc {
	if claim == nil {
		return nil
	}
	return func(ctx context.Context, p *tender.Payment, events []tender.Event) error {
		if !claim.move(claimReserved, claimAnswering) && !claim.is(claimAnswering) {
			return e.store.UpdatePayment(ctx, p, events...)
		}
		var resp Response
		ok, err := e.store.UpdatePaymentAnswering(ctx, p, tender.IdempotencyAnswer{Scope: claim.rec.Scope, Key: claim.rec.Key,
			Respond: func(q *tender.Payment) (int, []byte, bool) {
				resp = claim.render(q, reply(q))
				return resp.Status, resp.Body, resp.Keep
			}}, events...)
		if err == nil && ok {
			claim.mu.Lock()
			claim.answered, claim.resp = true, resp
			claim.mu.Unlock()
		}
		return err
	}
}

// renewLease renews the lease of an in-flight key until stop is called.
func (e *Engine) renewLease(ctx context.Context, scope, key string) (stop func()) {
	quit := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(e.sched.IdempotencyLease / 3)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if err := e.store.RenewIdempotency(ctx, scope, key, e.clock.Now().UTC().Add(e.sched.IdempotencyLease)); err != nil {
					e.log.Warn("idempotency: renew lease", "err", err)
				}
			}
		}
	}()
	return func() { close(quit); <-renewed }
}
