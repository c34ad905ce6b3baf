package sqlite

import (
	"context"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

// CreatePaymentReserving inserts rec in flight and p with its events in
// one write transaction, unless a record of rec's Scope and Key exists that
// has not expired at rec.CreatedAt: then it returns that record and stores
// nothing. The single writer makes check and insert one step.
func (db *DB) CreatePaymentReserving(ctx context.Context, rec *tender.IdempotencyRecord, p *tender.Payment, events ...tender.Event) (*tender.IdempotencyRecord, error) {
	db.normalizeRecord(rec)
	q, insert, args, err := sqldb.NewPaymentRow(&dialect, p, db.now())
	if err != nil {
		return nil, err
	}
	var existing *tender.IdempotencyRecord
	err = db.tx(ctx, func(tx txStmts) error {
		existing = nil
		// Insert it, or replace an expired record; a live one stays.
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys AS k
				(scope, key, request_hash, done, status, body, created_at, expires_at, locked_until)
			VALUES (?, ?, ?, 0, 0, NULL, ?, ?, ?)
			ON CONFLICT (scope, key) DO UPDATE SET
				request_hash = excluded.request_hash, done = 0, status = 0, body = NULL,
				created_at = excluded.created_at, expires_at = excluded.expires_at,
				locked_until = excluded.locked_until
			WHERE k.expires_at <= excluded.created_at`,
			rec.Scope, rec.Key, rec.RequestHash, micros(rec.CreatedAt), micros(rec.ExpiresAt), dialect.LockTime(rec.LockedUntil))
		if err != nil {
			return dbError(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return dbError(err)
			}
			old, err := sqldb.ScanIdempotency(tx.QueryRowContext(ctx, `SELECT `+sqldb.IdempotencyColumns+`
				FROM idempotency_keys WHERE scope = ? AND key = ?`, rec.Scope, rec.Key))
			if err != nil {
				return dbError(err)
			}
			existing = old
			return nil
		}
		return db.insertPayment(ctx, tx, &q, insert, args, events)
	})
	if err != nil || existing != nil {
		return existing, err
	}
	rec.Done, rec.Status, rec.Body = false, 0, nil
	*p = q
	return nil, nil
}

// UpdatePaymentAnswering is UpdatePayment that also stores a's response
// for its in-flight record, in the same write transaction.
func (db *DB) UpdatePaymentAnswering(ctx context.Context, p *tender.Payment, a tender.IdempotencyAnswer, events ...tender.Event) (bool, error) {
	q, update, vals, err := sqldb.UpdatedPaymentRow(&dialect, p, db.now())
	if err != nil {
		return false, err
	}
	status, body, keep := a.Respond(&q)
	answered := false
	err = db.tx(ctx, func(tx txStmts) error {
		answered = false
		if err := db.updatePayment(ctx, tx, &q, update, vals, events); err != nil {
			return err
		}
		if !keep {
			return nil
		}
		stmt, args := dialect.AnswerIdempotency(a.Scope, a.Key, status, body)
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return dbError(err)
		}
		n, err := res.RowsAffected()
		answered = n == 1
		return dbError(err)
	})
	if err != nil {
		return false, err
	}
	p.Version = q.Version
	p.UpdatedAt = q.UpdatedAt
	p.CreatedAt, p.NextCheckAt = q.CreatedAt, q.NextCheckAt
	return answered, nil
}
