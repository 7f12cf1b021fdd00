-- 0005_fillfactor: PostgreSQL only (page fill for in-place updates of the
-- issuer tables). SQLite has no such setting; the version is kept so both
-- dialects share their migration numbers.
SELECT 1;
