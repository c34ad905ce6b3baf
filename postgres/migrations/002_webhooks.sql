-- 002: merchant webhooks. webhook_deliveries is the outbox: a row is
-- inserted in the same transaction (the same statement) as the event it
-- carries, one per endpoint whose events list the event's type, and then
-- only the dispatcher that claimed it changes it. Dispatchers find work by
-- next_attempt_at with FOR UPDATE SKIP LOCKED, never by an event id cursor:
-- identity values of concurrent transactions commit out of order.

-- events is a JSON array of event types; deleted endpoints are kept (with
-- their secret forgotten) so that their deliveries stay readable.
CREATE TABLE webhook_endpoints (
	id          text COLLATE "C" PRIMARY KEY,
	url         text NOT NULL,
	description text NOT NULL DEFAULT '',
	events      jsonb NOT NULL,
	sealed      bytea,
	created_at  timestamptz NOT NULL,
	deleted_at  timestamptz
);

CREATE TABLE webhook_deliveries (
	id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	endpoint_id      text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id),
	event_id         bigint NOT NULL REFERENCES events (id),
	event_type       text NOT NULL,
	payment_id       text NOT NULL,
	status           text NOT NULL DEFAULT 'pending',
	attempts         integer NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz,
	last_attempt_at  timestamptz,
	last_status_code integer NOT NULL DEFAULT 0,
	last_error       text NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL,
	UNIQUE (endpoint_id, event_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id),
	attempt     integer NOT NULL,
	at          timestamptz NOT NULL,
	status_code integer NOT NULL DEFAULT 0,
	error       text NOT NULL DEFAULT '',
	duration_us bigint NOT NULL DEFAULT 0
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
