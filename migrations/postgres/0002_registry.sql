-- 0002_registry (PostgreSQL): the DID registry and the trust registries of
-- issue 5. Every version is stored whole and never changed; its SHA-256 is
-- anchored on the ledger. Times are BIGINT unix microseconds, UTC.

-- One row per version of a did:psr DID. "document" is the exact served
-- bytes (hashed into "sha256"); "state" is the registry's JSON state of that
-- version (keys with their history); "operation" is the controller-signed
-- JWS that made the version.
CREATE TABLE did_versions (
    did        TEXT   NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id),
    document   BYTEA  NOT NULL,
    state      BYTEA  NOT NULL,
    sha256     TEXT   NOT NULL,
    operation  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (did, version)
);
CREATE INDEX did_versions_time ON did_versions (did, created_at);
CREATE INDEX did_versions_tenant ON did_versions (tenant_id);

-- Versioned registry records: accreditations (trusted-issuer registry) and
-- relying-party registrations. "body" is the canonical JSON of the version,
-- hashed into "sha256" and anchored under (kind, id, version).
CREATE TABLE registry_records (
    kind         TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    version      BIGINT NOT NULL CHECK (version >= 1),
    tenant_id    TEXT   NOT NULL REFERENCES tenants (id),
    subject_did  TEXT   NOT NULL,
    body         BYTEA  NOT NULL,
    sha256       TEXT   NOT NULL,
    effective_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id, version)
);
CREATE INDEX registry_records_did ON registry_records (kind, subject_did);
