package holder

import (
	"context"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/trust"
)

// Trust is what the holder asks of the trust layer (internal/trust's
// Client): every answer checked against the pinned validators. The holder
// checks each credential it receives as a verifier would (the issuer's
// DID at iat and its accreditation for the vct), and each verifier that
// asks (its relying-party registration).
type Trust interface {
	ResolveAt(ctx context.Context, did string, at time.Time) (*did.Resolution, error)
	IsAccredited(ctx context.Context, issuer, vct string, at time.Time) (trust.AccreditationDecision, error)
	CheckRP(ctx context.Context, verifier, vct string, claims []string) (trust.RPDecision, error)
}

var _ Trust = (*trust.Client)(nil)

// StatusFunc returns the Token Status List value of entry idx of the list
// at uri issued by issuer (0 valid, 1 revoked, 2 suspended), the list
// fetched whole and its hash checked against the ledger: the trust
// layer's status check. cmd/ssi plugs in internal/trust's.
type StatusFunc func(ctx context.Context, issuer, uri string, idx int) (uint8, error)
