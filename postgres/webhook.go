package postgres

import (
	"context"
	"sort"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/internal/sqldb"
)

// ClaimWebhookDeliveries returns up to limit pending deliveries due at now
// (oldest due first), moving their next attempt to now+lease and counting
// the attempt, in one statement. FOR UPDATE SKIP LOCKED makes concurrent
// dispatchers (other instances) pass over rows being claimed instead of
// waiting for or re-claiming them.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*tender.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	now = utc(now)
	until := utc(now.Add(lease))
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT id, next_attempt_at FROM webhook_deliveries
			WHERE status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE webhook_deliveries d SET next_attempt_at = $2, attempts = d.attempts + 1
		FROM due WHERE d.id = due.id
		RETURNING `+sqldb.DeliveryColumns("d.")+`, due.next_attempt_at`, now, until, limit)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	type claimed struct {
		d   *tender.WebhookDelivery
		due time.Time
	}
	var cs []claimed
	for rows.Next() {
		var due time.Time
		d, err := sqldb.ScanDelivery(rows, sqldb.TimeDest(&due))
		if err != nil {
			return nil, dbError(err)
		}
		cs = append(cs, claimed{d, due})
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	// RETURNING has no order: restore oldest due first.
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].due.Equal(cs[j].due) {
			return cs[i].due.Before(cs[j].due)
		}
		return cs[i].d.ID < cs[j].d.ID
	})
	ds := make([]*tender.WebhookDelivery, len(cs))
	for i, c := range cs {
		ds[i] = c.d
	}
	return ds, nil
}
