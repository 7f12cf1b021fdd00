-- 0004_outbox_parked: an outbox item that its worker will never retry (a
-- payload that is not valid work, a conflict that needs an operator) is
-- parked: it leaves the queue, so it cannot hold up the items behind it,
-- but it still counts in the depth that alerts watch. 0 means not parked.
ALTER TABLE outbox ADD COLUMN parked_at BIGINT NOT NULL DEFAULT 0;
