-- 0005_fillfactor: leave room in each page of the two issuer tables whose
-- rows are updated soon after they are written (an offer is redeemed, then
-- completed; a credential record is marked issued, then maybe revoked), so
-- that PostgreSQL can update them in place (HOT: no new index entries).
-- None of the updated columns is indexed. Existing pages keep their fill
-- until rewritten; new pages get the room.
ALTER TABLE credentials SET (fillfactor = 80);
ALTER TABLE credential_offers SET (fillfactor = 70);
