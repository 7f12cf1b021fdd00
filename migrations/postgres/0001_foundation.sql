-- 0001_foundation (PostgreSQL): the cross-cutting tables of issue 2.
-- Times are BIGINT unix microseconds, UTC; 0 means "not set". Objects are
-- created unqualified, in the first schema of the search_path.

CREATE TABLE tenants (
    id         TEXT   NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- API keys: only the SHA-256 of the secret is stored, in "hash". There is
-- deliberately no column that could hold the secret.
CREATE TABLE api_keys (
    id         TEXT   NOT NULL PRIMARY KEY,
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id),
    hash       BYTEA  NOT NULL,
    scopes     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- Append-only audit log: triggers reject UPDATE, DELETE and TRUNCATE with
-- the custom SQLSTATE SS001, which the store maps to ErrAppendOnly.
CREATE TABLE audit (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time       BIGINT NOT NULL,
    tenant_id  TEXT   NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    target     TEXT   NOT NULL,
    request_id TEXT   NOT NULL,
    outcome    TEXT   NOT NULL,
    details    BYTEA
);
CREATE INDEX audit_tenant_id ON audit (tenant_id, id);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_append_only' USING ERRCODE = 'SS001';
END;
$$;

CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE TABLE idempotency (
    tenant_id    TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    request_hash BYTEA,
    state        TEXT    NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BYTEA,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);

-- Single-use values are stored by the SHA-256 of the value, never the value.
CREATE TABLE single_use (
    kind       TEXT   NOT NULL,
    value_hash BYTEA  NOT NULL,
    data       BYTEA,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, value_hash)
);
CREATE INDEX single_use_expires ON single_use (expires_at);

CREATE TABLE outbox (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      TEXT    NOT NULL,
    okey       TEXT    NOT NULL,
    payload    BYTEA,
    created_at BIGINT  NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT    NOT NULL DEFAULT '',
    done_at    BIGINT  NOT NULL DEFAULT 0,
    result     BYTEA,
    UNIQUE (topic, okey)
);
CREATE INDEX outbox_pending ON outbox (topic, done_at, id);
