package postgres

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

// CreatePayment inserts p with Version 1 and its events. A zero CreatedAt
// becomes now; a zero UpdatedAt becomes CreatedAt. An existing id is EConflict.
func (db *DB) CreatePayment(ctx context.Context, p *tender.Payment, events ...tender.Event) error {
	q, insert, args, err := sqldb.NewPaymentRow(&dialect, p, db.now())
	if err != nil {
		return err
	}
	err = db.tx(ctx, func(tx pgx.Tx) error { return insertPayment(ctx, tx, &q, insert, args, events) })
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// insertPayment is CreatePayment's transaction.
func insertPayment(ctx context.Context, tx pgx.Tx, q *tender.Payment, insert string, args []any, events []tender.Event) error {
	if q.Terminal != "" {
		// One open payment per terminal across instances: the
		// transaction lock serializes creators on one terminal until
		// commit, so the check below cannot miss a concurrent insert.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tender.terminal.' || $1))`, q.Terminal); err != nil {
			return dbError(err)
		}
		open, err := sqldb.ScanPayment(tx.QueryRow(ctx, sqldb.SelectPayment+` WHERE `+dialect.Rebind(sqldb.OpenOnTerminal)+`
			ORDER BY created_at DESC, id DESC LIMIT 1`, q.Terminal))
		if err == nil {
			return tender.TerminalBusy(q.Terminal, open)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return dbError(err)
		}
	}
	_, err := tx.Exec(ctx, insert, args...)
	if uniqueViolation(err) != "" {
		return tender.Errorf(tender.EConflict, "payment %s already exists", q.ID)
	}
	if err != nil {
		return dbError(err)
	}
	return appendEvents(ctx, tx, q.ID, q.UpdatedAt, events)
}

// appendEvents inserts events for payment id, in order, in one round trip,
// and with each its webhook deliveries (the outbox): one per endpoint of
// the payment's merchant that is not deleted and lists the event's type. A data-modifying WITH runs
// exactly once, whether or not any endpoint matches. An event's PaymentID
// is always id; a zero CreatedAt becomes at.
func appendEvents(ctx context.Context, tx pgx.Tx, id string, at time.Time, events []tender.Event) error {
	return appendEventsWith(ctx, tx, id, at, events, nil)
}

// appendEventsWith is appendEvents that also sends the statements more
// queues, in the same round trip.
func appendEventsWith(ctx context.Context, tx pgx.Tx, id string, at time.Time, events []tender.Event, more func(*pgx.Batch)) error {
	if len(events) == 0 && more == nil {
		return nil
	}
	var b pgx.Batch
	queueEvents(&b, id, at, events, false)
	if more != nil {
		more(&b)
	}
	return dbError(tx.SendBatch(ctx, &b).Close())
}

// queueEvents queues the statements that insert events for payment id
// with their webhook deliveries (see appendEvents). ifUpdated inserts them
// only if this transaction wrote the payment's row as it is now (its xmin
// is this transaction's id): a batch whose version-checked update found a
// newer version writes no events.
func queueEvents(b *pgx.Batch, id string, at time.Time, events []tender.Event, ifUpdated bool) {
	cond := ``
	if ifUpdated {
		cond = ` AND ` + updatedHere
	}
	for _, e := range events {
		created := utc(e.CreatedAt)
		if created.IsZero() {
			created = at
		}
		b.Queue(`WITH ev AS (
				INSERT INTO events (payment_id, merchant, type, data, created_at)
				SELECT $1, p.merchant, $2, $3, $4 FROM payments p WHERE p.id = $1`+cond+`
				RETURNING id, merchant
			)
			INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payment_id, status, next_attempt_at, created_at)
			SELECT w.id, ev.id, $2, $1, 'pending', $4, $4 FROM ev, webhook_endpoints w
			WHERE w.merchant = ev.merchant AND w.deleted_at IS NULL AND w.events ? $2::text`,
			id, e.Type, sqldb.Raw(e.Data), created)
	}
}

// updatedHere holds for a row of payments p that the current transaction
// wrote (PostgreSQL 13+: pg_current_xact_id).
const updatedHere = `p.xmin = pg_current_xact_id()::xid`

// UpdatePayment stores p if the stored version is p.Version, then bumps
// p.Version and sets p.UpdatedAt; events are appended in the same
// transaction. A stale p gets ErrVersionConflict and changes nothing. The
// id and CreatedAt of a payment never change. With oneTrip the whole
// transaction is one round trip (updateOneTrip).
func (db *DB) UpdatePayment(ctx context.Context, p *tender.Payment, events ...tender.Event) error {
	q, stmt, vals, err := sqldb.UpdatedPaymentRow(&dialect, p, db.now())
	if err != nil {
		return err
	}
	if oneTrip {
		err = db.updateOneTrip(ctx, &q, stmt, vals, events, nil)
	} else {
		err = db.tx(ctx, func(tx pgx.Tx) error { return updatePayment(ctx, tx, &q, stmt, vals, events, nil) })
	}
	if err != nil {
		return err
	}
	p.Version = q.Version
	p.UpdatedAt = q.UpdatedAt
	p.CreatedAt, p.NextCheckAt = q.CreatedAt, q.NextCheckAt
	return nil
}

