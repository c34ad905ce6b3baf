-- 004: merchants. Every object belongs to one merchant; the rows of a
-- database made before merchants existed move into the default merchant
-- (the column default), so a one-shop install notices nothing. Existing
-- API keys become platform keys: they could do everything before.

CREATE TABLE merchants (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL DEFAULT '',
	country        TEXT NOT NULL DEFAULT '',
	default_locale TEXT NOT NULL DEFAULT '',
	branding       TEXT,
	metadata       TEXT,
	created_at     INTEGER NOT NULL
) STRICT;

INSERT INTO merchants (id, name, created_at) VALUES ('mer_default', 'Default merchant', CAST(strftime('%s', 'now') AS INTEGER) * 1000000);

ALTER TABLE accounts ADD COLUMN merchant TEXT NOT NULL DEFAULT 'mer_default';
ALTER TABLE terminals ADD COLUMN merchant TEXT NOT NULL DEFAULT 'mer_default';
ALTER TABLE payments ADD COLUMN merchant TEXT NOT NULL DEFAULT 'mer_default';
ALTER TABLE events ADD COLUMN merchant TEXT NOT NULL DEFAULT 'mer_default';
ALTER TABLE webhook_endpoints ADD COLUMN merchant TEXT NOT NULL DEFAULT 'mer_default';
ALTER TABLE api_keys ADD COLUMN merchant TEXT NOT NULL DEFAULT 'mer_default';
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'platform';
ALTER TABLE api_keys ADD COLUMN terminals TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;

-- One default account per merchant and connector.
DROP INDEX accounts_one_default;
CREATE UNIQUE INDEX accounts_one_default ON accounts (merchant, connector) WHERE is_default = 1;

CREATE INDEX accounts_merchant ON accounts (merchant, id);
CREATE INDEX terminals_merchant ON terminals (merchant, id);
CREATE INDEX payments_merchant ON payments (merchant, created_at DESC, id DESC);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant, id);
CREATE INDEX api_keys_merchant ON api_keys (merchant, id);
