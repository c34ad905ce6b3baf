package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
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
	db.normalizeRecord(rec)
	var existing *tender.IdempotencyRecord
	err := db.tx(ctx, func(tx txStmts) error {
		old, err := sqldb.ScanIdempotency(tx.QueryRowContext(ctx, `SELECT `+sqldb.IdempotencyColumns+`
			FROM idempotency_keys WHERE scope = ? AND key = ?`, rec.Scope, rec.Key))
		switch {
		case err == nil && !old.Done && old.RequestHash == rec.RequestHash &&
			old.ExpiresAt.After(rec.CreatedAt) && !old.LockedUntil.IsZero() && old.LockedUntil.Before(rec.CreatedAt):
			// Its request died: take it over, keeping when it began.
			_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys SET locked_until = ?
				WHERE scope = ? AND key = ?`, dialect.LockTime(rec.LockedUntil), rec.Scope, rec.Key)
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
			rec.Scope, rec.Key, rec.RequestHash, micros(rec.CreatedAt), micros(rec.ExpiresAt), dialect.LockTime(rec.LockedUntil))
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

// normalizeRecord gives rec the times a new record is stored with.
func (db *DB) normalizeRecord(rec *tender.IdempotencyRecord) {
	rec.CreatedAt = utc(rec.CreatedAt)
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = db.now()
	}
	rec.ExpiresAt = utc(rec.ExpiresAt)
	if rec.ExpiresAt.IsZero() {
		rec.ExpiresAt = rec.CreatedAt.Add(defaultIdempotencyTTL)
	}
}
