-- Saved cards and merchant-initiated charges (issue 15): what a payment
-- saves or charges, the provider-run subscription it starts or belongs to,
-- and the saved cards themselves (the provider's reference, never the card).
ALTER TABLE payments ADD COLUMN customer TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN setup_future_usage TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN payment_method TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN payment_method_reference TEXT NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN off_session INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN subscription TEXT;
ALTER TABLE payments ADD COLUMN subscription_active INTEGER NOT NULL DEFAULT 0;

-- The reconciler's periodic discovery reads the few active subscriptions.
CREATE INDEX payments_subscription_active ON payments (created_at, id) WHERE subscription_active = 1;

CREATE TABLE payment_methods (
	id                 TEXT PRIMARY KEY,
	merchant           TEXT NOT NULL,
	customer           TEXT NOT NULL,
	connector          TEXT NOT NULL,
	account            TEXT NOT NULL,
	provider_reference TEXT NOT NULL,
	payment            TEXT NOT NULL,
	brand              TEXT NOT NULL DEFAULT '',
	masked_pan         TEXT NOT NULL DEFAULT '',
	expiry             TEXT NOT NULL DEFAULT '',
	created_at         INTEGER NOT NULL,
	detached_at        INTEGER
) STRICT;

-- One method per saving payment: a retried update never saves it twice.
CREATE UNIQUE INDEX payment_methods_payment ON payment_methods (payment);
CREATE INDEX payment_methods_customer ON payment_methods (merchant, customer, created_at, id);
