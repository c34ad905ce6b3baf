package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// paymentColumns lists the payments columns in the order scanPayment reads
// and paymentArgs writes them.
const paymentColumns = `id, amount, currency, status, connector, account, terminal,
	reference, description, return_url, capture_mode, metadata, input,
	provider_reference, next_action, failure, receipt, details,
	captured_amount, refunded_amount, state, next_check_at, check_count,
	operation_id, version, created_at, updated_at, discrepancy, merchant`

type scanner interface{ Scan(dest ...any) error }

func scanPayment(s scanner) (*tender.Payment, error) {
	var (
		p                                                          tender.Payment
		metadata, input, nextAction, failure, receipt, details, st sql.NullString
		nextCheck                                                  sql.NullInt64
		created, updated                                           int64
	)
	err := s.Scan(&p.ID, &p.Amount, &p.Currency, &p.Status, &p.Connector, &p.Account, &p.Terminal,
		&p.Reference, &p.Description, &p.ReturnURL, &p.CaptureMode, &metadata, &input,
		&p.ProviderReference, &nextAction, &failure, &receipt, &details,
		&p.CapturedAmount, &p.RefundedAmount, &st, &nextCheck, &p.CheckCount,
		&p.OperationID, &p.Version, &created, &updated, &p.Discrepancy, &p.Merchant)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		col sql.NullString
		dst any
	}{
		{metadata, &p.Metadata}, {nextAction, &p.NextAction}, {failure, &p.Failure},
		{receipt, &p.Receipt}, {details, &p.Details},
	} {
		if f.col.Valid {
			if err := json.Unmarshal([]byte(f.col.String), f.dst); err != nil {
				return nil, err
			}
		}
	}
	if input.Valid {
		p.Input = json.RawMessage(input.String)
	}
	if st.Valid {
		p.State = json.RawMessage(st.String)
	}
	if nextCheck.Valid {
		p.NextCheckAt = fromMicros(nextCheck.Int64)
	}
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	return &p, nil
}

// paymentArgs returns p's column values in paymentColumns order.
func paymentArgs(p *tender.Payment) ([]any, error) {
	var js [5]any
	for i, v := range []struct {
		nil bool
		v   any
	}{
		{p.Metadata == nil, p.Metadata}, {p.NextAction == nil, p.NextAction},
		{p.Failure == nil, p.Failure}, {p.Receipt == nil, p.Receipt}, {p.Details == nil, p.Details},
	} {
		if v.nil {
			continue
		}
		b, err := json.Marshal(v.v)
		if err != nil {
			return nil, tender.Wrap(tender.EInternal, err, "cannot encode payment %s", p.ID)
		}
		js[i] = string(b)
	}
	return []any{p.ID, p.Amount, p.Currency, string(p.Status), p.Connector, p.Account, p.Terminal,
		p.Reference, p.Description, p.ReturnURL, string(p.CaptureMode), js[0], rawArg(p.Input),
		p.ProviderReference, js[1], js[2], js[3], js[4],
		p.CapturedAmount, p.RefundedAmount, rawArg(p.State), nullMicros(p.NextCheckAt), p.CheckCount,
		p.OperationID, p.Version, micros(p.CreatedAt), micros(p.UpdatedAt), p.Discrepancy, tender.MerchantOr(p.Merchant)}, nil
}

