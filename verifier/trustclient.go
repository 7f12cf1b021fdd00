package verifier

import (
	"context"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/trust"
)

// StatusSource answers Trust.Status: the status list fetched or cached,
// its signature and sub checked, its hash equal to the anchored version.
// trust.Client will provide it (issue 14); until then a verifier cannot
// be started against the real trust layer without one.
type StatusSource interface {
	Status(ctx context.Context, issuer, uri string, idx int) (StatusResult, error)
}

// TrustClient makes a *trust.Client the verifier's Trust: DID resolution
// at iat, accreditation and relying-party decisions, each recomputed by the
// client from anchored, latest-version-proven registry records. Status
// comes from Lists.
type TrustClient struct {
	Client *trust.Client
	Lists  StatusSource
}

var _ Trust = trustAdapter{}

// Trust returns the adapter.
func (t TrustClient) Trust() Trust { return trustAdapter(t) }

type trustAdapter TrustClient

func (a trustAdapter) ResolveAt(ctx context.Context, d string, at time.Time) (*did.Resolution, error) {
	return a.Client.ResolveAt(ctx, d, at)
}

// IsAccredited maps the client's decision. The client gives a negative
// decision the reason not_accredited, whether no accreditation ever was
// or it had expired at `at`; so, through it, both are untrusted_issuer.
func (a trustAdapter) IsAccredited(ctx context.Context, issuer, vct string, at time.Time) (Accreditation, error) {
	d, err := a.Client.IsAccredited(ctx, issuer, vct, at)
	if err != nil {
		return Accreditation{}, err
	}
	return Accreditation{Accredited: d.Accredited, Reason: d.Reason}, nil
}

func (a trustAdapter) CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, error) {
	d, err := a.Client.CheckRP(ctx, verifier, vct, claims)
	if err != nil {
		return RPDecision{}, err
	}
	return RPDecision{Within: d.Within, Reason: d.Reason, Excess: d.Excess}, nil
}

func (a trustAdapter) Status(ctx context.Context, issuer, uri string, idx int) (StatusResult, error) {
	if a.Lists == nil {
		return StatusResult{}, ErrTrustUnavailable.With("no status source is configured", nil)
	}
	return a.Lists.Status(ctx, issuer, uri, idx)
}
