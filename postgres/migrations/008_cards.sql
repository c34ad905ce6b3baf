-- Saved cards and merchant-initiated charges (issue 15): what a payment
-- saves or charges, the provider-run subscription it starts or belongs to,
-- and the saved cards themselves (the provider's reference, never the card).
ALTER TABLE payments ADD COLUMN customer text NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN setup_future_usage text NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN payment_method text NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN payment_method_reference text NOT NULL DEFAULT '';
ALTER TABLE payments ADD COLUMN off_session integer NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN subscription jsonb;
ALTER TABLE payments ADD COLUMN subscription_active integer NOT NULL DEFAULT 0;

-- The reconciler's periodic discovery reads the few active subscriptions.
CREATE INDEX payments_subscription_active ON payments (created_at, id) WHERE subscription_active = 1;

CREATE TABLE payment_methods (
	id                 text COLLATE "C" PRIMARY KEY,
	merchant           text NOT NULL,
	customer           text NOT NULL,
	connector          text NOT NULL,
	account            text NOT NULL,
	provider_reference text NOT NULL,
	payment            text NOT NULL,
	brand              text NOT NULL DEFAULT '',
	masked_pan         text NOT NULL DEFAULT '',
	expiry             text NOT NULL DEFAULT '',
	created_at         timestamptz NOT NULL,
	detached_at        timestamptz
);

-- One method per saving payment: a retried update never saves it twice.
CREATE UNIQUE INDEX payment_methods_payment ON payment_methods (payment);
CREATE INDEX payment_methods_customer ON payment_methods (merchant, customer, created_at, id);
