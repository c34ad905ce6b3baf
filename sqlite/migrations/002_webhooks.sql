-- 002: merchant webhooks. webhook_deliveries is the outbox: a row is
-- inserted in the same transaction as the event it carries, one per
-- endpoint whose events list the event's type, and then only the
-- dispatcher that claimed it changes it.

-- events is a JSON array of event types; deleted endpoints are kept (with
-- their secret forgotten) so that their deliveries stay readable.
CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	url         TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	events      TEXT NOT NULL,
	sealed      BLOB,
	created_at  INTEGER NOT NULL,
	deleted_at  INTEGER
) STRICT;

CREATE TABLE webhook_deliveries (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
	event_id         INTEGER NOT NULL REFERENCES events (id),
	event_type       TEXT NOT NULL,
	payment_id       TEXT NOT NULL,
	status           TEXT NOT NULL DEFAULT 'pending',
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,
	last_attempt_at  INTEGER,
	last_status_code INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	UNIQUE (endpoint_id, event_id)
) STRICT;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id),
	attempt     INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	status_code INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	duration_us INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
