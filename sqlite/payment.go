package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

// CreatePayment inserts p with Version 1 and its events. A zero CreatedAt
// becomes now; a zero UpdatedAt becomes CreatedAt. An existing id is
// EConflict; a terminal with an open payment is ETerminalBusy (checked in
// the write transaction, which the single writer makes exclusive).
func (db *DB) CreatePayment(ctx context.Context, p *tender.Payment, events ...tender.Event) error {
	q, insert, args, err := sqldb.NewPaymentRow(&dialect, p, db.now())
	if err != nil {
		return err
	}
	err = db.tx(ctx, func(tx txStmts) error { return db.insertPayment(ctx, tx, &q, insert, args, events) })
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// insertPayment is CreatePayment's transaction.
func (db *DB) insertPayment(ctx context.Context, tx txStmts, q *tender.Payment, insert string, args []any, events []tender.Event) error {
	if q.Terminal != "" {
		open, err := sqldb.ScanPayment(tx.QueryRowContext(ctx, sqldb.SelectPayment+`
			WHERE `+sqldb.OpenOnTerminal+` ORDER BY created_at DESC, id DESC LIMIT 1`, q.Terminal))
		if err == nil {
			return tender.TerminalBusy(q.Terminal, open)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return dbError(err)
		}
	}
	_, err := tx.ExecContext(ctx, insert, args...)
	if isUnique(err) {
		return tender.Errorf(tender.EConflict, "payment %s already exists", q.ID)
	}
	if err != nil {
		return dbError(err)
	}
	return db.appendEvents(ctx, tx, q.ID, q.Merchant, q.UpdatedAt, events)
}

// appendEvents inserts events for payment id, in order, and queues their
// webhook deliveries (the outbox) in the same transaction. An event's
// PaymentID is always id; a zero CreatedAt becomes at.
func (db *DB) appendEvents(ctx context.Context, tx txStmts, id, merchant string, at time.Time, events []tender.Event) error {
	for _, e := range events {
		created := utc(e.CreatedAt)
		if created.IsZero() {
			created = at
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO events (payment_id, merchant, type, data, created_at) VALUES (?, ?, ?, ?, ?)`,
			id, merchant, e.Type, sqldb.Raw(e.Data), micros(created))
		if err != nil {
			return dbError(err)
		}
		eventID, err := res.LastInsertId()
		if err != nil {
			return dbError(err)
		}
		if err := queueDeliveries(ctx, tx, eventID, id, merchant, e.Type, created); err != nil {
			return err
		}
	}
	return nil
}

// UpdatePayment stores p if the stored version is p.Version, then bumps
// p.Version and sets p.UpdatedAt; events are appended in the same
// transaction. A stale p gets ErrVersionConflict and changes nothing. The
// id and CreatedAt of a payment never change.
func (db *DB) UpdatePayment(ctx context.Context, p *tender.Payment, events ...tender.Event) error {
	q, update, vals, err := sqldb.UpdatedPaymentRow(&dialect, p, db.now())
	if err != nil {
		return err
	}
	err = db.tx(ctx, func(tx txStmts) error { return db.updatePayment(ctx, tx, &q, update, vals, events) })
	if err != nil {
		return err
	}
	p.Version = q.Version
	p.UpdatedAt = q.UpdatedAt
	p.CreatedAt, p.NextCheckAt = q.CreatedAt, q.NextCheckAt
	return nil
}

// updatePayment is UpdatePayment's transaction.
func (db *DB) updatePayment(ctx context.Context, tx txStmts, q *tender.Payment, update string, vals []any, events []tender.Event) error {
	res, err := tx.ExecContext(ctx, update, vals...)
	if err != nil {
		return dbError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(err)
	}
	if n == 0 {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM payments WHERE id = ?`, q.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("payment", q.ID)
		}
		if err != nil {
			return dbError(err)
		}
		return tender.ErrVersionConflict
	}
	if m := q.SavedMethod; m != nil {
		if _, err := tx.ExecContext(ctx, sqldb.InsertMethod, sqldb.MethodArgs(&dialect, m)...); err != nil {
			return dbError(err)
		}
	}
	if len(events) == 0 {
		return nil
	}
	// A payment's merchant never changes: the one it was read with is
	// the stored one (read it only for a caller that did not say).
	merchant := q.Merchant
	if merchant == "" {
		if err := tx.QueryRowContext(ctx, `SELECT merchant FROM payments WHERE id = ?`, q.ID).Scan(&merchant); err != nil {
			return dbError(err)
		}
	}
	return db.appendEvents(ctx, tx, q.ID, merchant, q.UpdatedAt, events)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) queryPayments(ctx context.Context, qr querier, q string, args ...any) ([]*tender.Payment, error) {
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var ps []*tender.Payment
	for rows.Next() {
		p, err := sqldb.ScanPayment(rows)
		if err != nil {
			return nil, dbError(err)
		}
		ps = append(ps, p)
	}
	return ps, dbError(rows.Err())
}

// ClaimDue returns up to limit payments due at now (oldest due first) and
// moves their NextCheckAt to now+lease, bumping Version, in one write
// transaction; the writer lock keeps two claimers apart. UpdatedAt is left
// alone: a lease is not a change of the payment.
func (db *DB) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*tender.Payment, error) {
	if limit <= 0 {
		return nil, nil
	}
	now = utc(now)
	until := utc(now.Add(lease))
	var ps []*tender.Payment
	err := db.tx(ctx, func(tx txStmts) error {
		var err error
		ps, err = db.queryPayments(ctx, tx, sqldb.SelectPayment+`
			WHERE next_check_at IS NOT NULL AND next_check_at <= ?
			ORDER BY next_check_at, id LIMIT ?`, micros(now), limit)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if _, err := tx.ExecContext(ctx, `UPDATE payments SET next_check_at = ?, version = version + 1
				WHERE id = ?`, micros(until), p.ID); err != nil {
				return dbError(err)
			}
			p.NextCheckAt = until
			p.Version++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ps, nil
}
