-- 0001_foundation (SQLite): the cross-cutting tables of issue 2.
-- Times are INTEGER unix microseconds, UTC; 0 means "not set".

CREATE TABLE tenants (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- API keys: only the SHA-256 of the secret is stored, in "hash". There is
-- deliberately no column that could hold the secret.
CREATE TABLE api_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    hash       BLOB    NOT NULL,
    scopes     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- Append-only audit log. The triggers below make UPDATE and DELETE fail;
-- SQLite has no TRUNCATE (an unqualified DELETE is caught by the trigger).
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER NOT NULL,
    tenant_id  TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    details    BLOB
);
CREATE INDEX audit_tenant_id ON audit (tenant_id, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit_append_only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit_append_only');
END;

CREATE TABLE idempotency (
    tenant_id    TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    request_hash BLOB,
    state        TEXT    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BLOB,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- Single-use values are stored by the SHA-256 of the value, never the value.
CREATE TABLE single_use (
    kind       TEXT    NOT NULL,
    value_hash BLOB    NOT NULL,
    data       BLOB,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, value_hash)
);
CREATE INDEX single_use_expires ON single_use (expires_at);

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT    NOT NULL,
    okey       TEXT    NOT NULL,
    payload    BLOB,
    created_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT '',
    done_at    INTEGER NOT NULL DEFAULT 0,
    result     BLOB,
    UNIQUE (topic, okey)
);
CREATE INDEX outbox_pending ON outbox (topic, done_at, id);
