-- 0010_holder_inline: PostgreSQL only (the holder's sealed values kept in
-- their rows, and page fill for in-place updates). SQLite has no such
-- settings; the version is kept so both dialects share their migration
-- numbers.
SELECT 1;
