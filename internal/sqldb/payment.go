package sqldb

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// PaymentColumns are the payments columns in the order ScanPayment reads
// and PaymentArgs writes them.
var PaymentColumns = []string{"id", "amount", "currency", "status", "connector", "account", "terminal",
	"reference", "description", "return_url", "capture_mode", "metadata", "input",
	"provider_reference", "next_action", "failure", "receipt", "details",
	"captured_amount", "refunded_amount", "state", "next_check_at", "check_count",
	"operation_id", "version", "created_at", "updated_at", "discrepancy", "merchant",
	"customer", "setup_future_usage", "payment_method", "payment_method_reference", "off_session", "subscription", "subscription_active",
	"locale"}

// SelectPayment selects PaymentColumns from payments.
var SelectPayment = `SELECT ` + strings.Join(PaymentColumns, ", ") + ` FROM payments`

// ScanPayment reads the PaymentColumns of a row, then extra.
func ScanPayment(row Row, extra ...any) (*tender.Payment, error) {
	var (
		p                                                          tender.Payment
		status, captureMode                                        string
		metadata, input, nextAction, failure, receipt, details, st *string
		subscription                                               *string
		offSession, subActive                                      int64
	)
	dest := []any{&p.ID, &p.Amount, &p.Currency, &status, &p.Connector, &p.Account, &p.Terminal,
		&p.Reference, &p.Description, &p.ReturnURL, &captureMode, &metadata, &input,
		&p.ProviderReference, &nextAction, &failure, &receipt, &details,
		&p.CapturedAmount, &p.RefundedAmount, &st, TimeDest(&p.NextCheckAt), &p.CheckCount,
		&p.OperationID, &p.Version, TimeDest(&p.CreatedAt), TimeDest(&p.UpdatedAt), &p.Discrepancy, &p.Merchant,
		&p.Customer, &p.SetupFutureUsage, &p.PaymentMethod, &p.PaymentMethodReference, &offSession, &subscription, &subActive,
		&p.Locale}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	p.Status, p.CaptureMode = tender.Status(status), tender.CaptureMode(captureMode)
	for _, f := range []struct {
		col *string
		dst any
	}{
		{metadata, &p.Metadata}, {nextAction, &p.NextAction}, {failure, &p.Failure},
		{receipt, &p.Receipt}, {details, &p.Details}, {subscription, &p.Subscription},
	} {
		if f.col != nil {
			if err := json.Unmarshal([]byte(*f.col), f.dst); err != nil {
				return nil, err
			}
		}
	}
	p.OffSession = offSession != 0
	if input != nil {
		p.Input = json.RawMessage(*input)
	}
	if st != nil {
		p.State = json.RawMessage(*st)
	}
	return &p, nil
}

// PaymentArgs returns p's column values in PaymentColumns order. JSON
// columns are NULL when the Go value is nil, so nil and empty survive a
// round trip.
func PaymentArgs(d *Dialect, p *tender.Payment) ([]any, error) {
	var js [6]any
	for i, v := range []struct {
		nil bool
		v   any
	}{
		{p.Metadata == nil, p.Metadata}, {p.NextAction == nil, p.NextAction},
		{p.Failure == nil, p.Failure}, {p.Receipt == nil, p.Receipt}, {p.Details == nil, p.Details},
		{p.Subscription == nil, p.Subscription},
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
		p.Reference, p.Description, p.ReturnURL, string(p.CaptureMode), js[0], raw(p.Input),
		p.ProviderReference, js[1], js[2], js[3], js[4],
		p.CapturedAmount, p.RefundedAmount, raw(p.State), d.Time(p.NextCheckAt), p.CheckCount,
		p.OperationID, p.Version, d.Time(p.CreatedAt), d.Time(p.UpdatedAt), p.Discrepancy, tender.MerchantOr(p.Merchant),
		p.Customer, p.SetupFutureUsage, p.PaymentMethod, p.PaymentMethodReference, boolInt(p.OffSession), js[5],
		boolInt(p.Subscription != nil && p.Subscription.Active), p.Locale}, nil
}

