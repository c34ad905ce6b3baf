-- 004: merchants. Every object belongs to one merchant; the rows of a
-- database made before merchants existed move into the default merchant
-- (the column default), so a one-shop install notices nothing. Existing
-- API keys become platform keys: they could do everything before.

CREATE TABLE merchants (
	id             text COLLATE "C" PRIMARY KEY,
	name           text NOT NULL DEFAULT '',
	country        text NOT NULL DEFAULT '',
	default_locale text NOT NULL DEFAULT '',
	branding       jsonb,
	metadata       jsonb,
	created_at     timestamptz NOT NULL
);

INSERT INTO merchants (id, name, created_at) VALUES ('mer_default', 'Default merchant', now());

ALTER TABLE accounts ADD COLUMN merchant text COLLATE "C" NOT NULL DEFAULT 'mer_default';
ALTER TABLE terminals ADD COLUMN merchant text COLLATE "C" NOT NULL DEFAULT 'mer_default';
ALTER TABLE payments ADD COLUMN merchant text COLLATE "C" NOT NULL DEFAULT 'mer_default';
ALTER TABLE events ADD COLUMN merchant text COLLATE "C" NOT NULL DEFAULT 'mer_default';
ALTER TABLE webhook_endpoints ADD COLUMN merchant text COLLATE "C" NOT NULL DEFAULT 'mer_default';
ALTER TABLE api_keys ADD COLUMN merchant text COLLATE "C" NOT NULL DEFAULT 'mer_default';
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'platform';
ALTER TABLE api_keys ADD COLUMN terminals jsonb;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
ALTER TABLE api_keys ADD COLUMN revoked_at timestamptz;

-- One default account per merchant and connector.
DROP INDEX accounts_one_default;
CREATE UNIQUE INDEX accounts_one_default ON accounts (merchant, connector) WHERE is_default;

CREATE INDEX accounts_merchant ON accounts (merchant, id);
CREATE INDEX terminals_merchant ON terminals (merchant, id);
CREATE INDEX payments_merchant ON payments (merchant, created_at DESC, id DESC);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant, id);
CREATE INDEX api_keys_merchant ON api_keys (merchant, id);

-- API key ids collate as bytes, as every other id, so that pages of keys
-- follow the same order in both stores.
ALTER TABLE api_keys ALTER COLUMN id TYPE text COLLATE "C";
