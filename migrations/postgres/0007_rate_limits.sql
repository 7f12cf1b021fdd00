-- 0007_rate_limits (PostgreSQL): the rate-limit budgets of the issuer's
-- unauthenticated endpoints (per client address, per pre-authorized code,
-- nonces), shared by every instance on this database instead of held in
-- each process's memory. One row per key and window: the window ends at
-- window_end (unix microseconds) and counts hits, the refused ones too.
--
-- key_hash is the SHA-256 of the limiter's key, never the key: a key may
-- name a code hash or a client address. The hash of an IPv4 address can be
-- reversed by trying all of them, so what keeps addresses from lingering
-- is the purge, which deletes a row once its window has ended (the
-- issuer's background loop, once a minute).
--
-- Every hit updates the row: with room left in each page, the update of
-- hits (no indexed column) is done in place (HOT).
CREATE TABLE rate_limits (
    key_hash   BYTEA  NOT NULL PRIMARY KEY,
    hits       BIGINT NOT NULL,
    window_end BIGINT NOT NULL
) WITH (fillfactor = 70);
CREATE INDEX rate_limits_window_end ON rate_limits (window_end);