// raw stores an empty RawMessage as NULL.
func raw(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

// OpenOnTerminal selects the open payments of the terminal in its one
// parameter (see tender.Store.OpenPaymentOnTerminal).
const OpenOnTerminal = `terminal = ? AND terminal <> '' AND status IN ('pending', 'processing', 'unknown') AND discrepancy = ''`

// GetPayment returns the payment with id, or ENotFound.
func (q *Queries) GetPayment(ctx context.Context, id string) (*tender.Payment, error) {
	p, err := ScanPayment(q.queryRow(ctx, SelectPayment+` WHERE id = ?`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("payment", id)
	}
	return p, dbError(err)
}

// FindPayment returns the newest payment of connector whose
// ProviderReference is ref, or ENotFound.
func (q *Queries) FindPayment(ctx context.Context, connector, ref string) (*tender.Payment, error) {
	if ref == "" {
		return nil, notFound("payment with provider reference", ref)
	}
	p, err := ScanPayment(q.queryRow(ctx, SelectPayment+`
		WHERE connector = ? AND provider_reference = ? AND provider_reference <> '' ORDER BY created_at DESC, id DESC LIMIT 1`, connector, ref))
	if q.d.IsNoRows(err) {
		return nil, notFound(connector+" payment with provider reference", ref)
	}
	return p, dbError(err)
}

// PaymentByOperation returns the oldest payment created by operation opID,
// or ENotFound.
func (q *Queries) PaymentByOperation(ctx context.Context, opID string) (*tender.Payment, error) {
	if opID == "" {
		return nil, notFound("payment of operation", opID)
	}
	// operation_id <> '' lets both databases use the partial index
	// payments_operation: a bound parameter alone does not prove it, and
	// SQLite walked every payment in created_at order instead (half of a
	// create's CPU at 10,000 payments).
	p, err := ScanPayment(q.queryRow(ctx, SelectPayment+` WHERE operation_id = ? AND operation_id <> '' ORDER BY created_at, id LIMIT 1`, opID))
	if q.d.IsNoRows(err) {
		return nil, notFound("payment of operation", opID)
	}
	return p, dbError(err)
}

// OpenPaymentOnTerminal returns the newest payment on terminal that is
// pending, processing or unknown without a discrepancy, or nil.
func (q *Queries) OpenPaymentOnTerminal(ctx context.Context, terminal string) (*tender.Payment, error) {
	p, err := ScanPayment(q.queryRow(ctx, SelectPayment+` WHERE `+OpenOnTerminal+` ORDER BY created_at DESC, id DESC LIMIT 1`, terminal))
	if q.d.IsNoRows(err) {
		return nil, nil
	}
	return p, dbError(err)
}

// ListPayments returns payments newest first (by CreatedAt, then id), and
// whether more follow. StartingAfter must name an existing payment (EInvalid
// otherwise); the page then holds payments older than it.
func (q *Queries) ListPayments(ctx context.Context, f tender.PaymentFilter) ([]*tender.Payment, bool, error) {
	var where []string
	var args []any
	if f.StartingAfter != "" {
		var c any
		err := q.queryRow(ctx, `SELECT created_at FROM payments WHERE id = ?`, f.StartingAfter).Scan(&c)
		if q.d.IsNoRows(err) {
			return nil, false, tender.Invalid("starting_after", "no payment %q", f.StartingAfter)
		}
		if err != nil {
			return nil, false, dbError(err)
		}
		// A row value, not (created_at < ? OR (created_at = ? AND id < ?)):
		// both databases seek an index on (…, created_at, id) to it, where
		// the OR made them scan every newer row (35 ms 100,000 deep).
		where = append(where, `(created_at, id) < (?, ?)`)
		args = append(args, c, f.StartingAfter)
	}
	for _, c := range []struct{ col, v string }{
		{"merchant = ?", f.Merchant}, {"status = ?", string(f.Status)}, {"connector = ?", f.Connector}, {"terminal = ?", f.Terminal},
	} {
		if c.v != "" {
			where, args = append(where, c.col), append(args, c.v)
		}
	}
	if f.Discrepancy {
		where = append(where, `discrepancy <> ''`)
	}
	s := SelectPayment
	if len(where) > 0 {
		s += ` WHERE ` + strings.Join(where, " AND ")
	}
	return list(ctx, q, PageLimit(f.Limit), func(r Row) (*tender.Payment, error) { return ScanPayment(r) },
		s+` ORDER BY created_at DESC, id DESC LIMIT ?`, args...)
}

// ListEvents returns the events of payment id in the order they were
// written (empty, not an error, for an unknown id).
func (q *Queries) ListEvents(ctx context.Context, paymentID string) ([]tender.Event, error) {
	es, _, err := list(ctx, q, 1<<30, ScanEvent, SelectEvents+` LIMIT ?`, paymentID)
	return es, err
}

// SelectEvents selects the events of the payment in its one parameter,
// in the order they were written, for ScanEvent.
const SelectEvents = `SELECT id, payment_id, merchant, type, data, created_at FROM events WHERE payment_id = ? ORDER BY id`

// ScanEvent reads a row of SelectEvents.
func ScanEvent(r Row) (tender.Event, error) {
	var e tender.Event
	var data *string
	if err := r.Scan(&e.ID, &e.PaymentID, &e.Merchant, &e.Type, &data, TimeDest(&e.CreatedAt)); err != nil {
		return e, err
	}
	if data != nil {
		e.Data = json.RawMessage(*data)
	}
	return e, nil
}

// Normalize brings p's times to what the databases keep, so the caller's
// struct equals what a later read returns.
func Normalize(p *tender.Payment) {
	p.CreatedAt = utc(p.CreatedAt)
	p.UpdatedAt = utc(p.UpdatedAt)
	p.NextCheckAt = utc(p.NextCheckAt)
}

// NewPaymentRow is the row CreatePayment inserts for p: Version 1, a zero
// CreatedAt now, a zero UpdatedAt CreatedAt, no merchant the default one;
// with its INSERT statement and arguments.
func NewPaymentRow(d *Dialect, p *tender.Payment, now time.Time) (row tender.Payment, stmt string, args []any, err error) {
	if p.ID == "" {
		return row, "", nil, tender.Errorf(tender.EInternal, "payment has no id")
	}
	row = *p
	Normalize(&row)
	if row.CreatedAt.IsZero() {
		row.CreatedAt = utc(now)
	}
	if row.UpdatedAt.IsZero() {
		row.UpdatedAt = row.CreatedAt
	}
	row.Version = 1
	row.Merchant = tender.MerchantOr(row.Merchant)
	args, err = PaymentArgs(d, &row)
	return row, d.Rebind(insertPayment), args, err
}

// insertPayment and updatePayment are the statements of NewPaymentRow and
// UpdatedPaymentRow; updatePayment sets every column but id, created_at
// and merchant (updated), in PaymentColumns order.
var (
	insertPayment = `INSERT INTO payments (` + strings.Join(PaymentColumns, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", len(PaymentColumns)), ", ") + `)`
	updatePayment = func() string {
		var set []string
		for _, c := range PaymentColumns {
			if updated(c) {
				set = append(set, c+" = ?")
			}
		}
		return `UPDATE payments SET ` + strings.Join(set, ", ") + ` WHERE id = ? AND version = ?`
	}()
)

// updated says whether an update of a payment sets column c.
func updated(c string) bool { return c != "id" && c != "created_at" && c != "merchant" }

// UpdatedPaymentRow is the row UpdatePayment stores for p (the next
// version, updated now), with its UPDATE statement, which changes every
// column but id, created_at and merchant if the stored version is still
// p.Version, and its arguments.
func UpdatedPaymentRow(d *Dialect, p *tender.Payment, now time.Time) (row tender.Payment, stmt string, args []any, err error) {
	row = *p
	Normalize(&row)
	row.Version = p.Version + 1
	row.UpdatedAt = utc(now)
	all, err := PaymentArgs(d, &row)
	if err != nil {
		return row, "", nil, err
	}
	args = make([]any, 0, len(all))
	for i, c := range PaymentColumns {
		if updated(c) {
			args = append(args, all[i])
		}
	}
	args = append(args, row.ID, p.Version)
	return row, d.Rebind(updatePayment), args, nil
}

// Raw stores an empty RawMessage as NULL.
func Raw(r json.RawMessage) any { return raw(r) }

// UTC normalises t to what the databases keep: UTC, microseconds.
func UTC(t time.Time) time.Time { return utc(t) }

// DBError wraps an unexpected database error as EInternal, keeping the
// cause in the chain; an *tender.Error passes as it is.
func DBError(err error) error { return dbError(err) }

// NotFound is the ENotFound error for the object what with id.
func NotFound(what, id string) error { return notFound(what, id) }

// PaymentsChangedSince returns the ids and update times of payments
// updated after since, oldest first, at most limit of them: the change
// feed one poller per instance reads for all its long-polls (index
// payments_updated, migration 006).
func (q *Queries) PaymentsChangedSince(ctx context.Context, since time.Time, limit int) ([]string, []time.Time, error) {
	rows, err := q.read.Query(ctx, q.d.Rebind(`SELECT id, updated_at FROM payments WHERE updated_at > ? ORDER BY updated_at LIMIT ?`), q.d.Time(since), limit)
	if err != nil {
		return nil, nil, dbError(err)
	}
	defer rows.Close()
	var ids []string
	var times []time.Time
	for rows.Next() {
		var id string
		var t time.Time
		if err := rows.Scan(&id, TimeDest(&t)); err != nil {
			return nil, nil, dbError(err)
		}
		ids, times = append(ids, id), append(times, t)
	}
	return ids, times, dbError(rows.Err())
}
