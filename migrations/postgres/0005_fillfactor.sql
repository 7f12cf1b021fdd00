-- 0005_fillfactor: leave room in each page of the two issuer tables whose
-- rows are updated soon after they are written, so that PostgreSQL can
-- update them in place (HOT: no new index entries). That works for updates
-- that change no indexed column: marking a credential record issued,
-- changing its status, completing an offer. (Redeeming an offer sets the
-- indexed token_hash, and cannot be in place.) Existing pages keep their
-- fill until rewritten; new pages get the room.
ALTER TABLE credentials SET (fillfactor = 80);
ALTER TABLE credential_offers SET (fillfactor = 70);
