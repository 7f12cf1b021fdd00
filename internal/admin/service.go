package admin

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/store"
)

// Scopes that API keys can hold. The list grows with the services; a key
// can never be given a scope that is not on it.
const (
	ScopeKeysManage          = "keys:manage"
	ScopeAuditRead           = "audit:read"
	ScopeCredentialsIssue    = "credentials:issue"
	ScopeCredentialsRevoke   = "credentials:revoke"
	ScopeRegistryAdmin       = "registry:admin"
	ScopeRPManage            = "rp:manage"
	ScopeDIDsManage          = "dids:manage"
	ScopePresentationsCreate = "presentations:create"
	ScopePresentationsRead   = "presentations:read"
)

// KnownScopes lists every scope, sorted.
var KnownScopes = []string{
	ScopeAuditRead, ScopeCredentialsIssue, ScopeCredentialsRevoke,
	ScopeDIDsManage, ScopeKeysManage, ScopePresentationsCreate, ScopePresentationsRead,
	ScopeRegistryAdmin, ScopeRPManage,
}

// TenantKinds lists the kinds of tenant.
var TenantKinds = []string{"agency", "registry-operator", "venue-operator"}

// Store is what the admin service needs from the store; *store.Store has
// it. InTx runs a transaction, which the service uses only through Tx (see
// Service.inTx).
type Store interface {
	InTx(ctx context.Context, fn func(tx *store.Store) error) error
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	GetAPIKey(ctx context.Context, id string) (store.APIKey, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditRecord, error)
}

