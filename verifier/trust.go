package verifier

import (
	"context"
	"time"

	"github.com/ssi-project/ssi/internal/did"
)

// Trust is what the verifier asks of the trust layer. Every answer must
// have been checked against the pinned validator set (anchor receipts and
// latest-version proofs); the verifier only acts on it.
//
// TrustClient adapts internal/trust's Client to it.
type Trust interface {
	// ResolveAt resolves the version of a DID in force at `at` (a
	// credential's iat).
	ResolveAt(ctx context.Context, did string, at time.Time) (*did.Resolution, error)
	// IsAccredited says whether issuer was accredited for vct at `at`.
	IsAccredited(ctx context.Context, issuer, vct string, at time.Time) (Accreditation, error)
	// CheckRP says whether the verifier's registration allows it to ask
	// for these claim names of vct.
	CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, error)
	// Status returns the status of entry idx of the list at uri, issued
	// by issuer: fetched or cached (honouring ttl), its signature and sub
	// checked, its hash equal to the anchored version.
	Status(ctx context.Context, issuer, uri string, idx int) (StatusResult, error)
}

// Accreditation is the trust layer's answer to IsAccredited.
type Accreditation struct {
	Accredited bool
	// Reason is why not, a stable code (e.g. not_accredited, expired).
	Reason string
}

// RPDecision is the trust layer's answer to CheckRP.
type RPDecision struct {
	Within bool
	Reason string
	Excess []string
}

// StatusResult is the trust layer's answer to Status.
type StatusResult struct {
	Value   uint8 // 0 valid, 1 revoked, 2 suspended, others application-specific
	Version uint64
	Expires time.Time
}
