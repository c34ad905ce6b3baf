-- 001: the initial schema. JSON columns are NULL when the Go value is nil,
-- so nil and empty survive a round trip. input and state are json (not
-- jsonb) because they are kept byte for byte as the caller wrote them.
-- Ids collate as bytes ("C"), as in SQLite, so id order and cursors agree
-- across stores whatever the database's locale.

CREATE TABLE payments (
	id                 text COLLATE "C" PRIMARY KEY,
	amount             bigint NOT NULL,
	currency           text NOT NULL,
	status             text NOT NULL,
	connector          text NOT NULL,
	account            text NOT NULL DEFAULT '',
	terminal           text NOT NULL DEFAULT '',
	reference          text NOT NULL DEFAULT '',
	description        text NOT NULL DEFAULT '',
	return_url         text NOT NULL DEFAULT '',
	capture_mode       text NOT NULL DEFAULT '',
	metadata           jsonb,
	input              json,
	provider_reference text NOT NULL DEFAULT '',
	next_action        jsonb,
	failure            jsonb,
	receipt            jsonb,
	details            jsonb,
	captured_amount    bigint NOT NULL DEFAULT 0,
	refunded_amount    bigint NOT NULL DEFAULT 0,
	state              json,
	next_check_at      timestamptz,
	check_count        integer NOT NULL DEFAULT 0,
	operation_id       text NOT NULL DEFAULT '',
	version            bigint NOT NULL,
	created_at         timestamptz NOT NULL,
	updated_at         timestamptz NOT NULL
);

CREATE INDEX payments_created ON payments (created_at DESC, id DESC);
CREATE INDEX payments_provider_reference ON payments (connector, provider_reference) WHERE provider_reference <> '';
CREATE INDEX payments_due ON payments (next_check_at, id) WHERE next_check_at IS NOT NULL;
CREATE INDEX payments_terminal_open ON payments (terminal, created_at)
	WHERE terminal <> '' AND status IN ('pending', 'processing', 'unknown');

CREATE TABLE events (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	payment_id text NOT NULL REFERENCES payments (id),
	type       text NOT NULL,
	data       json,
	created_at timestamptz NOT NULL
);

CREATE INDEX events_payment ON events (payment_id, id);

CREATE TABLE idempotency_keys (
	scope        text NOT NULL,
	key          text NOT NULL,
	request_hash text NOT NULL,
	done         boolean NOT NULL DEFAULT false,
	status       integer NOT NULL DEFAULT 0,
	body         bytea,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

CREATE TABLE api_keys (
	id         text PRIMARY KEY,
	name       text NOT NULL DEFAULT '',
	hash       text NOT NULL UNIQUE,
	prefix     text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL
);

-- accounts and terminals keep only the sealed credentials (never the
-- plain Credentials map).
CREATE TABLE accounts (
	id          text COLLATE "C" PRIMARY KEY,
	connector   text NOT NULL,
	environment text NOT NULL DEFAULT '',
	is_default  boolean NOT NULL DEFAULT false,
	settings    jsonb,
	sealed      bytea,
	created_at  timestamptz NOT NULL
);

-- One default account per connector, so DefaultAccount is never ambiguous.
CREATE UNIQUE INDEX accounts_one_default ON accounts (connector) WHERE is_default;

CREATE TABLE terminals (
	id          text COLLATE "C" PRIMARY KEY,
	connector   text NOT NULL,
	account     text NOT NULL DEFAULT '',
	provider_id text NOT NULL DEFAULT '',
	label       text NOT NULL DEFAULT '',
	settings    jsonb,
	sealed      bytea,
	created_at  timestamptz NOT NULL
);

CREATE INDEX terminals_connector ON terminals (connector, id);
