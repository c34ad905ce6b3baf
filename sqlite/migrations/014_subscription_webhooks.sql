-- 014: payment.subscription_paused and payment.subscription_resumed became
-- webhook event types. An endpoint made for "all events" stored the list
-- of its day; one that holds every type of that list (013's included) gets
-- the two new ones, as 013 did for the discrepancy types.
UPDATE webhook_endpoints
SET events = json_insert(json_insert(events, '$[#]', 'payment.subscription_paused'), '$[#]', 'payment.subscription_resumed')
WHERE (SELECT count(DISTINCT value) FROM json_each(webhook_endpoints.events)
       WHERE value IN ('payment.created','payment.requires_action','payment.processing','payment.unknown','payment.authorized','payment.partially_captured','payment.captured','payment.partially_refunded','payment.refunded','payment.canceled','payment.failed','payment.capture_succeeded','payment.refund_succeeded','payment.discrepancy','payment.discrepancy_resolved')) = 15
  AND NOT EXISTS (SELECT 1 FROM json_each(webhook_endpoints.events) WHERE value = 'payment.subscription_paused');
