package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/tenderpay/tender/internal/sqldb"
	"time"

	"github.com/tenderpay/tender"
)

// RollWebhookSecret replaces the endpoint's sealed secret and keeps the
// one it replaces until until (see tender.Store).
func (db *DB) RollWebhookSecret(ctx context.Context, id string, sealed []byte, until time.Time) error {
	return db.tx(ctx, func(tx txStmts) error {
		var old []byte
		err := tx.QueryRowContext(ctx, `SELECT sealed FROM webhook_endpoints WHERE id = ? AND deleted_at IS NULL`, id).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("webhook endpoint", id)
		}
		if err != nil {
			return dbError(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_secret_rolls (endpoint_id, sealed, valid_until) VALUES (?, ?, ?)
			ON CONFLICT (endpoint_id) DO UPDATE SET sealed = excluded.sealed, valid_until = excluded.valid_until`,
			id, old, micros(until)); err != nil {
			return dbError(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET sealed = ? WHERE id = ?`, sealed, id)
		return dbError(err)
	})
}

// PreviousWebhookSecret returns the sealed secret of the endpoint's last
// roll while it is valid at now, else nil.
func (db *DB) PreviousWebhookSecret(ctx context.Context, id string, now time.Time) ([]byte, error) {
	var sealed []byte
	err := db.read.QueryRowContext(ctx, `SELECT r.sealed FROM webhook_secret_rolls r
		JOIN webhook_endpoints w ON w.id = r.endpoint_id AND w.deleted_at IS NULL
		WHERE r.endpoint_id = ? AND r.valid_until > ?`, id, micros(now)).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return sealed, dbError(err)
}

// RetryWebhookDelivery makes a finished delivery pending again, due at at.
func (db *DB) RetryWebhookDelivery(ctx context.Context, endpointID string, id int64, at time.Time) (*tender.WebhookDelivery, error) {
	var d *tender.WebhookDelivery
	err := db.tx(ctx, func(tx txStmts) error {
		ds, err := queryDeliveries(ctx, tx, `SELECT `+sqldb.DeliveryColumns("")+` FROM webhook_deliveries d
			WHERE id = ? AND endpoint_id = ? AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.deleted_at IS NULL)`,
			id, endpointID)
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			return tender.Errorf(tender.ENotFound, "no webhook delivery %d of endpoint %s", id, endpointID)
		}
		if d = ds[0]; d.Status == tender.DeliveryPending {
			return tender.Errorf(tender.EConflict, "webhook delivery %d is pending already: it is retried on its own", id)
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ? WHERE id = ?`, micros(at), id)
		d.Status, d.NextAttemptAt = tender.DeliveryPending, utc(at)
		return dbError(err)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
