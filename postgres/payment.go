package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenderpay/tender"
)

// paymentColumns lists the payments columns in the order scanPayment reads
// and paymentArgs writes them.
var paymentColumns = []string{"id", "amount", "currency", "status", "connector", "account", "terminal",
	"reference", "description", "return_url", "capture_mode", "metadata", "input",
	"provider_reference", "next_action", "failure", "receipt", "details",
	"captured_amount", "refunded_amount", "state", "next_check_at", "check_count",
	"operation_id", "version", "created_at", "updated_at", "discrepancy", "merchant"}

var selectPayment = `SELECT ` + strings.Join(paymentColumns, ", ") + ` FROM payments`

func scanPayment(row pgx.Row, extra ...any) (*tender.Payment, error) {
	var (
		p                                                          tender.Payment
		status, captureMode                                        string
		metadata, input, nextAction, failure, receipt, details, st *string
		nextCheck                                                  *time.Time
	)
	dest := []any{&p.ID, &p.Amount, &p.Currency, &status, &p.Connector, &p.Account, &p.Terminal,
		&p.Reference, &p.Description, &p.ReturnURL, &captureMode, &metadata, &input,
		&p.ProviderReference, &nextAction, &failure, &receipt, &details,
		&p.CapturedAmount, &p.RefundedAmount, &st, &nextCheck, &p.CheckCount,
		&p.OperationID, &p.Version, &p.CreatedAt, &p.UpdatedAt, &p.Discrepancy, &p.Merchant}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	p.Status, p.CaptureMode = tender.Status(status), tender.CaptureMode(captureMode)
	for _, f := range []struct {
		col *string
		dst any
	}{
		{metadata, &p.Metadata}, {nextAction, &p.NextAction}, {failure, &p.Failure},
		{receipt, &p.Receipt}, {details, &p.Details},
	} {
		if f.col != nil {
			if err := json.Unmarshal([]byte(*f.col), f.dst); err != nil {
				return nil, err
			}
		}
	}
	if input != nil {
		p.Input = json.RawMessage(*input)
	}
	if st != nil {
		p.State = json.RawMessage(*st)
	}
	if nextCheck != nil {
		p.NextCheckAt = nextCheck.UTC()
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
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
		p.CapturedAmount, p.RefundedAmount, rawArg(p.State), nullTime(p.NextCheckAt), p.CheckCount,
		p.OperationID, p.Version, p.CreatedAt, p.UpdatedAt, p.Discrepancy, tender.MerchantOr(p.Merchant)}, nil
}

