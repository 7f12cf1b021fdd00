-- 0007_rate_limits (SQLite): the rate-limit budgets of the issuer's
-- unauthenticated endpoints (per client address, per pre-authorized code,
-- nonces), shared by every process on this database file instead of held
-- in each process's memory. One row per key and window: the window ends at
-- window_end (unix microseconds) and counts hits, the refused ones too.
--
-- key_hash is the SHA-256 of the limiter's key, never the key: a key may
-- name a code hash or a client address. The hash of an IPv4 address can be
-- reversed by trying all of them, so what keeps addresses from lingering
-- is the purge, which deletes a row once its window has ended (the
-- issuer's background loop, once a minute).
CREATE TABLE rate_limits (
    key_hash   BLOB    NOT NULL PRIMARY KEY,
    hits       INTEGER NOT NULL,
    window_end INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limits_window_end ON rate_limits (window_end);
