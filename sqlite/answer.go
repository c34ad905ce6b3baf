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
// nothing. The single writer makes checks and insert one step.
func (db *DB) CreatePaymentReserving(ctx context.Context, rec *tender.IdempotencyRecord, chk tender.CreateChecks, p *tender.Payment, events ...tender.Event) (*tender.IdempotencyRecord, error) {
	db.normalizeRecord(rec)
	q, insert, args, err := sqldb.NewPaymentRow(&dialect, p, db.now())
	if err != nil {
		return nil, err
	}
	var existing *tender.IdempotencyRecord
	err = db.tx(ctx, func(tx txStmts) error {
		existing = nil
		prior, fresh, err := checks(ctx, tx, chk, &q)
		if err != nil {
			return err
		}
		if !prior && fresh {
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
			n, err := res.RowsAffected()
			if err != nil {
				return dbError(err)
			}
			if n == 1 {
				return db.insertPayment(ctx, tx, &q, insert, args, events)
			}
		}
		old, err := sqldb.ScanIdempotency(tx.QueryRowContext(ctx, `SELECT `+sqldb.IdempotencyColumns+`
			FROM idempotency_keys WHERE scope = ? AND key = ?`, rec.Scope, rec.Key))
		switch {
		case err == nil && old.ExpiresAt.After(rec.CreatedAt):
			existing = old
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return dbError(err)
		case !fresh:
			return tender.ErrStale
		case prior:
			return tender.ErrOperationExists
		default: // the insert found a live record: the writer is alone
			return tender.Errorf(tender.EInternal, "idempotency key %q vanished within a transaction", rec.Key)
		}
	})
	if err != nil || existing != nil {
		return existing, err
	}
	rec.Done, rec.Status, rec.Body = false, 0, nil
	*p = q
	return nil, nil
}

// checks reads what chk asks of payment q: whether a payment of its
// operation exists (prior) and whether its account is as the caller read
// it (fresh).
func checks(ctx context.Context, tx txStmts, chk tender.CreateChecks, q *tender.Payment) (prior, fresh bool, err error) {
	fresh = true
	if chk.Operation && q.OperationID != "" {
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM payments
			WHERE operation_id = ? AND operation_id <> '' AND merchant = ?)`, q.OperationID, q.Merchant).Scan(&prior)
		if err != nil {
			return false, false, dbError(err)
		}
	}
	if chk.AccountSealed != nil {
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM accounts
			WHERE id = ? AND sealed = ? AND (is_default OR NOT ?))`, q.Account, chk.AccountSealed, chk.AccountDefault).Scan(&fresh)
		if err != nil {
			return false, false, dbError(err)
		}
	}
	return prior, fresh, nil
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
