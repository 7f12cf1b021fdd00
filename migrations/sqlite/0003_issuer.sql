-- 0003_issuer (SQLite): the issuer service of issue 6. Times are INTEGER
-- unix microseconds, UTC; 0 means "not set".

-- Status lists of a tenant. "allocated" counts the indices handed out;
-- "change_seq" increases with every status change of an entry and
-- "published_seq" is the change_seq the latest published version covers, so
-- change_seq > published_seq means "publish again". "version" is the latest
-- published (and anchored) version, 0 before the first.
CREATE TABLE status_lists (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id),
    uri           TEXT    NOT NULL UNIQUE,
    bits          INTEGER NOT NULL CHECK (bits IN (1, 2, 4, 8)),
    size          INTEGER NOT NULL CHECK (size >= 131072),
    allocated     INTEGER NOT NULL DEFAULT 0,
    change_seq    INTEGER NOT NULL DEFAULT 0,
    published_seq INTEGER NOT NULL DEFAULT -1,
    version       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE INDEX status_lists_open ON status_lists (tenant_id, bits, created_at);

-- One row per credential, written before it is signed (record-before-sign).
-- The SD-JWT and its disclosures are never stored: only a hash of the
-- claims. UNIQUE (status_list, status_idx) is the herd-privacy invariant.
CREATE TABLE credentials (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    config_id   TEXT    NOT NULL,
    subject_ref TEXT    NOT NULL,
    claims_hash BLOB    NOT NULL,
    status_list TEXT    NOT NULL REFERENCES status_lists (id),
    status_idx  INTEGER NOT NULL CHECK (status_idx >= 0),
    status      INTEGER NOT NULL DEFAULT 0,
    state       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    issued_at   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (status_list, status_idx)
);
CREATE INDEX credentials_subject ON credentials (tenant_id, subject_ref);

-- Every published version of a status list: the exact served token, its
-- SHA-256 (anchored) and the change_seq it covers. Versions only increase.
CREATE TABLE status_list_versions (
    list_id    TEXT    NOT NULL REFERENCES status_lists (id),
    version    INTEGER NOT NULL CHECK (version >= 1),
    token      TEXT    NOT NULL,
    sha256     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (list_id, version)
);

-- Credential offers (pre-authorized code flow). Codes, tx_codes and access
-- tokens are stored as SHA-256 hashes only. subject_data is the admin's
-- subject JSON, needed until the credential is issued.
CREATE TABLE credential_offers (
    id               TEXT    NOT NULL PRIMARY KEY,
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id),
    config_id        TEXT    NOT NULL,
    subject_ref      TEXT    NOT NULL,
    subject_data     BLOB,
    code_hash        BLOB    NOT NULL UNIQUE,
    tx_code_hash     BLOB,
    token_hash       BLOB    UNIQUE,
    attempts         INTEGER NOT NULL DEFAULT 0,
    state            TEXT    NOT NULL,
    actor            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    token_expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX credential_offers_tenant ON credential_offers (tenant_id, created_at);
