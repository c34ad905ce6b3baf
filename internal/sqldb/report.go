package sqldb

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/tenderpay/tender"
)

// ListMoneyEvents returns the events of f.Types written in [f.From, f.To)
// on f.Merchant's payments, oldest first (index events_merchant_created,
// migration 009).
func (q *Queries) ListMoneyEvents(ctx context.Context, f tender.MoneyFilter) ([]tender.MoneyEvent, error) {
	if len(f.Types) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString(`SELECT e.id, e.payment_id, e.merchant, e.type, e.data` + q.d.JSONText + `, e.created_at,
		p.terminal, p.connector, p.currency, p.captured_amount
		FROM events e JOIN payments p ON p.id = e.payment_id
		WHERE e.merchant = ? AND e.created_at >= ? AND e.created_at < ? AND e.type IN (`)
	args := []any{tender.MerchantOr(f.Merchant), q.d.Time(utc(f.From)), q.d.Time(utc(f.To))}
	for i, t := range f.Types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?")
		args = append(args, t)
	}
	b.WriteString(")")
	if len(f.Terminals) > 0 {
		b.WriteString(" AND p.terminal IN (")
		for i, t := range f.Terminals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, t)
		}
		b.WriteString(")")
	}
	if f.Connector != "" {
		b.WriteString(" AND p.connector = ?")
		args = append(args, f.Connector)
	}
	b.WriteString(" ORDER BY e.id")
	rows, err := q.read.Query(ctx, q.d.Rebind(b.String()), args...)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []tender.MoneyEvent
	for rows.Next() {
		var m tender.MoneyEvent
		var data *string
		if err := rows.Scan(&m.ID, &m.PaymentID, &m.Merchant, &m.Type, &data, TimeDest(&m.CreatedAt),
			&m.Terminal, &m.Connector, &m.Currency, &m.Captured); err != nil {
			return nil, dbError(err)
		}
		if data != nil {
			m.Data = json.RawMessage(*data)
		}
		out = append(out, m)
	}
	return out, dbError(rows.Err())
}
