-- 001: the initial schema. Times are INTEGER microseconds since the Unix
-- epoch in UTC (exact, sortable, no text parsing); JSON columns are TEXT and
-- NULL when the Go value is nil, so nil and empty survive a round trip.

CREATE TABLE payments (
	id                 TEXT PRIMARY KEY,
	amount             INTEGER NOT NULL,
	currency           TEXT NOT NULL,
	status             TEXT NOT NULL,
	connector          TEXT NOT NULL,
	account            TEXT NOT NULL DEFAULT '',
	terminal           TEXT NOT NULL DEFAULT '',
	reference          TEXT NOT NULL DEFAULT '',
	description        TEXT NOT NULL DEFAULT '',
	return_url         TEXT NOT NULL DEFAULT '',
	capture_mode       TEXT NOT NULL DEFAULT '',
	metadata           TEXT,
	input              TEXT,
	provider_reference TEXT NOT NULL DEFAULT '',
	next_action        TEXT,
	failure            TEXT,
	receipt            TEXT,
	details            TEXT,
	captured_amount    INTEGER NOT NULL DEFAULT 0,
	refunded_amount    INTEGER NOT NULL DEFAULT 0,
	state              TEXT,
	next_check_at      INTEGER,
	check_count        INTEGER NOT NULL DEFAULT 0,
	operation_id       TEXT NOT NULL DEFAULT '',
	version            INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX payments_created ON payments (created_at DESC, id DESC);
CREATE INDEX payments_provider_reference ON payments (connector, provider_reference) WHERE provider_reference <> '';
CREATE INDEX payments_due ON payments (next_check_at, id) WHERE next_check_at IS NOT NULL;
CREATE INDEX payments_terminal_open ON payments (terminal, created_at)
	WHERE terminal <> '' AND status IN ('pending', 'processing', 'unknown');

-- events is append-only; AUTOINCREMENT so an id is never reused.
CREATE TABLE events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	payment_id TEXT NOT NULL REFERENCES payments (id),
	type       TEXT NOT NULL,
	data       TEXT,
	created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX events_payment ON events (payment_id, id);

CREATE TABLE idempotency_keys (
	scope        TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	done         INTEGER NOT NULL DEFAULT 0,
	status       INTEGER NOT NULL DEFAULT 0,
	body         BLOB,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	PRIMARY KEY (scope, key)
) STRICT;

CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL DEFAULT '',
	hash       TEXT NOT NULL UNIQUE,
	prefix     TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
) STRICT;

-- accounts and terminals keep only the sealed credentials (never the
-- plain Credentials map).
CREATE TABLE accounts (
	id          TEXT PRIMARY KEY,
	connector   TEXT NOT NULL,
	environment TEXT NOT NULL DEFAULT '',
	is_default  INTEGER NOT NULL DEFAULT 0,
	settings    TEXT,
	sealed      BLOB,
	created_at  INTEGER NOT NULL
) STRICT;

-- One default account per connector, so DefaultAccount is never ambiguous.
CREATE UNIQUE INDEX accounts_one_default ON accounts (connector) WHERE is_default = 1;

CREATE TABLE terminals (
	id          TEXT PRIMARY KEY,
	connector   TEXT NOT NULL,
	account     TEXT NOT NULL DEFAULT '',
	provider_id TEXT NOT NULL DEFAULT '',
	label       TEXT NOT NULL DEFAULT '',
	settings    TEXT,
	sealed      BLOB,
	created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX terminals_connector ON terminals (connector, id);
