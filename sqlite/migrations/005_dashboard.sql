-- 005: dashboard users and their sessions. A user's password is kept as
-- an Argon2id hash; a session as the hash of its cookie's token.

CREATE TABLE dashboard_users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	merchant      TEXT NOT NULL DEFAULT '', -- '' for a platform user
	password_hash TEXT NOT NULL,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  INTEGER,
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE dashboard_sessions (
	token_hash TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
	merchant   TEXT NOT NULL,
	csrf       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
