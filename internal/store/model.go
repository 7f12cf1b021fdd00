package store

import (
	"time"

	"github.com/ssi-project/ssi/internal/errs"
)

// Sentinel errors. Every backend maps its driver's errors onto these, so
// callers compare with errors.Is and never see a driver error type.
var (
	ErrNotFound = errs.E(errs.NotFound, "not_found", "the record does not exist")
	ErrConflict = errs.E(errs.Conflict, "conflict", "the record conflicts with an existing one")
	// ErrUnavailable: the database could not be reached or timed out.
	ErrUnavailable = errs.E(errs.Unavailable, "store_unavailable", "the store is unavailable, try again later")
)

// Tenant is an agency, a registry operator or a venue operator.
type Tenant struct {
	ID        string // short slug, unique, e.g. "health"
	Name      string
	Kind      string // "agency", "registry-operator", "venue-operator"
	CreatedAt time.Time
}

// APIKey is an admin API key. The secret is never stored: Hash is the
// SHA-256 of the secret part (the secret is 256 random bits, so a slow hash
// adds nothing).
type APIKey struct {
	ID        string // public identifier, part of the presented key
	TenantID  string
	Hash      []byte
	Scopes    []string
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// AuditRecord is one append-only audit entry. Details must never contain
// personal data or secrets.
type AuditRecord struct {
	ID        int64 // assigned by the store
	Time      time.Time
	TenantID  string
	Actor     string // API key ID, "system", or a CLI operator
	Action    string // e.g. "tenant.create", "credential.revoke"
	Target    string // what it acted on, e.g. a credential ID
	RequestID string
	Outcome   string // "ok", "denied", "failed"
	Details   []byte // JSON object or nil
}

// AuditFilter selects audit records of one tenant, newest first.
type AuditFilter struct {
	TenantID string
	BeforeID int64 // 0: from the newest
	Limit    int
}

// Idempotency states.
const (
	IdemInProgress = "in_progress"
	IdemDone       = "done"
)

// IdempotencyRecord remembers the response to a POST that carried an
// Idempotency-Key, scoped to a tenant.
type IdempotencyRecord struct {
	TenantID    string
	Key         string
	RequestHash []byte // SHA-256 of method, path and body
	State       string // IdemInProgress or IdemDone
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// SingleUse is a nonce or code that may be consumed exactly once before it
// expires. Value is what the client presents; backends may store a hash of
// it. Data is opaque to the store.
type SingleUse struct {
	Kind      string // e.g. "c_nonce", "pre_auth_code", "vp_nonce"
	Value     string
	Data      []byte
	ExpiresAt time.Time
}

// OutboxItem is durable work to do exactly once, later, in order within its
// topic (anchoring uses topic "anchor"). Key is unique within the topic and
// makes enqueueing idempotent.
type OutboxItem struct {
	ID        int64 // assigned by the store, increasing: the processing order
	Topic     string
	Key       string
	Payload   []byte
	CreatedAt time.Time
	Attempts  int
	LastError string
	DoneAt    time.Time // zero while pending
	Result    []byte    // set when done (e.g. the anchor receipt)
}
