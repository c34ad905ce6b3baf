package sqlite

import (
	"context"
	"database/sql"
	"errors"

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
		old, err := sqldb.ScanIdempotency(tx.QueryRowContext(ctx, `SELECT `+sqldb.IdempotencyColumns+`
			FROM idempotency_keys WHERE scope = ? AND key = ?`, rec.Scope, rec.Key))
		switch {
		case err == nil && old.ExpiresAt.After(rec.CreatedAt):
			existing = old
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return dbError(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys
			(scope, key, request_hash, done, status, body, created_at, expires_at, locked_until)
			VALUES (?, ?, ?, 0, 0, NULL, ?, ?, ?)`,
			rec.Scope, rec.Key, rec.RequestHash, micros(rec.CreatedAt), micros(rec.ExpiresAt), dialect.LockTime(rec.LockedUntil)); err != nil {
			return dbError(err)
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
