package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tenderpay/tender"
)

// defaultIdempotencyTTL is how long a record is kept when the caller sets
// no ExpiresAt (the engine keeps keys at least 24 h).
const defaultIdempotencyTTL = 24 * time.Hour

// ReserveIdempotency inserts rec as in flight (Done false) unless a record
// with its Scope and Key exists that has not expired at rec.CreatedAt; then
// it returns that record and inserts nothing, unless that record is in
// flight with rec's hash and its lock ended before rec.CreatedAt: then rec
// takes it over (locking it until rec.LockedUntil). A zero rec.CreatedAt
// becomes now, a zero rec.ExpiresAt CreatedAt+24h. Check and write happen
// in one write transaction, so of many concurrent reservers exactly one
// wins.
func (db *DB) ReserveIdempotency(ctx context.Context, rec *tender.IdempotencyRecord) (*tender.IdempotencyRecord, error) {
	rec.CreatedAt = utc(rec.CreatedAt)
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = db.now()
	}
	rec.ExpiresAt = utc(rec.ExpiresAt)
	if rec.ExpiresAt.IsZero() {
		rec.ExpiresAt = rec.CreatedAt.Add(defaultIdempotencyTTL)
	}
	var existing *tender.IdempotencyRecord
	err := db.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanIdempotency(tx.QueryRowContext(ctx, `SELECT `+idempotencyColumns+`
			FROM idempotency_keys WHERE scope = ? AND key = ?`, rec.Scope, rec.Key))
		switch {
		case err == nil && !old.Done && old.RequestHash == rec.RequestHash &&
			old.ExpiresAt.After(rec.CreatedAt) && !old.LockedUntil.IsZero() && old.LockedUntil.Before(rec.CreatedAt):
			// Its request died: take it over, keeping when it began.
			_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = ?
				WHERE scope = ? AND key = ?`, lockMicros(rec.LockedUntil), rec.Scope, rec.Key)
			rec.CreatedAt, rec.ExpiresAt = old.CreatedAt, old.ExpiresAt
			return dbError(err)
		case err == nil && old.ExpiresAt.After(rec.CreatedAt):
			existing = old
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return dbError(err)
		}
		// Absent or expired: (re)place it.
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys
			(scope, key, request_hash, done, status, body, created_at, expires_at, locked_until)
			VALUES (?, ?, ?, 0, 0, NULL, ?, ?, ?)`,
			rec.Scope, rec.Key, rec.RequestHash, micros(rec.CreatedAt), micros(rec.ExpiresAt), lockMicros(rec.LockedUntil))
		return dbError(err)
	})
	if err != nil {
		return nil, err
	}
	if existing == nil {
		rec.Done, rec.Status, rec.Body = false, 0, nil
	}
	return existing, nil
}

const idempotencyColumns = `scope, key, request_hash, done, status, body, created_at, expires_at, locked_until`

func scanIdempotency(s scanner) (*tender.IdempotencyRecord, error) {
	var r tender.IdempotencyRecord
	var created, expires, locked int64
	if err := s.Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Done, &r.Status, &r.Body, &created, &expires, &locked); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	if locked != 0 {
		r.LockedUntil = fromMicros(locked)
	}
	return &r, nil
}

// CompleteIdempotency stores the response of the in-flight record. A
// missing record is ENotFound; a record already completed keeps its first
// response and the call returns EConflict.
func (db *DB) CompleteIdempotency(ctx context.Context, scope, key string, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, status = ?, body = ?
			WHERE scope = ? AND key = ? AND done = 0`, status, body, scope, key)
		if err != nil {
			return dbError(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return dbError(err)
		}
		var done bool
		err = tx.QueryRowContext(ctx, `SELECT done FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key).Scan(&done)
		if errors.Is(err, sql.ErrNoRows) {
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
func (db *DB) RenewIdempotency(ctx context.Context, scope, key string, until time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = ?
			WHERE scope = ? AND key = ? AND done = 0`, lockMicros(until), scope, key)
		return dbError(err)
	})
}

// ReleaseIdempotency deletes the in-flight record of scope and key. A
// completed record is kept (its response is the answer to every retry); a
// missing one is not an error.
func (db *DB) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND done = 0`, scope, key)
		return dbError(err)
	})
}

// PurgeIdempotency deletes records that expired before t and says how many.
func (db *DB) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at < ?`, micros(before))
		if err != nil {
			return dbError(err)
		}
		n, err = res.RowsAffected()
		return dbError(err)
	})
	return n, err
}

// lockMicros stores a zero lock (a record locked for its whole life, as
// records were before leases) as 0, the column's default.
func lockMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(utc(t))
}
