package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tenderpay/tender"
)

// queueDeliveries inserts the outbox rows of one event: one per endpoint
// that is not deleted and lists the event's type. It runs in the event's
// transaction, so a delivery exists exactly when its event does.
func queueDeliveries(ctx context.Context, tx *sql.Tx, eventID int64, paymentID, typ string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
			(endpoint_id, event_id, event_type, payment_id, status, next_attempt_at, created_at)
		SELECT w.id, ?, ?, ?, 'pending', ?, ? FROM webhook_endpoints w
		WHERE w.deleted_at IS NULL AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE json_each.value = ?)`,
		eventID, typ, paymentID, micros(at), micros(at), typ)
	return dbError(err)
}

// CreateWebhookEndpoint inserts w; an existing id is EConflict. Of the
// secret only w.Sealed is stored.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, w *tender.WebhookEndpoint) error {
	w.CreatedAt = utc(w.CreatedAt)
	if w.CreatedAt.IsZero() {
		w.CreatedAt = db.now()
	}
	events, err := json.Marshal(nonNil(w.Events))
	if err != nil {
		return tender.Wrap(tender.EInternal, err, "cannot encode webhook endpoint %s", w.ID)
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, url, description, events, sealed, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, w.ID, w.URL, w.Description, string(events), w.Sealed, micros(w.CreatedAt))
		if isUnique(err) {
			return tender.Errorf(tender.EConflict, "webhook endpoint %s already exists", w.ID)
		}
		return dbError(err)
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const endpointColumns = `id, url, description, events, sealed, created_at`

func scanEndpoint(s scanner) (*tender.WebhookEndpoint, error) {
	var w tender.WebhookEndpoint
	var events string
	var created int64
	if err := s.Scan(&w.ID, &w.URL, &w.Description, &events, &w.Sealed, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, err
	}
	w.CreatedAt = fromMicros(created)
	return &w, nil
}

// GetWebhookEndpoint returns the endpoint with id, or ENotFound (also once
// deleted).
func (db *DB) GetWebhookEndpoint(ctx context.Context, id string) (*tender.WebhookEndpoint, error) {
	w, err := scanEndpoint(db.read.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE id = ? AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("webhook endpoint", id)
	}
	return w, dbError(err)
}

// ListWebhookEndpoints returns endpoints not deleted in id order after
// f.StartingAfter, and whether more follow.
func (db *DB) ListWebhookEndpoints(ctx context.Context, f tender.ListFilter) ([]*tender.WebhookEndpoint, bool, error) {
	limit := pageLimit(f.Limit)
	rows, err := db.read.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?`, f.StartingAfter, limit+1)
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
// secret and cancels its pending deliveries.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error {
	if at = utc(at); at.IsZero() {
		at = db.now()
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET deleted_at = ?, sealed = NULL
			WHERE id = ? AND deleted_at IS NULL`, micros(at), id)
		if err != nil {
			return dbError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err)
		} else if n == 0 {
			return notFound("webhook endpoint", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_secret_rolls WHERE endpoint_id = ?`, id); err != nil {
			return dbError(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL
			WHERE endpoint_id = ? AND status = 'pending'`, id)
		return dbError(err)
	})
}

const deliveryColumns = `id, endpoint_id, event_id, event_type, payment_id, status, attempts,
	next_attempt_at, last_attempt_at, last_status_code, last_error, created_at`

func scanDelivery(s scanner) (*tender.WebhookDelivery, error) {
	var d tender.WebhookDelivery
	var next, last sql.NullInt64
	var created int64
	if err := s.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.PaymentID, &d.Status, &d.Attempts,
		&next, &last, &d.LastStatusCode, &d.LastError, &created); err != nil {
		return nil, err
	}
	if next.Valid {
		d.NextAttemptAt = fromMicros(next.Int64)
	}
	if last.Valid {
		d.LastAttemptAt = fromMicros(last.Int64)
	}
	d.CreatedAt = fromMicros(created)
	return &d, nil
}

func queryDeliveries(ctx context.Context, qr querier, q string, args ...any) ([]*tender.WebhookDelivery, error) {
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var ds []*tender.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
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
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		ds, err = queryDeliveries(ctx, tx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
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

// RecordWebhookAttempt appends a and stores d's outcome if d's claim still
// holds (see tender.Store).
func (db *DB) RecordWebhookAttempt(ctx context.Context, d *tender.WebhookDelivery, a tender.WebhookAttempt) error {
	lost := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_us)
			VALUES (?, ?, ?, ?, ?, ?)`, d.ID, a.Attempt, micros(a.At), a.StatusCode, a.Error, a.Duration.Microseconds()); err != nil {
			return dbError(err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, last_attempt_at = ?,
				last_status_code = ?, last_error = ?
			WHERE id = ? AND status = 'pending' AND attempts = ?`,
			d.Status, nullMicros(utc(d.NextAttemptAt)), nullMicros(utc(d.LastAttemptAt)), d.LastStatusCode, d.LastError,
			d.ID, d.Attempts)
		if err != nil {
			return dbError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err)
		} else if n == 0 {
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
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE endpoint_id = ?`
	args := []any{f.EndpointID}
	if f.StartingAfter > 0 {
		q += ` AND id < ?`
		args = append(args, f.StartingAfter)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	ds, err := queryDeliveries(ctx, db.read, q, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(ds) > limit
	if more {
		ds = ds[:limit]
	}
	return ds, more, nil
}

// ListWebhookAttempts returns a delivery's attempts in order.
func (db *DB) ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]tender.WebhookAttempt, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT delivery_id, attempt, at, status_code, error, duration_us
		FROM webhook_attempts WHERE delivery_id = ? ORDER BY id`, deliveryID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var as []tender.WebhookAttempt
	for rows.Next() {
		var a tender.WebhookAttempt
		var at, us int64
		if err := rows.Scan(&a.DeliveryID, &a.Attempt, &at, &a.StatusCode, &a.Error, &us); err != nil {
			return nil, dbError(err)
		}
		a.At = fromMicros(at)
		a.Duration = time.Duration(us) * time.Microsecond
		as = append(as, a)
	}
	return as, dbError(rows.Err())
}

// PurgeWebhookDeliveries deletes finished deliveries created before t and
// their attempts.
func (db *DB) PurgeWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		const old = `SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?`
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN (`+old+`)`, micros(before)); err != nil {
			return dbError(err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?`, micros(before))
		if err != nil {
			return dbError(err)
		}
		n, err = res.RowsAffected()
		return dbError(err)
	})
	return n, err
}