// rawArg stores an empty RawMessage as NULL.
func rawArg(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

// normalize brings p's times to what the database keeps, so the caller's
// struct equals what a later read returns.
func normalize(p *tender.Payment) {
	p.CreatedAt = utc(p.CreatedAt)
	p.UpdatedAt = utc(p.UpdatedAt)
	p.NextCheckAt = utc(p.NextCheckAt)
}

// CreatePayment inserts p with Version 1 and its events. A zero CreatedAt
// becomes now; a zero UpdatedAt becomes CreatedAt. An existing id is
// EConflict; a terminal with an open payment is ETerminalBusy (checked in
// the write transaction, which the single writer makes exclusive).
func (db *DB) CreatePayment(ctx context.Context, p *tender.Payment, events ...tender.Event) error {
	if p.ID == "" {
		return tender.Errorf(tender.EInternal, "payment has no id")
	}
	q := *p
	normalize(&q)
	if q.CreatedAt.IsZero() {
		q.CreatedAt = db.now()
	}
	if q.UpdatedAt.IsZero() {
		q.UpdatedAt = q.CreatedAt
	}
	q.Version = 1
	q.Merchant = tender.MerchantOr(q.Merchant)
	args, err := paymentArgs(&q)
	if err != nil {
		return err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if q.Terminal != "" {
			open, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments
				WHERE `+openOnTerminal+` ORDER BY created_at DESC, id DESC LIMIT 1`, q.Terminal))
			if err == nil {
				return tender.TerminalBusy(q.Terminal, open)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return dbError(err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO payments (`+paymentColumns+`)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, args...)
		if isUnique(err) {
			return tender.Errorf(tender.EConflict, "payment %s already exists", p.ID)
		}
		if err != nil {
			return dbError(err)
		}
		return db.appendEvents(ctx, tx, q.ID, q.Merchant, q.UpdatedAt, events)
	})
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// appendEvents inserts events for payment id, in order, and queues their
// webhook deliveries (the outbox) in the same transaction. An event's
// PaymentID is always id; a zero CreatedAt becomes at.
func (db *DB) appendEvents(ctx context.Context, tx *sql.Tx, id, merchant string, at time.Time, events []tender.Event) error {
	for _, e := range events {
		created := utc(e.CreatedAt)
		if created.IsZero() {
			created = at
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO events (payment_id, merchant, type, data, created_at) VALUES (?, ?, ?, ?, ?)`,
			id, merchant, e.Type, rawArg(e.Data), micros(created))
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

// GetPayment returns the payment with id, or ENotFound.
func (db *DB) GetPayment(ctx context.Context, id string) (*tender.Payment, error) {
	p, err := scanPayment(db.read.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("payment", id)
	}
	return p, dbError(err)
}

// FindPayment returns the newest payment of connector whose
// ProviderReference is ref, or ENotFound.
func (db *DB) FindPayment(ctx context.Context, connector, ref string) (*tender.Payment, error) {
	if ref == "" {
		return nil, notFound("payment with provider reference", ref)
	}
	p, err := scanPayment(db.read.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE connector = ? AND provider_reference = ? ORDER BY created_at DESC, id DESC LIMIT 1`, connector, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(connector+" payment with provider reference", ref)
	}
	return p, dbError(err)
}

// PaymentByOperation returns the oldest payment created by operation opID,
// or ENotFound.
func (db *DB) PaymentByOperation(ctx context.Context, opID string) (*tender.Payment, error) {
	if opID == "" {
		return nil, notFound("payment of operation", opID)
	}
	p, err := scanPayment(db.read.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE operation_id = ? ORDER BY created_at, id LIMIT 1`, opID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("payment of operation", opID)
	}
	return p, dbError(err)
}

// UpdatePayment stores p if the stored version is p.Version, then bumps
// p.Version and sets p.UpdatedAt; events are appended in the same
// transaction. A stale p gets ErrVersionConflict and changes nothing. The
// id and CreatedAt of a payment never change.
func (db *DB) UpdatePayment(ctx context.Context, p *tender.Payment, events ...tender.Event) error {
	q := *p
	normalize(&q)
	q.Version = p.Version + 1
	q.UpdatedAt = db.now()
	args, err := paymentArgs(&q)
	if err != nil {
		return err
	}
	// Every column but id and created_at (the first and the last but one).
	cols := strings.Split(paymentColumns, ",")
	var set []string
	var vals []any
	for i, c := range cols {
		c = strings.TrimSpace(c)
		if c == "id" || c == "created_at" || c == "merchant" {
			continue
		}
		set = append(set, c+" = ?")
		vals = append(vals, args[i])
	}
	vals = append(vals, q.ID, p.Version)
	err = db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payments SET `+strings.Join(set, ", ")+` WHERE id = ? AND version = ?`, vals...)
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
		if len(events) == 0 {
			return nil
		}
		var merchant string
		if err := tx.QueryRowContext(ctx, `SELECT merchant FROM payments WHERE id = ?`, q.ID).Scan(&merchant); err != nil {
			return dbError(err)
		}
		return db.appendEvents(ctx, tx, q.ID, merchant, q.UpdatedAt, events)
	})
	if err != nil {
		return err
	}
	p.Version = q.Version
	p.UpdatedAt = q.UpdatedAt
	p.CreatedAt, p.NextCheckAt = q.CreatedAt, q.NextCheckAt
	return nil
}

// ListPayments returns payments newest first (by CreatedAt, then id), and
// whether more follow. StartingAfter must name an existing payment (EInvalid
// otherwise); the page then holds payments older than it.
func (db *DB) ListPayments(ctx context.Context, f tender.PaymentFilter) ([]*tender.Payment, bool, error) {
	limit := pageLimit(f.Limit)
	var where []string
	var args []any
	if f.StartingAfter != "" {
		var c int64
		err := db.read.QueryRowContext(ctx, `SELECT created_at FROM payments WHERE id = ?`, f.StartingAfter).Scan(&c)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, tender.Invalid("starting_after", "no payment %q", f.StartingAfter)
		}
		if err != nil {
			return nil, false, dbError(err)
		}
		where = append(where, `(created_at < ? OR (created_at = ? AND id < ?))`)
		args = append(args, c, c, f.StartingAfter)
	}
	if f.Merchant != "" {
		where = append(where, `merchant = ?`)
		args = append(args, f.Merchant)
	}
	if f.Status != "" {
		where = append(where, `status = ?`)
		args = append(args, string(f.Status))
	}
	if f.Connector != "" {
		where = append(where, `connector = ?`)
		args = append(args, f.Connector)
	}
	if f.Terminal != "" {
		where = append(where, `terminal = ?`)
		args = append(args, f.Terminal)
	}
	if f.Discrepancy {
		where = append(where, `discrepancy <> ''`)
	}
	q := `SELECT ` + paymentColumns + ` FROM payments`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	ps, err := db.queryPayments(ctx, db.read, q, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(ps) > limit
	if more {
		ps = ps[:limit]
	}
	return ps, more, nil
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
		p, err := scanPayment(rows)
		if err != nil {
			return nil, dbError(err)
		}
		ps = append(ps, p)
	}
	return ps, dbError(rows.Err())
}

// ListEvents returns the events of payment id in the order they were
// written (empty, not an error, for an unknown id).
func (db *DB) ListEvents(ctx context.Context, paymentID string) ([]tender.Event, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, payment_id, merchant, type, data, created_at FROM events
		WHERE payment_id = ? ORDER BY id`, paymentID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var es []tender.Event
	for rows.Next() {
		var e tender.Event
		var data sql.NullString
		var created int64
		if err := rows.Scan(&e.ID, &e.PaymentID, &e.Merchant, &e.Type, &data, &created); err != nil {
			return nil, dbError(err)
		}
		if data.Valid {
			e.Data = json.RawMessage(data.String)
		}
		e.CreatedAt = fromMicros(created)
		es = append(es, e)
	}
	return es, dbError(rows.Err())
}

// openOnTerminal selects the open payments of the terminal in its one
// parameter (see tender.Store.OpenPaymentOnTerminal).
const openOnTerminal = `terminal = ? AND terminal <> '' AND status IN ('pending', 'processing', 'unknown') AND discrepancy = ''`

// OpenPaymentOnTerminal returns the newest payment on terminal that is
// pending, processing or unknown without a discrepancy, or nil.
func (db *DB) OpenPaymentOnTerminal(ctx context.Context, terminal string) (*tender.Payment, error) {
	p, err := scanPayment(db.read.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE `+openOnTerminal+` ORDER BY created_at DESC, id DESC LIMIT 1`, terminal))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return p, dbError(err)
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
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		ps, err = db.queryPayments(ctx, tx, `SELECT `+paymentColumns+` FROM payments
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
