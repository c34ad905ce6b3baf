package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenderpay/tender"
)

// defaultIdempotencyTTL is how long a record is kept when the caller sets
// no ExpiresAt (the engine keeps keys at least 24 h).
const defaultIdempotencyTTL = 24 * time.Hour

const idempotencyColumns = `scope, key, request_hash, done, status, body, created_at, expires_at`

// ReserveIdempotency inserts rec as in flight (Done false) unless a record
// with its Scope and Key exists that has not expired at rec.CreatedAt; then
// it returns that record and inserts nothing. A zero rec.CreatedAt becomes
// now, a zero rec.ExpiresAt CreatedAt+24h. The insert is one INSERT ... ON
// CONFLICT: of many concurrent reservers exactly one gets a row back.
func (db *DB) ReserveIdempotency(ctx context.Context, rec *tender.IdempotencyRecord) (*tender.IdempotencyRecord, error) {
	rec.CreatedAt = utc(rec.CreatedAt)
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = db.now()
	}
	rec.ExpiresAt = utc(rec.ExpiresAt)
	if rec.ExpiresAt.IsZero() {
		rec.ExpiresAt = rec.CreatedAt.Add(defaultIdempotencyTTL)
	}
	// The existing record may be released or purged between the insert that
	// found it and the select that reads it: then try again.
	for range 10 {
		var won bool
		err := db.pool.QueryRow(ctx, `INSERT INTO idempotency_keys AS k
				(scope, key, request_hash, done, status, body, created_at, expires_at)
			VALUES ($1, $2, $3, false, 0, NULL, $4, $5)
			ON CONFLICT (scope, key) DO UPDATE SET
				request_hash = EXCLUDED.request_hash, done = false, status = 0, body = NULL,
				created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
			WHERE k.expires_at <= EXCLUDED.created_at
			RETURNING true`,
			rec.Scope, rec.Key, rec.RequestHash, rec.CreatedAt, rec.ExpiresAt).Scan(&won)
		if err == nil {
			rec.Done, rec.Status, rec.Body = false, 0, nil
			return nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, dbError(err)
		}
		old, err := scanIdempotency(db.pool.QueryRow(ctx, `SELECT `+idempotencyColumns+`
			FROM idempotency_keys WHERE scope = $1 AND key = $2`, rec.Scope, rec.Key))
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		return old, dbError(err)
	}
	return nil, tender.Errorf(tender.EInternal, "idempotency key %q keeps changing; try again", rec.Key)
}

func scanIdempotency(row pgx.Row) (*tender.IdempotencyRecord, error) {
	var r tender.IdempotencyRecord
	var status int32
	if err := row.Scan(&r.Scope, &r.Key, &r.RequestHash, &r.Done, &status, &r.Body, &r.CreatedAt, &r.ExpiresAt); err != nil {
		return nil, err
	}
	r.Status = int(status)
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return &r, nil
}

// CompleteIdempotency stores the response of the in-flight record. A
// missing record is ENotFound; a record already completed keeps its first
// response and the call returns EConflict.
func (db *DB) CompleteIdempotency(ctx context.Context, scope, key string, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	tag, err := db.pool.Exec(ctx, `UPDATE idempotency_keys SET done = true, status = $1, body = $2
		WHERE scope = $3 AND key = $4 AND NOT done`, status, body, scope, key)
	if err != nil {
		return dbError(err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var done bool
	err = db.pool.QueryRow(ctx, `SELECT done FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, key).Scan(&done)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("idempotency key", key)
	}
	if err != nil {
		return dbError(err)
	}
	return tender.Errorf(tender.EConflict, "idempotency key %q already has a response", key)
}

// ReleaseIdempotency deletes the in-flight record of scope and key. A
// completed record is kept (its response is the answer to every retry); a
// missing one is not an error.
func (db *DB) ReleaseIdempotency(ctx context.Context, scope, key string) error {
	_, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND NOT done`, scope, key)
	return dbError(err)
}

// PurgeIdempotency deletes records that expired before t and says how many.
func (db *DB) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE expires_at < $1`, before)
	if err != nil {
		return 0, dbError(err)
	}
	return tag.RowsAffected(), nil
}
