package sqlite

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

// queueDeliveries inserts the outbox rows of one event: one per endpoint
// of the payment's merchant that is not deleted and lists the event's type. It runs in the event's
// transaction, so a delivery exists exactly when its event does.
func queueDeliveries(ctx context.Context, tx txStmts, eventID int64, paymentID, merchant, typ string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
			(endpoint_id, event_id, event_type, payment_id, status, next_attempt_at, created_at)
		SELECT w.id, ?, ?, ?, 'pending', ?, ? FROM webhook_endpoints w
		WHERE w.merchant = ? AND w.deleted_at IS NULL AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE json_each.value = ?)`,
		eventID, typ, paymentID, micros(at), micros(at), merchant, typ)
	return dbError(err)
}

func queryDeliveries(ctx context.Context, qr querier, q string, args ...any) ([]*tender.WebhookDelivery, error) {
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var ds []*tender.WebhookDelivery
	for rows.Next() {
		d, err := sqldb.ScanDelivery(rows)
		if err != nil {
			return nil, dbError(err)
		}
		ds = append(ds, d)
	}
	return ds, dbError(rows.Err())
}

// ClaimWebhookDeliveries returns up to limit pending deliveries due at now
// (oldest due first), moving their next attempt to now+lease and counting
// the attempt, in one write transaction; the writer lock keeps two
// claimers apart.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*tender.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	now = utc(now)
	until := utc(now.Add(lease))
	var ds []*tender.WebhookDelivery
	err := db.tx(ctx, func(tx txStmts) error {
		var err error
		ds, err = queryDeliveries(ctx, tx, `SELECT `+sqldb.DeliveryColumns("")+` FROM webhook_deliveries
			WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`, micros(now), limit)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = attempts + 1
				WHERE id = ?`, micros(until), d.ID); err != nil {
				return dbError(err)
			}
			d.NextAttemptAt = until
			d.Attempts++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}
