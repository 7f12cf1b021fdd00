-- 0006_token_jkt: the JWK SHA-256 thumbprint (RFC 7638, base64url) of the
-- DPoP key an access token is bound to (RFC 9449 §6), written with the
-- token when it is issued. Empty for a bearer token and for an offer not
-- yet redeemed; a constant default, so adding it rewrites no row.
ALTER TABLE credential_offers ADD COLUMN token_jkt TEXT NOT NULL DEFAULT '';