// updateOneTrip is UpdatePayment's transaction in one round trip: the
// version-checked update, then q's saved method, its events with their
// webhook deliveries and what more queues, each written only if that
// update wrote the payment's row (updatedHere), so that a lost update
// writes nothing. pgx sends a batch outside a transaction with one Sync:
// PostgreSQL runs it as one implicit transaction, committed (as durably
// as any COMMIT) after its last statement, or rolled back whole if one
// fails. Only a lost update costs a second trip, to tell a conflict
// from a missing payment.
func (db *DB) updateOneTrip(ctx context.Context, q *tender.Payment, stmt string, vals []any, events []tender.Event, more func(*pgx.Batch)) error {
	var b pgx.Batch
	updated := false
	b.Queue(stmt, vals...).Exec(func(ct pgconn.CommandTag) error {
		updated = ct.RowsAffected() == 1
		return nil
	})
	if m := q.SavedMethod; m != nil {
		b.Queue(insertMethodIfUpdated, append(sqldb.MethodArgs(&dialect, m), q.ID)...)
	}
	queueEvents(&b, q.ID, q.UpdatedAt, events, true)
	if more != nil {
		more(&b)
	}
	if err := db.pool.SendBatch(ctx, &b).Close(); err != nil {
		return dbError(err)
	}
	if updated {
		return nil
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payments WHERE id = $1)`, q.ID).Scan(&exists); err != nil {
		return dbError(err)
	}
	if !exists {
		return notFound("payment", q.ID)
	}
	return tender.ErrVersionConflict
}

// insertMethodIfUpdated is sqldb.InsertMethod for a one-trip update: it
// inserts only if the batch's update wrote the payment (its 13th
// parameter).
var insertMethodIfUpdated = strings.Replace(
	strings.Replace(dialect.Rebind(sqldb.InsertMethod), "VALUES (", "SELECT ", 1),
	") ON CONFLICT", " FROM payments p WHERE p.id = $13 AND "+updatedHere+" ON CONFLICT", 1)

// updatePayment is UpdatePayment's transaction; more queues statements
// sent with the events.
func updatePayment(ctx context.Context, tx pgx.Tx, q *tender.Payment, stmt string, vals []any, events []tender.Event, more func(*pgx.Batch)) error {
	tag, err := tx.Exec(ctx, stmt, vals...)
	if err != nil {
		return dbError(err)
	}
	if tag.RowsAffected() == 0 {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payments WHERE id = $1)`, q.ID).Scan(&exists); err != nil {
			return dbError(err)
		}
		if !exists {
			return notFound("payment", q.ID)
		}
		return tender.ErrVersionConflict
	}
	if m := q.SavedMethod; m != nil {
		if _, err := tx.Exec(ctx, dialect.Rebind(sqldb.InsertMethod), sqldb.MethodArgs(&dialect, m)...); err != nil {
			return dbError(err)
		}
	}
	return appendEventsWith(ctx, tx, q.ID, q.UpdatedAt, events, more)
}

// ClaimDue returns up to limit payments due at now (oldest due first) and
// moves their NextCheckAt to now+lease, bumping Version, in one statement.
// FOR UPDATE SKIP LOCKED makes concurrent claimers (other instances) pass
// over rows being claimed instead of waiting for or re-claiming them.
// UpdatedAt is left alone: a lease is not a change of the payment.
func (db *DB) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*tender.Payment, error) {
	if limit <= 0 {
		return nil, nil
	}
	now = utc(now)
	until := utc(now.Add(lease))
	cols := make([]string, len(sqldb.PaymentColumns))
	for i, c := range sqldb.PaymentColumns {
		cols[i] = "p." + c
	}
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT id, next_check_at FROM payments
			WHERE next_check_at IS NOT NULL AND next_check_at <= $1
			ORDER BY next_check_at, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE payments p SET next_check_at = $2, version = p.version + 1
		FROM due WHERE p.id = due.id
		RETURNING `+strings.Join(cols, ", ")+`, due.next_check_at`, now, until, limit)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	type claimed struct {
		p   *tender.Payment
		due time.Time
	}
	var cs []claimed
	for rows.Next() {
		var due time.Time
		p, err := sqldb.ScanPayment(rows, &due)
		if err != nil {
			return nil, dbError(err)
		}
		cs = append(cs, claimed{p, due})
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	// RETURNING has no order: restore oldest due first.
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].due.Equal(cs[j].due) {
			return cs[i].due.Before(cs[j].due)
		}
		return cs[i].p.ID < cs[j].p.ID
	})
	ps := make([]*tender.Payment, len(cs))
	for i, c := range cs {
		ps[i] = c.p
	}
	return ps, nil
}

// PaymentWithEvents returns the payment with id and its events, in the
// order they were written, in one round trip (two statements in one
// batch, each reading what was committed when it ran). A missing payment
// is ENotFound.
func (db *DB) PaymentWithEvents(ctx context.Context, id string) (*tender.Payment, []tender.Event, error) {
	var b pgx.Batch
	var p *tender.Payment
	var events []tender.Event
	b.Queue(sqldb.SelectPayment+` WHERE id = $1`, id).QueryRow(func(row pgx.Row) error {
		var err error
		if p, err = sqldb.ScanPayment(row); errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	b.Queue(dialect.Rebind(sqldb.SelectEvents), id).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			e, err := sqldb.ScanEvent(rows)
			if err != nil {
				return err
			}
			events = append(events, e)
		}
		return rows.Err()
	})
	if err := db.pool.SendBatch(ctx, &b).Close(); err != nil {
		return nil, nil, dbError(err)
	}
	if p == nil {
		return nil, nil, notFound("payment", id)
	}
	return p, events, nil
}
