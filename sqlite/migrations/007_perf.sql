-- The change feed of long-polls (PaymentsChangedSince): one poller per
-- instance reads the payments updated lately instead of every waiter
-- reading its own payment.
CREATE INDEX payments_updated ON payments (updated_at);
