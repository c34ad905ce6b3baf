-- 005: dashboard users and their sessions. A user's password is kept as
-- an Argon2id hash; a session as the hash of its cookie's token.

CREATE TABLE dashboard_users (
	id            text COLLATE "C" PRIMARY KEY,
	email         text COLLATE "C" NOT NULL UNIQUE,
	merchant      text COLLATE "C" NOT NULL DEFAULT '', -- '' for a platform user
	password_hash text NOT NULL,
	failed_logins integer NOT NULL DEFAULT 0,
	locked_until  timestamptz,
	created_at    timestamptz NOT NULL
);

CREATE TABLE dashboard_sessions (
	token_hash text COLLATE "C" PRIMARY KEY,
	user_id    text COLLATE "C" NOT NULL REFERENCES dashboard_users (id) ON DELETE CASCADE,
	merchant   text COLLATE "C" NOT NULL,
	csrf       text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