// Tx is what the admin service does inside a transaction: a change of a
// tenant or an API key with its audit record. A transaction-bound
// *store.Store has it.
type Tx interface {
	CreateTenant(ctx context.Context, t store.Tenant) error
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	GetAPIKey(ctx context.Context, id string) (store.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	AppendAudit(ctx context.Context, a store.AuditRecord) (int64, error)
}

var (
	_ Store = (*store.Store)(nil)
	_ Tx    = (*store.Store)(nil)
)

// Service administers tenants, keys and the audit log.
type Service struct {
	Store Store
	Now   func() time.Time
}

// inTx runs fn in one transaction of the store and hands it the
// transaction as a Tx, as issuer's Service.inTx does (Store.InTx takes the
// concrete store's func so that *store.Store satisfies Store).
func (s *Service) inTx(ctx context.Context, fn func(tx Tx) error) error {
	return s.Store.InTx(ctx, func(tx *store.Store) error { return fn(tx) })
}

// Actor names who does something, for the audit log.
type Actor struct {
	TenantID  string // the actor's tenant ("" for the CLI operator)
	ID        string // API key ID, or "cli"
	RequestID string
}

// Stable codes.
var (
	ErrInvalidTenant   = errs.E(errs.Invalid, "invalid_tenant", "the tenant is invalid")
	ErrInvalidScope    = errs.E(errs.Invalid, "invalid_scope", "a requested scope is unknown")
	ErrScopeEscalation = errs.E(errs.Forbidden, "scope_escalation", "a key cannot grant scopes its creator does not hold")
	ErrKeyNotFound     = errs.E(errs.NotFound, "key_not_found", "no such API key")
	ErrTenantNotFound  = errs.E(errs.NotFound, "tenant_not_found", "no such tenant")
	ErrTenantExists    = errs.E(errs.Conflict, "tenant_exists", "a tenant with this ID exists")
)

var tenantID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func audit(now time.Time, a Actor, tenant, action, target string, details any) store.AuditRecord {
	var d []byte
	if details != nil {
		d, _ = json.Marshal(details)
	}
	return store.AuditRecord{
		Time: now, TenantID: tenant, Actor: a.ID, Action: action, Target: target,
		RequestID: a.RequestID, Outcome: "ok", Details: d,
	}
}

// CreateTenant creates a tenant, audited.
func (s *Service) CreateTenant(ctx context.Context, a Actor, t store.Tenant) (store.Tenant, error) {
	if !tenantID.MatchString(t.ID) {
		return store.Tenant{}, ErrInvalidTenant.With("a tenant ID is 1 to 63 lower-case letters, digits or '-'", nil)
	}
	if !slices.Contains(TenantKinds, t.Kind) {
		return store.Tenant{}, ErrInvalidTenant.With("a tenant kind is agency, registry-operator or venue-operator", nil)
	}
	if t.Name == "" || len(t.Name) > 200 {
		return store.Tenant{}, ErrInvalidTenant.With("a tenant name is 1 to 200 characters", nil)
	}
	t.CreatedAt = s.Now().UTC()
	err := s.inTx(ctx, func(tx Tx) error {
		if err := tx.CreateTenant(ctx, t); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit(t.CreatedAt, a, t.ID, "tenant.create", t.ID, map[string]string{"kind": t.Kind}))
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Tenant{}, ErrTenantExists
	}
	return t, err
}

// CreateKey creates an API key for tenant holding scopes, audited, and
// returns the presented key (to be shown once) with its record. When
// granter is non-nil (an API caller) the new key's scopes must be a subset
// of the granter's.
func (s *Service) CreateKey(ctx context.Context, a Actor, tenant string, scopes []string, granter []string) (string, store.APIKey, error) {
	if len(scopes) == 0 {
		return "", store.APIKey{}, ErrInvalidScope.With("at least one scope is needed", nil)
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	for _, sc := range scopes {
		if !slices.Contains(KnownScopes, sc) {
			return "", store.APIKey{}, ErrInvalidScope.With("unknown scope "+quoteShort(sc), nil)
		}
		if granter != nil && !slices.Contains(granter, sc) {
			return "", store.APIKey{}, ErrScopeEscalation
		}
	}
	if _, err := s.Store.GetTenant(ctx, tenant); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", store.APIKey{}, ErrTenantNotFound
		}
		return "", store.APIKey{}, err
	}
	now := s.Now().UTC()
	presented, rec, err := httpx.NewAPIKey(tenant, scopes, now)
	if err != nil {
		return "", store.APIKey{}, errs.Wrap(errs.Internal, "", "", err)
	}
	err = s.inTx(ctx, func(tx Tx) error {
		if err := tx.CreateAPIKey(ctx, rec); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, audit(now, a, tenant, "apikey.create", rec.ID, map[string]any{"scopes": scopes}))
		return err
	})
	if err != nil {
		return "", store.APIKey{}, err
	}
	return presented, rec, nil
}

// GetKey returns the key id of tenant; another tenant's key is not found.
func (s *Service) GetKey(ctx context.Context, tenant, id string) (store.APIKey, error) {
	k, err := s.Store.GetAPIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.TenantID != tenant) {
		return store.APIKey{}, ErrKeyNotFound
	}
	return k, err
}

// RevokeKey revokes key id of tenant, audited. Revoking a revoked key is a
// no-op that succeeds (and is not audited again).
func (s *Service) RevokeKey(ctx context.Context, a Actor, tenant, id string) error {
	now := s.Now().UTC()
	return s.inTx(ctx, func(tx Tx) error {
		k, err := tx.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && k.TenantID != tenant) {
			return ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		if !k.RevokedAt.IsZero() {
			return nil
		}
		if err := tx.RevokeAPIKey(ctx, id, now); err != nil {
			return err
		}
		_, err = tx.AppendAudit(ctx, audit(now, a, tenant, "apikey.revoke", id, nil))
		return err
	})
}

// Audit lists tenant's audit records, newest first.
func (s *Service) Audit(ctx context.Context, tenant string, before int64, limit int) ([]store.AuditRecord, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return s.Store.ListAudit(ctx, store.AuditFilter{TenantID: tenant, BeforeID: before, Limit: limit})
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
