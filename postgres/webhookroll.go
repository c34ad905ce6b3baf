package postgres

import (
	"context"
	"errors"
	"github.com/tenderpay/tender/internal/sqldb"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenderpay/tender"
)

// RollWebhookSecret replaces the endpoint's sealed secret and keeps the
// one it replaces until until (see tender.Store). The endpoint's row is
// locked, so that two rolls at once keep the secret each replaced in turn.
func (db *DB) RollWebhookSecret(ctx context.Context, id string, sealed []byte, until time.Time) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		var old []byte
		err := tx.QueryRow(ctx, `SELECT sealed FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("webhook endpoint", id)
		}
		if err != nil {
			return dbError(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_secret_rolls (endpoint_id, sealed, valid_until) VALUES ($1, $2, $3)
			ON CONFLICT (endpoint_id) DO UPDATE SET sealed = excluded.sealed, valid_until = excluded.valid_until`,
			id, old, utc(until)); err != nil {
			return dbError(err)
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET sealed = $1 WHERE id = $2`, sealed, id)
		return dbError(err)
	})
}

// PreviousWebhookSecret returns the sealed secret of the endpoint's last
// roll while it is valid at now, else nil.
func (db *DB) PreviousWebhookSecret(ctx context.Context, id string, now time.Time) ([]byte, error) {
	var sealed []byte
	err := db.pool.QueryRow(ctx, `SELECT r.sealed FROM webhook_secret_rolls r
		JOIN webhook_endpoints w ON w.id = r.endpoint_id AND w.deleted_at IS NULL
		WHERE r.endpoint_id = $1 AND r.valid_until > $2`, id, utc(now)).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return sealed, dbError(err)
}

// RetryWebhookDelivery makes a finished delivery pending again, due at at.
func (db *DB) RetryWebhookDelivery(ctx context.Context, endpointID string, id int64, at time.Time) (*tender.WebhookDelivery, error) {
	var d *tender.WebhookDelivery
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		d, err = sqldb.ScanDelivery(tx.QueryRow(ctx, `SELECT `+sqldb.DeliveryColumns("d.")+` FROM webhook_deliveries d
			JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.deleted_at IS NULL
			WHERE d.id = $1 AND d.endpoint_id = $2 FOR UPDATE OF d`, id, endpointID))
		if errors.Is(err, pgx.ErrNoRows) {
			return tender.Errorf(tender.ENotFound, "no webhook delivery %d of endpoint %s", id, endpointID)
		}
		if err != nil {
			return dbError(err)
		}
		if d.Status == tender.DeliveryPending {
			return tender.Errorf(tender.EConflict, "webhook delivery %d is pending already: it is retried on its own", id)
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1 WHERE id = $2`, utc(at), id)
		d.Status, d.NextAttemptAt = tender.DeliveryPending, utc(at)
		return dbError(err)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}
