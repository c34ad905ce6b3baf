package sqldb

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

// The outbox itself (queuing deliveries with their event, claiming them)
// differs too much between the databases to share: each store keeps its
// own, built on DeliveryColumns and ScanDelivery.

// CreateWebhookEndpoint inserts w; an existing id is EConflict. Of the
// secret only w.Sealed is stored.
func (q *Queries) CreateWebhookEndpoint(ctx context.Context, w *tender.WebhookEndpoint) error {
	if w.CreatedAt = utc(w.CreatedAt); w.CreatedAt.IsZero() {
		w.CreatedAt = utc(q.now())
	}
	w.Merchant = tender.MerchantOr(w.Merchant)
	events := w.Events
	if events == nil {
		events = []string{}
	}
	js, err := json.Marshal(events)
	if err != nil {
		return tender.Wrap(tender.EInternal, err, "cannot encode webhook endpoint %s", w.ID)
	}
	_, err = q.exec(ctx, `INSERT INTO webhook_endpoints (id, merchant, url, description, events, sealed, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, w.ID, w.Merchant, w.URL, w.Description, string(js), w.Sealed, q.d.Time(w.CreatedAt))
	if q.d.IsUnique(err) {
		return tender.Errorf(tender.EConflict, "webhook endpoint %s already exists", w.ID)
	}
	return dbError(err)
}

func (q *Queries) endpointColumns() string {
	return `id, merchant, url, description, events` + q.d.JSONText + `, sealed, created_at`
}

func scanEndpoint(s Row) (*tender.WebhookEndpoint, error) {
	var w tender.WebhookEndpoint
	var events string
	if err := s.Scan(&w.ID, &w.Merchant, &w.URL, &w.Description, &events, &w.Sealed, TimeDest(&w.CreatedAt)); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, err
	}
	return &w, nil
}

// GetWebhookEndpoint returns the endpoint with id, or ENotFound (also once
// deleted).
func (q *Queries) GetWebhookEndpoint(ctx context.Context, id string) (*tender.WebhookEndpoint, error) {
	w, err := scanEndpoint(q.queryRow(ctx, `SELECT `+q.endpointColumns()+` FROM webhook_endpoints
		WHERE id = ? AND deleted_at IS NULL`, id))
	if q.d.IsNoRows(err) {
		return nil, notFound("webhook endpoint", id)
	}
	return w, dbError(err)
}

// ListWebhookEndpoints returns endpoints not deleted in id order after
// f.StartingAfter, and whether more follow (f.Connector is ignored).
func (q *Queries) ListWebhookEndpoints(ctx context.Context, f tender.ListFilter) ([]*tender.WebhookEndpoint, bool, error) {
	where, args := `deleted_at IS NULL AND id > ?`, []any{f.StartingAfter}
	if f.Merchant != "" {
		where, args = where+` AND merchant = ?`, append(args, f.Merchant)
	}
	return list(ctx, q, PageLimit(f.Limit), scanEndpoint,
		`SELECT `+q.endpointColumns()+` FROM webhook_endpoints WHERE `+where+` ORDER BY id LIMIT ?`, args...)
}

// DeleteWebhookEndpoint marks the endpoint deleted, forgets its sealed
// secret and cancels its pending deliveries. A delivery claimed at this
// moment may still be sent once; its outcome then finds it canceled.
func (q *Queries) DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error {
	if at = utc(at); at.IsZero() {
		at = utc(q.now())
	}
	return q.tx(ctx, func(tx DB) error {
		n, err := tx.Exec(ctx, q.d.Rebind(`UPDATE webhook_endpoints SET deleted_at = ?, sealed = NULL
			WHERE id = ? AND deleted_at IS NULL`), q.d.Time(at), id)
		if err != nil {
			return dbError(err)
		}
		if n == 0 {
			return notFound("webhook endpoint", id)
		}
		if _, err := tx.Exec(ctx, q.d.Rebind(`DELETE FROM webhook_secret_rolls WHERE endpoint_id = ?`), id); err != nil {
			return dbError(err)
		}
		_, err = tx.Exec(ctx, q.d.Rebind(`UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL
			WHERE endpoint_id = ? AND status = 'pending'`), id)
		return dbError(err)
	})
}

var deliveryColumns = []string{"id", "endpoint_id", "event_id", "event_type", "payment_id", "status", "attempts",
	"next_attempt_at", "last_attempt_at", "last_status_code", "last_error", "created_at"}

// DeliveryColumns lists the webhook_deliveries columns that ScanDelivery
// reads, each with prefix ("d." in a join).
func DeliveryColumns(prefix string) string {
	return prefix + strings.Join(deliveryColumns, ", "+prefix)
}

// ScanDelivery reads the DeliveryColumns of a row, then extra.
func ScanDelivery(s Row, extra ...any) (*tender.WebhookDelivery, error) {
	var d tender.WebhookDelivery
	dest := []any{&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.PaymentID, &d.Status, &d.Attempts,
		TimeDest(&d.NextAttemptAt), TimeDest(&d.LastAttemptAt), &d.LastStatusCode, &d.LastError, TimeDest(&d.CreatedAt)}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	return &d, nil
}

// RecordWebhookAttempt appends a and stores d's outcome if d's claim still
// holds (see tender.Store).
func (q *Queries) RecordWebhookAttempt(ctx context.Context, d *tender.WebhookDelivery, a tender.WebhookAttempt) error {
	lost := false
	err := q.tx(ctx, func(tx DB) error {
		if _, err := tx.Exec(ctx, q.d.Rebind(`INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_us)
			VALUES (?, ?, ?, ?, ?, ?)`), d.ID, a.Attempt, q.d.Time(a.At), a.StatusCode, a.Error, a.Duration.Microseconds()); err != nil {
			return dbError(err)
		}
		n, err := tx.Exec(ctx, q.d.Rebind(`UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, last_attempt_at = ?,
				last_status_code = ?, last_error = ?
			WHERE id = ? AND status = 'pending' AND attempts = ?`),
			d.Status, q.d.Time(d.NextAttemptAt), q.d.Time(d.LastAttemptAt), d.LastStatusCode, d.LastError,
			d.ID, d.Attempts)
		if err != nil {
			return dbError(err)
		}
		lost = n == 0 // the attempt happened all the same: keep its record
		return nil
	})
	if err == nil && lost {
		return tender.Errorf(tender.EConflict, "webhook delivery %d was claimed again or canceled meanwhile", d.ID)
	}
	return err
}

// ListWebhookDeliveries returns an endpoint's deliveries newest first.
func (q *Queries) ListWebhookDeliveries(ctx context.Context, f tender.DeliveryFilter) ([]*tender.WebhookDelivery, bool, error) {
	where, args := `endpoint_id = ?`, []any{f.EndpointID}
	if f.StartingAfter > 0 {
		where, args = where+` AND id < ?`, append(args, f.StartingAfter)
	}
	return list(ctx, q, PageLimit(f.Limit), func(r Row) (*tender.WebhookDelivery, error) { return ScanDelivery(r) },
		`SELECT `+DeliveryColumns("")+` FROM webhook_deliveries WHERE `+where+` ORDER BY id DESC LIMIT ?`, args...)
}

// ListWebhookAttempts returns a delivery's attempts in order.
func (q *Queries) ListWebhookAttempts(ctx context.Context, deliveryID int64) ([]tender.WebhookAttempt, error) {
	as, _, err := list(ctx, q, 1<<30, func(r Row) (tender.WebhookAttempt, error) {
		var a tender.WebhookAttempt
		var us int64
		err := r.Scan(&a.DeliveryID, &a.Attempt, TimeDest(&a.At), &a.StatusCode, &a.Error, &us)
		a.Duration = time.Duration(us) * time.Microsecond
		return a, err
	}, `SELECT delivery_id, attempt, at, status_code, error, duration_us
		FROM webhook_attempts WHERE delivery_id = ? ORDER BY id LIMIT ?`, deliveryID)
	return as, err
}

// PurgeWebhookDeliveries deletes finished deliveries created before t and
// their attempts.
func (q *Queries) PurgeWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := q.tx(ctx, func(tx DB) error {
		t := q.d.Time(before)
		if _, err := tx.Exec(ctx, q.d.Rebind(`DELETE FROM webhook_attempts WHERE delivery_id IN
			(SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?)`), t); err != nil {
			return dbError(err)
		}
		var err error
		n, err = tx.Exec(ctx, q.d.Rebind(`DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?`), t)
		return dbError(err)
	})
	return n, err
}
