-- 0010_holder_inline: a consent's sealed state and a copy's sealed SD-JWT
-- are 2–3 KB of ciphertext, just over the 2 KB at which PostgreSQL moves a
-- row's wide values to its TOAST table (after trying to compress them,
-- which ciphertext defeats): every accept then read each through the TOAST
-- index and heap (6–7 % of the holder's PostgreSQL CPU in a perf profile
-- of the load). toast_tuple_target keeps rows of up to about 8 KB whole in
-- their page; larger ones are still moved out. fillfactor leaves room in
-- each page for the updated version of a row (the consent's status, the
-- copy's used_by: no index on either), so that the update stays in the
-- page (HOT). Existing rows keep their storage until rewritten.
ALTER TABLE holder_transactions SET (toast_tuple_target = 8160, fillfactor = 70);
ALTER TABLE holder_copies SET (toast_tuple_target = 8160, fillfactor = 70);
