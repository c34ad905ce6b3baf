-- 013: payment.discrepancy and payment.discrepancy_resolved became webhook
-- event types. An endpoint made for "all events" stored the list of its
-- day; one that holds every type of that list gets the two new ones, so a
-- discrepancy reaches the merchants who asked for everything.
UPDATE webhook_endpoints
SET events = events || '["payment.discrepancy","payment.discrepancy_resolved"]'::jsonb
WHERE events @> '["payment.created","payment.requires_action","payment.processing","payment.unknown","payment.authorized","payment.partially_captured","payment.captured","payment.partially_refunded","payment.refunded","payment.canceled","payment.failed","payment.capture_succeeded","payment.refund_succeeded"]'::jsonb
  AND NOT events ? 'payment.discrepancy';
