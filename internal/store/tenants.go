package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// CreateTenant stores a new tenant. A zero CreatedAt is set from the clock.
// Errors: ErrInvalid (empty ID), ErrConflict (the ID exists).
func (s *Store) CreateTenant(ctx context.Context, t Tenant) error {
	if err := need("tenant ID", t.ID); err != nil {
		return err
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	_, err := s.w().exec(ctx,
		"INSERT INTO tenants (id, name, kind, created_at) VALUES ($1, $2, $3, $4)",
		t.ID, t.Name, t.Kind, toMicros(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("creating tenant: %w", err)
	}
	return nil
}

const tenantColumns = "id, name, kind, created_at"

func scanTenant(r row) (Tenant, error) {
	var t Tenant
	var at int64
	if err := r.Scan(&t.ID, &t.Name, &t.Kind, &at); err != nil {
		return Tenant{}, err
	}
	t.CreatedAt = fromMicros(at)
	return t, nil
}

// GetTenant returns the tenant with this ID, or ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, id string) (Tenant, error) {
	t, err := scanTenant(s.r().queryRow(ctx, "SELECT "+tenantColumns+" FROM tenants WHERE id = $1", id))
	if err != nil {
		return Tenant{}, fmt.Errorf("getting tenant: %w", err)
	}
	return t, nil
}

// ListTenants returns every tenant, ordered by ID.
func (s *Store) ListTenants(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	err := forEach(ctx, s.r(), "SELECT "+tenantColumns+" FROM tenants ORDER BY id", nil, func(r rows) error {
		t, err := scanTenant(r)
		out = append(out, t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	return out, nil
}

// CreateAPIKey stores a new API key: only its Hash, never a secret. A zero
// CreatedAt is set from the clock; Scopes round-trip in order, and an empty
// list reads back as nil. Errors: ErrInvalid (empty ID, tenant or hash),
// ErrNotFound (no such tenant), ErrConflict (the ID exists).
func (s *Store) CreateAPIKey(ctx context.Context, k APIKey) error {
	if err := need("API key ID", k.ID, "tenant ID", k.TenantID); err != nil {
		return err
	}
	if len(k.Hash) == 0 {
		return ErrInvalid.With("the API key hash is required", nil)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return ErrInvalid.With("the scopes cannot be encoded", err)
	}
	_, err = s.w().exec(ctx,
		"INSERT INTO api_keys (id, tenant_id, hash, scopes, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
		k.ID, k.TenantID, k.Hash, string(scopes), toMicros(k.CreatedAt), toMicros(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("creating API key: %w", err)
	}
	return nil
}

const apiKeyColumns = "id, tenant_id, hash, scopes, created_at, revoked_at"

func scanAPIKey(r row) (APIKey, error) {
	var k APIKey
	var scopes string
	var created, revoked int64
	if err := r.Scan(&k.ID, &k.TenantID, &k.Hash, &scopes, &created, &revoked); err != nil {
		return APIKey{}, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return APIKey{}, ErrInternal.With("a stored API key is corrupt", err)
	}
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	k.CreatedAt, k.RevokedAt = fromMicros(created), fromMicros(revoked)
	return k, nil
}

// GetAPIKey returns the API key with this ID (revoked or not: the caller
// checks RevokedAt), or ErrNotFound.
func (s *Store) GetAPIKey(ctx context.Context, id string) (APIKey, error) {
	k, err := scanAPIKey(s.r().queryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE id = $1", id))
	if err != nil {
		return APIKey{}, fmt.Errorf("getting API key: %w", err)
	}
	return k, nil
}

// ListAPIKeys returns the API keys of a tenant, revoked ones included,
// ordered by ID. An unknown tenant has none.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]APIKey, error) {
	var out []APIKey
	err := forEach(ctx, s.r(), "SELECT "+apiKeyColumns+" FROM api_keys WHERE tenant_id = $1 ORDER BY id",
		[]any{tenantID}, func(r rows) error {
			k, err := scanAPIKey(r)
			out = append(out, k)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("listing API keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey marks the key revoked at `at`. Revoking a revoked key keeps
// the first revocation time and returns nil. Errors: ErrInvalid (zero at),
// ErrNotFound (no such key).
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return ErrInvalid.With("the revocation time is required", nil)
	}
	n, err := s.w().exec(ctx, "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0", id, toMicros(at))
	if err == nil && n == 0 {
		err = notFoundOr(ctx, s.r(), nil, "SELECT 1 FROM api_keys WHERE id = $1", id)
	}
	if err != nil {
		return fmt.Errorf("revoking API key: %w", err)
	}
	return nil
}
