package sqldb

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

const methodColumns = `id, merchant, customer, connector, account, provider_reference, payment, brand, masked_pan, expiry, created_at, detached_at`

// InsertMethod is the statement that stores a payment's saved method once:
// a second insert for the same payment (a retried update) does nothing.
const InsertMethod = `INSERT INTO payment_methods (` + methodColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (payment) DO NOTHING`

// MethodArgs returns InsertMethod's arguments for m.
func MethodArgs(d *Dialect, m *tender.PaymentMethod) []any {
	return []any{m.ID, tender.MerchantOr(m.Merchant), m.Customer, m.Connector, m.Account, m.ProviderReference, m.Payment,
		m.Brand, m.MaskedPAN, m.Expiry, d.Time(m.CreatedAt), d.Time(m.DetachedAt)}
}

func scanMethod(r Row) (*tender.PaymentMethod, error) {
	var m tender.PaymentMethod
	err := r.Scan(&m.ID, &m.Merchant, &m.Customer, &m.Connector, &m.Account, &m.ProviderReference, &m.Payment,
		&m.Brand, &m.MaskedPAN, &m.Expiry, TimeDest(&m.CreatedAt), TimeDest(&m.DetachedAt))
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// GetPaymentMethod returns the payment method with id, or ENotFound.
func (q *Queries) GetPaymentMethod(ctx context.Context, id string) (*tender.PaymentMethod, error) {
	m, err := scanMethod(q.queryRow(ctx, `SELECT `+methodColumns+` FROM payment_methods WHERE id = ?`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("payment method", id)
	}
	return m, dbError(err)
}

// ListPaymentMethods pages through a merchant's methods, oldest first.
func (q *Queries) ListPaymentMethods(ctx context.Context, f tender.PaymentMethodFilter) ([]*tender.PaymentMethod, bool, error) {
	s := `SELECT ` + methodColumns + ` FROM payment_methods WHERE merchant = ?`
	args := []any{tender.MerchantOr(f.Merchant)}
	if f.Customer != "" {
		s, args = s+` AND customer = ?`, append(args, f.Customer)
	}
	if !f.Detached {
		s += ` AND detached_at IS NULL`
	}
	if f.StartingAfter != "" {
		var c any
		err := q.queryRow(ctx, `SELECT created_at FROM payment_methods WHERE id = ?`, f.StartingAfter).Scan(&c)
		if q.d.IsNoRows(err) {
			return nil, false, tender.Invalid("starting_after", "no payment method %q", f.StartingAfter)
		}
		if err != nil {
			return nil, false, dbError(err)
		}
		s, args = s+` AND (created_at, id) > (?, ?)`, append(args, c, f.StartingAfter)
	}
	return list(ctx, q, PageLimit(f.Limit), scanMethod, s+` ORDER BY created_at, id LIMIT ?`, args...)
}

// DetachPaymentMethod marks the method detached at at, once.
func (q *Queries) DetachPaymentMethod(ctx context.Context, id string, at time.Time) error {
	n, err := q.exec(ctx, `UPDATE payment_methods SET detached_at = ? WHERE id = ? AND detached_at IS NULL`, q.d.Time(at), id)
	if err != nil {
		return dbError(err)
	}
	if n == 0 {
		if _, err := q.GetPaymentMethod(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// ActiveSubscriptions returns up to limit first payments of subscriptions
// Tender still follows, oldest first.
func (q *Queries) ActiveSubscriptions(ctx context.Context, limit int) ([]*tender.Payment, error) {
	ps, _, err := list(ctx, q, limit, func(r Row) (*tender.Payment, error) { return ScanPayment(r) },
		SelectPayment+` WHERE subscription_active = 1 ORDER BY created_at, id LIMIT ?`)
	return ps, err
}
