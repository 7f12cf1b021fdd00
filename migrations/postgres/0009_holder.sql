-- 0009_holder (PostgreSQL): the holder service of issue 16, the citizen
-- wallet. Times are BIGINT unix microseconds, UTC; 0 means "not set".
-- Everything personal is sealed (AES-256-GCM) under the account's data
-- key, itself sealed under the KEK: no column holds a claim value, a
-- private key, a password or a session token in clear.

-- Citizen accounts. password_hash is an argon2id PHC string with its own
-- salt; data_key is the account's 32-byte data key sealed under the KEK.
CREATE TABLE holder_accounts (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    data_key      BYTEA   NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- Login sessions: only the SHA-256 of the opaque token is stored.
CREATE TABLE holder_sessions (
    token_hash BYTEA   NOT NULL PRIMARY KEY,
    account_id TEXT    NOT NULL REFERENCES holder_accounts (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX holder_sessions_account ON holder_sessions (account_id);

-- Holder keys, one per credential copy. id is the RFC 7638 thumbprint;
-- mode is 'cloud' (sealed holds the private key sealed under the data
-- key) or 'device' (the phone keeps it; sealed is NULL).
CREATE TABLE holder_keys (
    account_id TEXT    NOT NULL REFERENCES holder_accounts (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    mode       TEXT    NOT NULL CHECK (mode IN ('cloud', 'device')),
    jwk        TEXT    NOT NULL,
    sealed     BYTEA,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, id),
    CHECK ((mode = 'cloud') = (sealed IS NOT NULL))
);

-- Credentials: one row per issuance (one offer), with the issuer's
-- display metadata (public) in display; status is the last status seen.
CREATE TABLE holder_credentials (
    account_id TEXT    NOT NULL REFERENCES holder_accounts (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    issuer     TEXT    NOT NULL,
    config_id  TEXT    NOT NULL,
    vct        TEXT    NOT NULL,
    display    TEXT    NOT NULL,
    key_mode   TEXT    NOT NULL CHECK (key_mode IN ('cloud', 'device')),
    status     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, id)
);

-- The batch copies of a credential: the SD-JWT with its disclosures
-- sealed under the data key. used_by is the SHA-256 (hex) of the client_id
-- of the one verifier a copy went to; NULL while unused.
CREATE TABLE holder_copies (
    account_id    TEXT    NOT NULL,
    credential_id TEXT    NOT NULL,
    n             BIGINT  NOT NULL CHECK (n >= 0),
    key_id        TEXT    NOT NULL,
    sealed        BYTEA   NOT NULL,
    used_by       TEXT,
    used_at       BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, credential_id, n),
    FOREIGN KEY (account_id, credential_id) REFERENCES holder_credentials (account_id, id) ON DELETE CASCADE
);

-- Flows that span two calls (a device key's prepare/submit, a
-- presentation's consent): state is sealed under the data key (it holds
-- access tokens and nonces).
CREATE TABLE holder_transactions (
    account_id TEXT    NOT NULL REFERENCES holder_accounts (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    state      BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, id)
);

-- The sharing history: claim names, never values.
CREATE TABLE holder_history (
    account_id    TEXT    NOT NULL REFERENCES holder_accounts (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    at            BIGINT  NOT NULL,
    channel       TEXT    NOT NULL,
    verifier      TEXT    NOT NULL,
    verifier_name TEXT    NOT NULL,
    credential_id TEXT    NOT NULL,
    claims        TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX holder_history_at ON holder_history (account_id, at);
