-- 012: the payment's locale (BCP 47, "" when not given): the language of
-- the shopper pages and of the provider's own texts.
ALTER TABLE payments ADD COLUMN locale TEXT NOT NULL DEFAULT '';
