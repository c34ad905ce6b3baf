package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/tenderpay/tender"
)

// Response is an API response the engine may remember for an
// Idempotency-Key.
type Response struct {
	Status int
	Body   []byte
	// Keep says whether to remember the response. Responses to requests that
	// did nothing (invalid input) or whose outcome is unknown are not kept,
	// so that the same request may be made again with the same key (and the
	// same operation id, which the provider de-duplicates).
	Keep bool
	// Replayed is set on a response that was remembered from an earlier request.
	Replayed bool
}

// Idempotency errors. They are returned as these exact values.
var (
	ErrIdempotencyMismatch = &tender.Error{Code: tender.EIdempotency, Param: "Idempotency-Key",
		Message: "this Idempotency-Key was already used with other parameters; use a new key for a new request"}
	ErrIdempotencyInFlight = &tender.Error{Code: tender.EIdempotency, Param: "Idempotency-Key",
		Message: "a request with this Idempotency-Key is still in progress; retry later"}
)

const maxIdempotencyKey = 255

// OperationID derives the provider-facing operation id from an API key's
// scope and an Idempotency-Key: the same request retried has the same id.
// It is 32 lower-case hex digits, which fits every provider's request id.
func OperationID(scope, key string) string {
	h := sha256.Sum256([]byte(scope + "\x00" + key))
	return hex.EncodeToString(h[:16])
}

func randomOperationID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Idempotent runs fn at most once per (scope, key) with Stripe's semantics:
// the same key and the same request hash return the first response; the same
// key with another request is ErrIdempotencyMismatch; a concurrent duplicate
// waits for the first to finish and returns its response, so exactly one
// provider call is made. An empty key runs fn with a fresh operation id.
func (e *Engine) Idempotent(ctx context.Context, scope, key, requestHash string, fn func(opID string) Response) (Response, error) {
	if key == "" {
		return fn(randomOperationID()), nil
	}
	if err := checkIdempotencyKey(key); err != nil {
		return Response{}, err
	}
	opID := OperationID(scope, key)
	wayKey := scope + "\x00" + key
	deadline := time.Now().Add(2*e.sched.ProviderTimeout + 10*time.Second)
	for {
		now := e.clock.Now().UTC()
		rec := e.idemRecord(scope, key, requestHash, now)
		// Register the in-process waiter channel before reserving, so a
		// duplicate that loses the race can wait on it.
		way, mine := e.joinWay(wayKey)
		existing, err := e.store.ReserveIdempotency(ctx, rec)
		if err != nil {
			if mine {
				e.endWay(wayKey, way)
			}
			return Response{}, err
		}
		if existing == nil {
			return e.runReserved(ctx, scope, key, opID, wayKey, way, mine, fn)
		}
		if mine {
			e.endWay(wayKey, way)
		}
		if resp, done, err := awaitHolder(ctx, existing, requestHash, deadline, way); done {
			return resp, err
		}
	}
}

// awaitHolder answers a request whose key another request holds
// (existing): the stored response once that one is done, an error when the
// bodies differ or the wait is over; done=false after waiting a moment
// (woken at once by a holder in this process, by polling for one in
// another), to look again.
func awaitHolder(ctx context.Context, existing *tender.IdempotencyRecord, requestHash string, deadline time.Time, way chan struct{}) (resp Response, done bool, err error) {
	if existing.RequestHash != requestHash {
		return Response{}, true, ErrIdempotencyMismatch
	}
	if existing.Done {
		return Response{Status: existing.Status, Body: existing.Body, Keep: true, Replayed: true}, true, nil
	}
	if time.Now().After(deadline) {
		return Response{}, true, ErrIdempotencyInFlight
	}
	select {
	case <-ctx.Done():
		return Response{}, true, ErrIdempotencyInFlight
	case <-way:
	case <-time.After(50 * time.Millisecond):
	}
	return Response{}, false, nil
}

func checkIdempotencyKey(key string) error {
	if len(key) > maxIdempotencyKey {
		return tender.Invalid("Idempotency-Key", "Idempotency-Key must be at most %d characters", maxIdempotencyKey)
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e {
			return tender.Invalid("Idempotency-Key", "Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

func (e *Engine) runReserved(ctx context.Context, scope, key, opID, wayKey string, way chan struct{}, mine bool, fn func(string) Response) (resp Response, err error) {
	done := false
	defer func() {
		if !done {
			// fn panicked: free the key so the request can be made again.
			e.store.ReleaseIdempotency(context.WithoutCancel(ctx), scope, key)
		}
		if mine {
			e.endWay(wayKey, way)
		}
	}()
	// Hold the key while fn runs: renew its lease, so that only a request
	// whose process died loses it (and a retry takes over within a lease).
	sctx := context.WithoutCancel(ctx)
	stop := e.renewLease(sctx, scope, key)
	defer stop()
	resp = fn(opID)
	if resp.Keep {
		err = e.store.CompleteIdempotency(sctx, scope, key, resp.Status, resp.Body)
	} else {
		err = e.store.ReleaseIdempotency(sctx, scope, key)
	}
	done = true
	if err != nil {
		e.log.Error("idempotency: store response", "err", err)
	}
	return resp, nil
}

func (e *Engine) endWay(wayKey string, way chan struct{}) {
	e.idemMu.Lock()
	if e.idemWay[wayKey] == way {
		delete(e.idemWay, wayKey)
	}
	e.idemMu.Unlock()
	close(way)
}

// idemRecord is the in-flight record a request reserves for its key at now.
func (e *Engine) idemRecord(scope, key, requestHash string, now time.Time) *tender.IdempotencyRecord {
	return &tender.IdempotencyRecord{Scope: scope, Key: key, RequestHash: requestHash, CreatedAt: now,
		ExpiresAt: now.Add(e.idemTTL), LockedUntil: now.Add(e.sched.IdempotencyLease)}
}

// joinWay returns the in-process channel that the request holding wayKey
// closes when it is done, making it (mine) when no request here holds it.
func (e *Engine) joinWay(wayKey string) (way chan struct{}, mine bool) {
	e.idemMu.Lock()
	defer e.idemMu.Unlock()
	if way = e.idemWay[wayKey]; way != nil {
		return way, false
	}
	way = make(chan struct{})
	e.idemWay[wayKey] = way
	return way, true
}
