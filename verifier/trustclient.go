package verifier

import (
	"context"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/trust"
)

// TrustClient makes a *trust.Client the verifier's Trust: DID resolution
// at iat, accreditation and relying-party decisions recomputed by the
// client from anchored, latest-version-proven registry records, and
// status lists whose hash is the anchored latest version. The verifier
// acts on its answers and decides nothing of trust itself.
func TrustClient(c *trust.Client) Trust { return trustAdapter{c} }

type trustAdapter struct{ c *trust.Client }

func (a trustAdapter) ResolveAt(ctx context.Context, d string, at time.Time) (*did.Resolution, error) {
	return a.c.ResolveAt(ctx, d, at)
}

func (a trustAdapter) IsAccredited(ctx context.Context, issuer, vct string, at time.Time) (Accreditation, error) {
	d, err := a.c.IsAccredited(ctx, issuer, vct, at)
	if err != nil {
		return Accreditation{}, err
	}
	return accreditation(d), nil
}

// accreditation maps the client's decision: a negative one whose deciding
// accreditation was active but outside its validity window at `at` (it
// had expired, or was not yet in force) is "expired", which the check
// reports as accreditation_expired; any other no (none ever, suspended,
// revoked) keeps the client's reason, reported as untrusted_issuer.
func accreditation(d trust.AccreditationDecision) Accreditation {
	if !d.Accredited && d.Status == trust.StatusOutsideValidity {
		return Accreditation{Reason: "expired"}
	}
	return Accreditation{Accredited: d.Accredited, Reason: d.Reason}
}

func (a trustAdapter) CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, error) {
	d, err := a.c.CheckRP(ctx, verifier, vct, claims)
	if err != nil {
		return RPDecision{}, err
	}
	return RPDecision{Within: d.Within, Reason: d.Reason, Excess: d.Excess}, nil
}

func (a trustAdapter) Status(ctx context.Context, issuer, uri string, idx int) (StatusResult, error) {
	r, err := a.c.Status(ctx, issuer, uri, idx)
	if err != nil {
		return StatusResult{}, err
	}
	return StatusResult{Value: r.Value, Version: r.Version, Expires: r.Expires}, nil
}
