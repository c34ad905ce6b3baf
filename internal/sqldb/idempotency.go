package sqldb

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// Reserving a key is left to each store: SQLite checks and writes in its
// one writer's transaction, PostgreSQL races with INSERT ... ON CONFLICT
// and a conditional UPDATE. The rest of an idempotency record's life is
// the same in both.

// IdempotencyColumns are the idempotency_keys columns ScanIdempotency reads.
const IdempotencyColumns = `scope, key, request_hash, done, status, body, created_at, expires_at, locked_until`

// epoch is a record locked for its whole life (as records were before
// leases), stored as the column's default: 0 or 'epoch'.
var epoch = time.Unix(0, 0).UTC()

// LockTime is how a record's lock is stored; a zero lock is the epoch.
func (d *Dialect) LockTime(t time.Time) any {
	if t.IsZero() {
		t = epoch
	}
	if d.MicrosTime {
		return t.UTC().Truncate(time.Microsecond).UnixMicro()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ScanIdempotency reads the IdempotencyColumns of a row.
func ScanIdempotency(s Row) (*tender.IdempotencyRecord, error) {
	var r tender.IdempotencyRecord
	var status int32
	if err := s.Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Done, &status, &r.Body,
		TimeDest(&r.CreatedAt), TimeDest(&r.ExpiresAt), TimeDest(&r.LockedUntil)); err != nil {
		return nil, err
	}
	r.Status = int(status)
	if r.LockedUntil.Equal(epoch) {
		r.LockedUntil = time.Time{}
	}
	return &r, nil
}

// CompleteIdempotency stores the response of the in-flight record. A
// missing record is ENotFound; a record already completed keeps its first
// response and the call returns EConflict.
func (q *Queries) CompleteIdempotency(ctx context.Context, scope, key string, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	return q.tx(ctx, func(tx DB) error {
		n, err := tx.Exec(ctx, q.d.Rebind(`UPDATE idempotency_keys SET done = ?, status = ?, body = ?
			WHERE scope = ? AND key = ? AND done = ?`), true, status, body, scope, key, false)
		if err != nil || n == 1 {
			return dbError(err)
		}
		var done bool
		err = tx.QueryRow(ctx, q.d.Rebind(`SELECT done FROM idempotency_keys WHERE scope = ? AND key = ?`), scope, key).Scan(&done)
		if q.d.IsNoRows(err) {
			return notFound("idempotency key", key)
		}
		if err != nil {
			return dbError(err)
		}
		return tender.Errorf(tender.EConflict, "idempotency key %q already has a response", key)
	})
}

// RenewIdempotency moves the lock of the in-flight record of scope and key
// to until; a record that is done or gone is left alone.
func (q *Queries) RenewIdempotency(ctx context.Context, scope, key string, until time.Time) error {
	_, err := q.exec(ctx, `UPDATE idempotency_keys SET locked_until = ? WHERE scope = ? AND key = ? AND done = ?`,
		q.d.LockTime(until), scope, key, false)
	return dbError(err)
}

// ReleaseIdempotency deletes the in-flight record of scope and key. A
// completed record is kept (its response is the answer to every retry); a
// missing one is not an error.
func (q *Queries) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	_, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND done = ?`, scope, key, false)
	return dbError(err)
}

// PurgeIdempotency deletes records that expired before t and says how many.
func (q *Queries) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	n, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < ?`, q.d.Time(before))
	return n, dbError(err)
}

// GetIdempotency returns the record of scope and key, or ENotFound.
func (q *Queries) GetIdempotency(ctx context.Context, scope, key string) (*tender.IdempotencyRecord, error) {
	r, err := ScanIdempotency(q.queryRow(ctx, `SELECT `+IdempotencyColumns+` FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key))
	if q.d.IsNoRows(err) {
		return nil, notFound("idempotency key", key)
	}
	return r, dbError(err)
}

// AnswerIdempotency is the statement that stores the response of an
// in-flight record, with its arguments.
func (d *Dialect) AnswerIdempotency(scope, key string, status int, body []byte) (string, []any) {
	if body == nil {
		body = []byte{}
	}
	return d.Rebind(`UPDATE idempotency_keys SET done = ?, status = ?, body = ? WHERE scope = ? AND key = ? AND done = ?`),
		[]any{true, status, body, scope, key, false}
}
