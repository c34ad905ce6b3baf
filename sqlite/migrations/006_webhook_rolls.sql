-- 004: rolling a webhook endpoint's secret. The secret a roll replaced
-- stays valid (deliveries are signed with both) until valid_until; one row
-- per endpoint, replaced by the next roll, deleted with the endpoint.
CREATE TABLE webhook_secret_rolls (
	endpoint_id TEXT PRIMARY KEY REFERENCES webhook_endpoints (id),
	sealed      BLOB NOT NULL,
	valid_until INTEGER NOT NULL
) STRICT;
