package store

import (
	"context"
	"fmt"
	"time"
)

// DIDVersion is one whole, immutable version of a registry DID.
type DIDVersion struct {
	DID       string
	Version   uint64
	TenantID  string
	Document  []byte // the exact served bytes
	State     []byte // the registry's JSON state of this version
	SHA256    string // hex SHA-256 of Document, anchored on the ledger
	Operation string // the controller-signed JWS that made this version
	CreatedAt time.Time
}

// RecordVersion is one immutable version of a registry record: an
// accreditation or a relying-party registration.
type RecordVersion struct {
	Kind        string // "accreditation" or "rp-registration"
	ID          string
	Version     uint64
	TenantID    string // the tenant that wrote it
	SubjectDID  string // the accredited issuer, or the registered verifier
	Body        []byte // canonical JSON, hashed and anchored
	SHA256      string
	EffectiveAt time.Time
}

// PutDIDVersion stores a new version. Errors: ErrInvalid (missing fields),
// ErrConflict (that version exists: a concurrent update won), ErrNotFound
// (no such tenant).
func (s *Store) PutDIDVersion(ctx context.Context, v DIDVersion) error {
	if err := need("DID", v.DID, "tenant ID", v.TenantID, "hash", v.SHA256, "operation", v.Operation); err != nil {
		return err
	}
	if v.Version == 0 || len(v.Document) == 0 || len(v.State) == 0 {
		return ErrInvalid.With("a DID version needs a version, a document and a state", nil)
	}
	_, err := s.w().exec(ctx,
		`INSERT INTO did_versions (did, version, tenant_id, document, state, sha256, operation, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		v.DID, int64(v.Version), v.TenantID, v.Document, v.State, v.SHA256, v.Operation, toMicros(v.CreatedAt))
	if err != nil {
		return fmt.Errorf("storing DID version: %w", err)
	}
	return nil
}

const didVersionColumns = "did, version, tenant_id, document, state, sha256, operation, created_at"

func scanDIDVersion(r row) (DIDVersion, error) {
	var v DIDVersion
	var version, at int64
	if err := r.Scan(&v.DID, &version, &v.TenantID, &v.Document, &v.State, &v.SHA256, &v.Operation, &at); err != nil {
		return DIDVersion{}, err
	}
	v.Version, v.CreatedAt = uint64(version), fromMicros(at)
	return v, nil
}

// GetDIDVersion returns version of did, or its latest version when version
// is 0. Errors: ErrNotFound.
func (s *Store) GetDIDVersion(ctx context.Context, did string, version uint64) (DIDVersion, error) {
	var (
		v   DIDVersion
		err error
	)
	if version == 0 {
		v, err = scanDIDVersion(s.r().queryRow(ctx,
			"SELECT "+didVersionColumns+" FROM did_versions WHERE did = $1 ORDER BY version DESC LIMIT 1", did))
	} else {
		v, err = scanDIDVersion(s.r().queryRow(ctx,
			"SELECT "+didVersionColumns+" FROM did_versions WHERE did = $1 AND version = $2", did, int64(version)))
	}
	if err != nil {
		return DIDVersion{}, fmt.Errorf("getting DID version: %w", err)
	}
	return v, nil
}

// GetDIDVersionAt returns the version of did in force at t: the newest one
// created at or before t. Errors: ErrNotFound (none yet at t).
func (s *Store) GetDIDVersionAt(ctx context.Context, did string, t time.Time) (DIDVersion, error) {
	v, err := scanDIDVersion(s.r().queryRow(ctx,
		"SELECT "+didVersionColumns+" FROM did_versions WHERE did = $1 AND created_at <= $2 ORDER BY version DESC LIMIT 1",
		did, toMicros(t)))
	if err != nil {
		return DIDVersion{}, fmt.Errorf("getting DID version at a time: %w", err)
	}
	return v, nil
}

// ListDIDs returns the DIDs of tenant (latest versions), ordered by DID.
func (s *Store) ListDIDs(ctx context.Context, tenant string) ([]DIDVersion, error) {
	var out []DIDVersion
	err := forEach(ctx, s.r(),
		`SELECT `+didVersionColumns+` FROM did_versions d WHERE tenant_id = $1
		   AND version = (SELECT MAX(version) FROM did_versions WHERE did = d.did) ORDER BY did`,
		[]any{tenant}, func(r rows) error {
			v, err := scanDIDVersion(r)
			out = append(out, v)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing DIDs: %w", err)
	}
	return out, nil
}

// PutRecordVersion stores a new version of a registry record. Errors:
// ErrInvalid, ErrConflict (that version exists), ErrNotFound (no tenant).
func (s *Store) PutRecordVersion(ctx context.Context, v RecordVersion) error {
	if err := need("kind", v.Kind, "ID", v.ID, "tenant ID", v.TenantID, "subject DID", v.SubjectDID, "hash", v.SHA256); err != nil {
		return err
	}
	if v.Version == 0 || len(v.Body) == 0 {
		return ErrInvalid.With("a record version needs a version and a body", nil)
	}
	_, err := s.w().exec(ctx,
		`INSERT INTO registry_records (kind, id, version, tenant_id, subject_did, body, sha256, effective_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		v.Kind, v.ID, int64(v.Version), v.TenantID, v.SubjectDID, v.Body, v.SHA256, toMicros(v.EffectiveAt))
	if err != nil {
		return fmt.Errorf("storing registry record: %w", err)
	}
	return nil
}

const recordColumns = "kind, id, version, tenant_id, subject_did, body, sha256, effective_at"

func scanRecord(r row) (RecordVersion, error) {
	var v RecordVersion
	var version, at int64
	if err := r.Scan(&v.Kind, &v.ID, &version, &v.TenantID, &v.SubjectDID, &v.Body, &v.SHA256, &at); err != nil {
		return RecordVersion{}, err
	}
	v.Version, v.EffectiveAt = uint64(version), fromMicros(at)
	return v, nil
}

// GetRecordVersion returns a version of a record, or the latest when
// version is 0. Errors: ErrNotFound.
func (s *Store) GetRecordVersion(ctx context.Context, kind, id string, version uint64) (RecordVersion, error) {
	var (
		v   RecordVersion
		err error
	)
	if version == 0 {
		v, err = scanRecord(s.r().queryRow(ctx,
			"SELECT "+recordColumns+" FROM registry_records WHERE kind = $1 AND id = $2 ORDER BY version DESC LIMIT 1", kind, id))
	} else {
		v, err = scanRecord(s.r().queryRow(ctx,
			"SELECT "+recordColumns+" FROM registry_records WHERE kind = $1 AND id = $2 AND version = $3", kind, id, int64(version)))
	}
	if err != nil {
		return RecordVersion{}, fmt.Errorf("getting registry record: %w", err)
	}
	return v, nil
}

// RecordVersionsFor returns every version of every record of kind about
// subjectDID, ordered by ID then version: enough to answer "at time T"
// questions in the caller.
func (s *Store) RecordVersionsFor(ctx context.Context, kind, subjectDID string) ([]RecordVersion, error) {
	var out []RecordVersion
	err := forEach(ctx, s.r(),
		"SELECT "+recordColumns+" FROM registry_records WHERE kind = $1 AND subject_did = $2 ORDER BY id, version",
		[]any{kind, subjectDID}, func(r rows) error {
			v, err := scanRecord(r)
			out = append(out, v)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing registry records: %w", err)
	}
	return out, nil
}

// ListRecords returns the latest version of every record of kind, ordered
// by ID, optionally only the records tenant created ("" for all): the
// tenant that wrote version 1, whoever wrote the later versions (a relying
// party's registration stays the venue's after an operator approves it).
func (s *Store) ListRecords(ctx context.Context, kind, tenant string) ([]RecordVersion, error) {
	var out []RecordVersion
	err := forEach(ctx, s.r(),
		`SELECT `+recordColumns+` FROM registry_records r WHERE kind = $1
		   AND ($2 = '' OR EXISTS (SELECT 1 FROM registry_records f WHERE f.kind = r.kind AND f.id = r.id AND f.version = 1 AND f.tenant_id = $2))
		   AND version = (SELECT MAX(version) FROM registry_records WHERE kind = r.kind AND id = r.id) ORDER BY id`,
		[]any{kind, tenant}, func(r rows) error {
			v, err := scanRecord(r)
			out = append(out, v)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing registry records: %w", err)
	}
	return out, nil
}
