package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

// CreatePaymentReserving inserts rec in flight and p with its events in
// one transaction, unless a record of rec's Scope and Key exists that has
// not expired at rec.CreatedAt: then it returns that record and stores
// nothing. The key's INSERT ... ON CONFLICT comes first, so a concurrent
// reserver of the same key waits for this transaction and then finds the
// key taken (or free again, if this one rolled back).
func (db *DB) CreatePaymentReserving(ctx context.Context, rec *tender.IdempotencyRecord, p *tender.Payment, events ...tender.Event) (*tender.IdempotencyRecord, error) {
	db.normalizeRecord(rec)
	q, insert, args, err := sqldb.NewPaymentRow(&dialect, p, db.now())
	if err != nil {
		return nil, err
	}
	var existing *tender.IdempotencyRecord
	err = db.tx(ctx, func(tx pgx.Tx) error {
		for range 10 {
			var won bool
			err := tx.QueryRow(ctx, `INSERT INTO idempotency_keys AS k
					(scope, key, request_hash, done, status, body, created_at, expires_at, locked_until)
				VALUES ($1, $2, $3, false, 0, NULL, $4, $5, $6)
				ON CONFLICT (scope, key) DO UPDATE SET
					request_hash = EXCLUDED.request_hash, done = false, status = 0, body = NULL,
					created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
					locked_until = EXCLUDED.locked_until
				WHERE k.expires_at <= EXCLUDED.created_at
				RETURNING true`,
				rec.Scope, rec.Key, rec.RequestHash, rec.CreatedAt, rec.ExpiresAt, dialect.LockTime(rec.LockedUntil)).Scan(&won)
			if err == nil {
				return insertPayment(ctx, tx, &q, insert, args, events)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return dbError(err)
			}
			old, err := sqldb.ScanIdempotency(tx.QueryRow(ctx, `SELECT `+sqldb.IdempotencyColumns+`
				FROM idempotency_keys WHERE scope = $1 AND key = $2`, rec.Scope, rec.Key))
			if errors.Is(err, pgx.ErrNoRows) {
				continue // released or purged meanwhile: try again
			}
			existing = old
			return dbError(err)
		}
		return tender.Errorf(tender.EInternal, "idempotency key %q keeps changing; try again", rec.Key)
	})
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return existing, nil
	}
	rec.Done, rec.Status, rec.Body = false, 0, nil
	*p = q
	return nil, nil
}

// UpdatePaymentAnswering is UpdatePayment that also stores a's response
// for its in-flight record, sent with the events in one round trip of the
// same transaction.
func (db *DB) UpdatePaymentAnswering(ctx context.Context, p *tender.Payment, a tender.IdempotencyAnswer, events ...tender.Event) (bool, error) {
	q, stmt, vals, err := sqldb.UpdatedPaymentRow(&dialect, p, db.now())
	if err != nil {
		return false, err
	}
	status, body, keep := a.Respond(&q)
	answered := false
	err = db.tx(ctx, func(tx pgx.Tx) error {
		answered = false
		var more func(*pgx.Batch)
		if keep {
			more = func(b *pgx.Batch) {
				s, args := dialect.AnswerIdempotency(a.Scope, a.Key, status, body)
				b.Queue(s, args...).Exec(func(ct pgconn.CommandTag) error {
					answered = ct.RowsAffected() == 1
					return nil
				})
			}
		}
		return updatePayment(ctx, tx, &q, stmt, vals, events, more)
	})
	if err != nil {
		return false, err
	}
	p.Version = q.Version
	p.UpdatedAt = q.UpdatedAt
	p.CreatedAt, p.NextCheckAt = q.CreatedAt, q.NextCheckAt
	return answered, nil
}
