-- 003: what the engine needs to survive crashes and a second instance.
-- A payment's discrepancy is what a person must settle; a retried request
-- finds the payment it created by its operation id; an in-flight
-- idempotency record holds a short lease instead of its whole lifetime.

ALTER TABLE payments ADD COLUMN discrepancy TEXT NOT NULL DEFAULT '';

CREATE INDEX payments_operation ON payments (operation_id) WHERE operation_id <> '';
CREATE INDEX payments_discrepancy ON payments (created_at DESC, id DESC) WHERE discrepancy <> '';
CREATE INDEX payments_status ON payments (status, created_at DESC, id DESC);

ALTER TABLE idempotency_keys ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;

-- Payments left open by a version that did not schedule their check (a
-- crash between storing and starting them) are asked about at once.
UPDATE payments SET next_check_at = updated_at
	WHERE next_check_at IS NULL AND status IN ('pending', 'processing', 'unknown', 'requires_action');
