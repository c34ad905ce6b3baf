-- 009: end of day and terminal state. A merchant's days are counted in its
-- time zone (an IANA name; '' is UTC). The daily report reads the money
-- events (captures, refunds) of one merchant written within a day; the
-- terminal state reads the newest payments of a terminal and when the
-- provider last answered about one of its payments (last_seen_at).
ALTER TABLE merchants ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
CREATE INDEX events_merchant_created ON events (merchant, created_at);
CREATE INDEX payments_terminal_created ON payments (terminal, created_at DESC, id DESC);
ALTER TABLE terminals ADD COLUMN last_seen_at timestamptz;
