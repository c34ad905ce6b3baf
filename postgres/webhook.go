package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenderpay/tender"
)

// CreateWebhookEndpoint inserts w; an existing id is EConflict. Of the
// secret only w.Sealed is stored.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, w *tender.WebhookEndpoint) error {
	w.CreatedAt = utc(w.CreatedAt)
	if w.CreatedAt.IsZero() {
		w.CreatedAt = db.now()
	}
	events := w.Events
	if events == nil {
		events = []string{}
	}
	js, err := json.Marshal(events)
	if err != nil {
		return tender.Wrap(tender.EInternal, err, "cannot encode webhook endpoint %s", w.ID)
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO webhook_endpoints (id, url, description, events, sealed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, w.ID, w.URL, w.Description, string(js), w.Sealed, w.CreatedAt)
	if uniqueViolation(err) != "" {
		return tender.Errorf(tender.EConflict, "webhook endpoint %s already exists", w.ID)
	}
	return dbError(err)
}

const endpointColumns = `id, url, description, events::text, sealed, created_at`

func scanEndpoint(row pgx.Row) (*tender.WebhookEndpoint, error) {
	var w tender.WebhookEndpoint
	var events string
	if err := row.Scan(&w.ID, &w.URL, &w.Description, &events, &w.Sealed, &w.CreatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, err
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return &w, nil
}

// GetWebhookEndpoint returns the endpoint with id, or ENotFound (also once
// deleted).
func (db *DB) GetWebhookEndpoint(ctx context.Context, id string) (*tender.WebhookEndpoint, error) {
	w, err := scanEndpoint(db.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("webhook endpoint", id)
	}
	return w, dbError(err)
}

// ListWebhookEndpoints returns endpoints not deleted in id order after
// f.StartingAfter, and whether more follow.
func (db *DB) ListWebhookEndpoints(ctx context.Context, f tender.ListFilter) ([]*tender.WebhookEndpoint, bool, error) {
	limit := pageLimit(f.Limit)
	rows, err := db.pool.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2`, f.StartingAfter, limit+1)
	if err != nil {
		return nil, false, dbError(err)
	}
	defer rows.Close()
	var ws []*tender.WebhookEndpoint
	for rows.Next() {
		w, err := scanEndpoint(rows)
		if err != nil {
			return nil, false, dbError(err)
		}
		ws = append(ws, w)
	}
	if err := rows.Err(); err != nil {
		return nil, false, dbError(err)
	}
	more := len(ws) > limit
	if more {
		ws = ws[:limit]
	}
	return ws, more, nil
}

// DeleteWebhookEndpoint marks the endpoint deleted, forgets its sealed
// secret and cancels its pending deliveries. A delivery queued by a
// transaction that read the endpoint before this one committed may still
// appear as pending; the dispatcher cancels it when it finds the endpoint
// gone.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error {
	if at = utc(at); at.IsZero() {
		at = db.now()
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET deleted_at = $1, sealed = NULL
			WHERE id = $2 AND deleted_at IS NULL`, at, id)
		if err != nil {
			return dbError(err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("webhook endpoint", id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_secret_rolls WHERE endpoint_id = $1`, id); err != nil {
			return dbError(err)
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL
			WHERE endpoint_id = $1 AND status = 'pending'`, id)
		return dbError(err)
	})
}

var deliveryColumns = []string{"id", "endpoint_id", "event_id", "event_type", "payment_id", "status", "attempts",
	"next_attempt_at", "last_attempt_at", "last_status_code", "last_error", "created_at"}

func deliveryCols(prefix string) string {
	s := ""
	for i, c := range deliveryColumns {
		if i > 0 {
			s += ", "
		}
		s += prefix + c
	}
	return s
}

func scanDelivery(row pgx.Row, extra ...any) (*tender.WebhookDelivery, error) {
	var d tender.WebhookDelivery
	var next, last *time.Time
	dest := []any{&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.PaymentID, &d.Status, &d.Attempts,
		&next, &last, &d.LastStatusCode, &d.LastError, &d.CreatedAt}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	if next != nil {
		d.NextAttemptAt = next.UTC()
	}
	if last != nil {
		d.LastAttemptAt = last.UTC()
	}
	d.CreatedAt = d.CreatedAt.UTC()
	return &d, nil
}

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
		RETURNING `+deliveryCols("d.")+`, due.next_attempt_at`, now, until, limit)
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
		d, err := scanDelivery(rows, &due)
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

// RecordWebhookAttempt appends a and stores d's outcome if d's claim still
// holds (see tender.Store).
func (db *DB) RecordWebhookAttempt(ctx context.Context, d *tender.WebhookDelivery, a tender.WebhookAttempt) error {
	lost := false
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_us)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.ID, a.Attempt, utc(a.At), a.StatusCode, a.Error, a.Duration.Microseconds()); err != nil {
			return dbError(err)
		}
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, last_attempt_at = $3,
				last_status_code = $4, last_error = $5
			WHERE id = $6 AND status = 'pending' AND attempts = $7`,
			d.Status, nullTime(utc(d.NextAttemptAt)), nullTime(utc(d.LastAttemptAt)), d.LastStatusCode, d.LastError,
			d.ID, d.Attempts)
		if err != nil {
			return dbError(err)
		}
		if tag.RowsAffected() == 0 {
			lost = true // the attempt happened all the same: keep its record
		}
		return nil
	})
	if err == nil && lost {
		return tender.Errorf(tender.EConflict, "webhook delivery %d was claimed again or canceled meanwhile", d.ID)
	}
	return err
}

// ListWebhookDeliveries returns an endpoint's deliveries newest first.
func (db *DB) ListWebhookDeliveries(ctx context.Context, f tender.DeliveryFilter) ([]*tender.WebhookDelivery, bool, error) {
	limit := pageLimit(f.Limit)
	q := `SELECT ` + deliveryCols("") + ` FROM webhook_deliveries WHERE endpoint_id = $1`
	args := []any{f.EndpointID}
	if f.StartingAfter > 0 {
		q += ` AND id < $3`
	}
	q += ` ORDER BY id DESC LIMIT $2`
	args = append(args, limit+1)
	if f.StartingAfter > 0 {
		args = append(args, f.StartingAfter)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, false, dbError(err)
	}
	defer rows.Close()
	var ds []*tender.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, false, dbError(err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, false, dbError(err)
	}
	more := len(ds) > limit
	if more {
		ds = ds[:limit]
	}
	return ds, more, nil
}

// ListWebhookAttempts returns a delivery's attempts in order.
func (db *DB) ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]tender.WebhookAttempt, error) {
	rows, err := db.pool.Query(ctx, `SELECT delivery_id, attempt, at, status_code, error, duration_us
		FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id`, deliveryID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var as []tender.WebhookAttempt
	for rows.Next() {
		var a tender.WebhookAttempt
		var us int64
		if err := rows.Scan(&a.DeliveryID, &a.Attempt, &a.At, &a.StatusCode, &a.Error, &us); err != nil {
			return nil, dbError(err)
		}
		a.At = a.At.UTC()
		a.Duration = time.Duration(us) * time.Microsecond
		as = append(as, a)
	}
	return as, dbError(rows.Err())
}

// PurgeWebhookDeliveries deletes finished deliveries created before t and
// their attempts.
func (db *DB) PurgeWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN
			(SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1)`, before); err != nil {
			return dbError(err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1`, before)
		if err != nil {
			return dbError(err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}
