-- 0008_verifier (postgres): the verifier's presentation transactions.
--
-- A row is one request a venue made of a wallet. What the wallet sees is
-- request_id (in request_uri and response_uri) and the state; the id, the
-- venue's handle for polling, never leaves the admin API (OpenID4VP 1.0
-- §13.3). enc_key is the transaction's ephemeral ECDH-ES private key for
-- direct_post.jwt, sealed under the KEK; response_code_hash the SHA-256 of
-- the same-device response_code.
--
-- Nothing of a presentation is kept (DESIGN §5): after the verdict the row
-- holds the verdict, its reason codes, the claim names, issuer, vct and
-- times. The shown claim values are kept apart, sealed, in single_use,
-- and handed out once. status moves from pending exactly once, in one
-- conditional UPDATE: that is what makes the nonce and state single-use.
CREATE TABLE verifier_transactions (
    id                 TEXT NOT NULL PRIMARY KEY,
    request_id         TEXT NOT NULL UNIQUE,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    policy             TEXT NOT NULL,
    request            BYTEA NOT NULL,
    response_mode      TEXT NOT NULL,
    nonce              TEXT NOT NULL,
    state              TEXT NOT NULL,
    enc_key            BYTEA,
    redirect_uri       TEXT,
    response_code_hash BYTEA,
    status             TEXT NOT NULL,
    verdict            TEXT,
    reasons            TEXT,
    claim_names        TEXT,
    issuer             TEXT,
    vct                TEXT,
    events             TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    done_at            BIGINT
);
CREATE INDEX verifier_transactions_expires ON verifier_transactions (expires_at);