// rawArg stores an empty RawMessage as NULL.
func rawArg(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

func normalize(p *tender.Payment) {
	p.CreatedAt = utc(p.CreatedAt)
	p.UpdatedAt = utc(p.UpdatedAt)
	p.NextCheckAt = utc(p.NextCheckAt)
}

// CreatePayment inserts p with Version 1 and its events. A zero CreatedAt
// becomes now; a zero UpdatedAt becomes CreatedAt. An existing id is EConflict.
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
	err = db.tx(ctx, func(tx pgx.Tx) error {
		if q.Terminal != "" {
			// One open payment per terminal across instances: the
			// transaction lock serializes creators on one terminal until
			// commit, so the check below cannot miss a concurrent insert.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tender.terminal.' || $1))`, q.Terminal); err != nil {
				return dbError(err)
			}
			open, err := scanPayment(tx.QueryRow(ctx, selectPayment+` WHERE `+openOnTerminal+`
				ORDER BY created_at DESC, id DESC LIMIT 1`, q.Terminal))
			if err == nil {
				return tender.TerminalBusy(q.Terminal, open)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return dbError(err)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO payments (`+strings.Join(paymentColumns, ", ")+`)
			VALUES (`+placeholders(1, len(args))+`)`, args...)
		if uniqueViolation(err) != "" {
			return tender.Errorf(tender.EConflict, "payment %s already exists", p.ID)
		}
		if err != nil {
			return dbError(err)
		}
		return appendEvents(ctx, tx, q.ID, q.UpdatedAt, events)
	})
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// appendEvents inserts events for payment id, in order, in one round trip,
// and with each its webhook deliveries (the outbox): one per endpoint of
// the payment's merchant that is not deleted and lists the event's type. A data-modifying WITH runs
// exactly once, whether or not any endpoint matches. An event's PaymentID
// is always id; a zero CreatedAt becomes at.
func appendEvents(ctx context.Context, tx pgx.Tx, id string, at time.Time, events []tender.Event) error {
	if len(events) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, e := range events {
		created := utc(e.CreatedAt)
		if created.IsZero() {
			created = at
		}
		b.Queue(`WITH ev AS (
				INSERT INTO events (payment_id, merchant, type, data, created_at)
				SELECT $1, p.merchant, $2, $3, $4 FROM payments p WHERE p.id = $1
				RETURNING id, merchant
			)
			INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payment_id, status, next_attempt_at, created_at)
			SELECT w.id, ev.id, $2, $1, 'pending', $4, $4 FROM ev, webhook_endpoints w
			WHERE w.merchant = ev.merchant AND w.deleted_at IS NULL AND w.events ? $2::text`,
			id, e.Type, rawArg(e.Data), created)
	}
	return dbError(tx.SendBatch(ctx, &b).Close())
}

// GetPayment returns the payment with id, or ENotFound.
func (db *DB) GetPayment(ctx context.Context, id string) (*tender.Payment, error) {
	p, err := scanPayment(db.pool.QueryRow(ctx, selectPayment+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	p, err := scanPayment(db.pool.QueryRow(ctx, selectPayment+`
		WHERE connector = $1 AND provider_reference = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, connector, ref))
	if errors.Is(err, pgx.ErrNoRows) {
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
	p, err := scanPayment(db.pool.QueryRow(ctx, selectPayment+` WHERE operation_id = $1
		ORDER BY created_at, id LIMIT 1`, opID))
	if errors.Is(err, pgx.ErrNoRows) {
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
	var set []string
	var vals []any
	for i, c := range paymentColumns {
		if c == "id" || c == "created_at" || c == "merchant" {
			continue
		}
		vals = append(vals, args[i])
		set = append(set, c+" = $"+strconv.Itoa(len(vals)))
	}
	vals = append(vals, q.ID, p.Version)
	n := len(vals)
	stmt := `UPDATE payments SET ` + strings.Join(set, ", ") +
		` WHERE id = $` + strconv.Itoa(n-1) + ` AND version = $` + strconv.Itoa(n)
	err = db.tx(ctx, func(tx pgx.Tx) error {
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
		return appendEvents(ctx, tx, q.ID, q.UpdatedAt, events)
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.StartingAfter != "" {
		var c time.Time
		err := db.pool.QueryRow(ctx, `SELECT created_at FROM payments WHERE id = $1`, f.StartingAfter).Scan(&c)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, tender.Invalid("starting_after", "no payment %q", f.StartingAfter)
		}
		if err != nil {
			return nil, false, dbError(err)
		}
		where = append(where, `(created_at, id) < (`+arg(c)+`, `+arg(f.StartingAfter)+`)`)
	}
	if f.Merchant != "" {
		where = append(where, `merchant = `+arg(f.Merchant))
	}
	if f.Status != "" {
		where = append(where, `status = `+arg(string(f.Status)))
	}
	if f.Connector != "" {
		where = append(where, `connector = `+arg(f.Connector))
	}
	if f.Terminal != "" {
		where = append(where, `terminal = `+arg(f.Terminal))
	}
	if f.Discrepancy {
		where = append(where, `discrepancy <> ''`)
	}
	q := selectPayment
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit+1)
	ps, err := queryPayments(ctx, db.pool, q, args...)
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
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryPayments(ctx context.Context, qr querier, q string, args ...any) ([]*tender.Payment, error) {
	rows, err := qr.Query(ctx, q, args...)
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
	rows, err := db.pool.Query(ctx, `SELECT id, payment_id, merchant, type, data, created_at FROM events
		WHERE payment_id = $1 ORDER BY id`, paymentID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var es []tender.Event
	for rows.Next() {
		var e tender.Event
		var data *string
		if err := rows.Scan(&e.ID, &e.PaymentID, &e.Merchant, &e.Type, &data, &e.CreatedAt); err != nil {
			return nil, dbError(err)
		}
		if data != nil {
			e.Data = json.RawMessage(*data)
		}
		e.CreatedAt = e.CreatedAt.UTC()
		es = append(es, e)
	}
	return es, dbError(rows.Err())
}

// openOnTerminal selects the open payments of the terminal in $1 (see
// tender.Store.OpenPaymentOnTerminal).
const openOnTerminal = `terminal = $1 AND terminal <> '' AND status IN ('pending', 'processing', 'unknown') AND discrepancy = ''`

// OpenPaymentOnTerminal returns the newest payment on terminal that is
// pending, processing or unknown without a discrepancy, or nil.
func (db *DB) OpenPaymentOnTerminal(ctx context.Context, terminal string) (*tender.Payment, error) {
	p, err := scanPayment(db.pool.QueryRow(ctx, selectPayment+` WHERE `+openOnTerminal+`
		ORDER BY created_at DESC, id DESC LIMIT 1`, terminal))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return p, dbError(err)
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
	cols := make([]string, len(paymentColumns))
	for i, c := range paymentColumns {
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
		p, err := scanPayment(rows, &due)
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
