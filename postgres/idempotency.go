package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
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
// becomes now, a zero rec.ExpiresAt CreatedAt+24h. The insert is one INSERT
// ... ON CONFLICT and the takeover one conditional UPDATE: of many
// concurrent reservers exactly one gets a row back.
func (db *DB) ReserveIdempotency(ctx context.Context, rec *tender.IdempotencyRecord) (*tender.IdempotencyRecord, error) {
	db.normalizeRecord(rec)
	// The existing record may be released or purged between the insert that
	// found it and the select that reads it: then try again.
	for range 10 {
		won, err := reserveKey(ctx, db.pool, rec)
		if err != nil {
			return nil, dbError(err)
		}
		if won {
			rec.Done, rec.Status, rec.Body = false, 0, nil
			return nil, nil
		}
		// Its request died: take it over, keeping when it began.
		var created, expires time.Time
		err = db.pool.QueryRow(ctx, `UPDATE idempotency_keys SET locked_until = $3
			WHERE scope = $1 AND key = $2 AND NOT done AND request_hash = $4
				AND locked_until > 'epoch' AND locked_until < $5 AND expires_at > $5
			RETURNING created_at, expires_at`,
			rec.Scope, rec.Key, dialect.LockTime(rec.LockedUntil), rec.RequestHash, rec.CreatedAt).Scan(&created, &expires)
		if err == nil {
			rec.Done, rec.Status, rec.Body = false, 0, nil
			rec.CreatedAt, rec.ExpiresAt = created.UTC(), expires.UTC()
			return nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, dbError(err)
		}
		old, err := sqldb.ScanIdempotency(db.pool.QueryRow(ctx, `SELECT `+sqldb.IdempotencyColumns+`
			FROM idempotency_keys WHERE scope = $1 AND key = $2`, rec.Scope, rec.Key))
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		return old, dbError(err)
	}
	return nil, tender.Errorf(tender.EInternal, "idempotency key %q keeps changing; try again", rec.Key)
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
