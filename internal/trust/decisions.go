package trust

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// maxEvidence bounds the record versions one answer may carry.
const maxEvidence = 256

// Paths of the registry's records, under its public URL: a record's
// anchored subject is its URL.
const (
	accreditationsPath = "/registry/v1/accreditations/"
	relyingPartiesPath = "/registry/v1/relying-parties/"
)

type decisionAnswer struct {
	Evidence []Evidence `json:"evidence"`
}

// IsAccredited decides whether issuer was accredited for vct at at. The
// registry's own decision is not used: the client recomputes it
// (AccreditedAt, the registry's code) from the accreditation versions the
// registry serves as in force at at, after verifying each: its bytes are
// what its receipt anchors under its record URL, and the record's
// latest-version proof shows it is the latest, or the next version's
// receipt and bytes show it superseded only after at. So a revoked or
// suspended accreditation cannot be passed off as active. A version the
// registry serves as pending (not anchored yet) counts for nothing.
//
// A negative decision has Reason not_accredited. Errors, for a registry
// that lies or cannot prove what it serves: stale_version (a version
// superseded before at, served as in force), anchor_required,
// receipt_unverified, proof_unverified, proof_too_old, invalid_receipt,
// invalid_latest_proof, invalid_trust; registry_unavailable,
// registry_refused.
func (c *Client) IsAccredited(ctx context.Context, issuer, vct string, at time.Time) (AccreditationDecision, error) {
	if at.IsZero() {
		return AccreditationDecision{}, ErrRegistryRefused.With("no instant to decide at", nil)
	}
	at = at.UTC()
	q := url.Values{"issuer": {issuer}, "vct": {vct}, "at": {at.Format(time.RFC3339Nano)}}
	path := "/registry/v1/trust/issuers?" + q.Encode()
	fetch := func() func(context.Context) (AccreditationDecision, error) {
		return func(ctx context.Context) (AccreditationDecision, error) {
			evidence, err := c.evidence(ctx, path)
			if err != nil {
				return AccreditationDecision{}, err
			}
			var p proven
			d, err := c.decideAccreditation(evidence, issuer, vct, at, &p)
			if err != nil {
				return AccreditationDecision{}, err
			}
			c.storeProven("acc "+path, d, nil, c.now().Add(c.ttl), p.oldest, time.Time{})
			return d, nil
		}
	}
	return cachedOr(c, ctx, "acc "+path, fetch)
}

// CheckRP decides whether verifier may request claims of vct. The
// registry's own decision is not used: the client recomputes it (RPAllows,
// the registry's code) from the registrations of verifier the registry
// serves, after verifying that each is anchored and the latest version of
// its record (so a revoked registration cannot be passed off as approved),
// and, for an approved one, that its recorded proof of control verifies
// against the verifier DID's document at the time of the proof
// (VerifyRecordedControl; did:psr through this client, other methods
// through Options.Resolver). A registration the registry serves as pending
// counts for nothing.
//
// A negative decision has Reason not_registered, not_approved,
// control_unproven or over_asking. Errors are IsAccredited's, with
// stale_version for a registration served in a superseded version.
func (c *Client) CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, error) {
	q := url.Values{"verifier": {verifier}, "vct": {vct}, "claims": {strings.Join(claims, ",")}}
	path := "/registry/v1/trust/relying-parties?" + q.Encode()
	fetch := func() func(context.Context) (RPDecision, error) {
		return func(ctx context.Context) (RPDecision, error) {
			evidence, err := c.evidence(ctx, path)
			if err != nil {
				return RPDecision{}, err
			}
			var p proven
			d, err := c.decideRP(ctx, evidence, verifier, vct, claims, &p)
			if err != nil {
				return RPDecision{}, err
			}
			c.storeProven("rp "+path, d, nil, c.now().Add(c.ttl), p.oldest, time.Time{})
			return d, nil
		}
	}
	return cachedOr(c, ctx, "rp "+path, fetch)
}

// documentAt returns verifier's document at t: for did:psr the version in
// force then, verified (ResolveAt); for other methods what the resolver
// resolves now.
func (c *Client) documentAt(ctx context.Context, verifier string, t time.Time) (*did.Document, error) {
	var (
		res *did.Resolution
		err error
	)
	if strings.HasPrefix(verifier, psrPrefix) {
		res, err = c.ResolveAt(ctx, verifier, t)
	} else {
		res, err = c.resolveAny(ctx, verifier, did.ResolveOptions{})
	}
	if err != nil {
		return nil, err
	}
	return res.Document, nil
}

// decideAccreditation verifies each record version of evidence and
// decides from the verified ones (see IsAccredited). It never panics on
// any input.
func (c *Client) decideAccreditation(evidence []Evidence, issuer, vct string, at time.Time, p *proven) (AccreditationDecision, error) {
	var versions []Accreditation
	for _, ev := range evidence {
		var a Accreditation
		if err := jsonx.Unmarshal(ev.Record, &a, false); err != nil {
			return AccreditationDecision{}, ErrAnchorRequired.With("a record does not parse", err)
		}
		ok, err := c.checkRecord(ev, KindAccreditation, accreditationsPath+a.ID, a.Version, at, p)
		if err != nil {
			return AccreditationDecision{}, err
		}
		if ok {
			versions = append(versions, a)
		}
	}
	return AccreditedAt(versions, issuer, vct, at), nil
}

// decideRP verifies each registration of evidence and decides from the
// verified ones, checking control proofs again (see CheckRP). It never
// panics on any input.
func (c *Client) decideRP(ctx context.Context, evidence []Evidence, verifier, vct string, claims []string, p *proven) (RPDecision, error) {
	var latest []RPRegistration
	for _, ev := range evidence {
		var r RPRegistration
		if err := jsonx.Unmarshal(ev.Record, &r, false); err != nil {
			return RPDecision{}, ErrAnchorRequired.With("a record does not parse", err)
		}
		ok, err := c.checkRecord(ev, KindRPRegistration, relyingPartiesPath+r.ID, r.Version, time.Time{}, p)
		if err != nil {
			return RPDecision{}, err
		}
		if ok {
			latest = append(latest, r)
		}
	}
	return RPAllows(latest, verifier, vct, claims, func(r *RPRegistration) error {
		return VerifyRecordedControl(ctx, r, c.records, func(ctx context.Context, v string) (*did.Document, error) {
			return c.documentAt(ctx, v, r.Control.ProvenAt)
		})
	}), nil
}

// evidence fetches a decision answer and returns its evidence.
func (c *Client) evidence(ctx context.Context, path string) ([]Evidence, error) {
	status, _, b, err := c.get(ctx, path, "application/json")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, problemError(status, b)
	}
	return parseEvidence(b)
}

// parseEvidence decodes the evidence of a registry's decision answer.
func parseEvidence(b []byte) ([]Evidence, error) {
	var a decisionAnswer
	if err := jsonx.Unmarshal(b, &a, false); err != nil {
		return nil, ErrRegistry.With("the registry's answer does not parse", err)
	}
	if len(a.Evidence) > maxEvidence {
		return nil, ErrRegistry.With("the registry's answer carries too many records", nil)
	}
	return a.Evidence, nil
}

// checkRecord verifies one record version served as evidence: its bytes
// are anchored as version version of the record URL path (under the
// registry's public URL), and it is the latest version (at zero) or the
// one in force at at. It reports false, with no error, for a version the
// registry serves as pending.
func (c *Client) checkRecord(ev Evidence, kind, path string, version uint64, at time.Time, p *proven) (bool, error) {
	if ev.Anchor.Status == AnchorPending && ev.Anchor.Receipt == nil {
		return false, nil
	}
	sum := sha256.Sum256(ev.Record)
	err := c.checkServed(&ev.Anchor, kind, c.records+path, version, hex.EncodeToString(sum[:]), at,
		func(next *Receipt, bound time.Time) (time.Time, error) {
			nsum := sha256.Sum256(ev.NextRecord)
			if len(ev.NextRecord) == 0 || hex.EncodeToString(nsum[:]) != next.Entry.SHA256 {
				return time.Time{}, ErrAnchorRequired.With("the next version's record is not the one anchored", nil)
			}
			var n struct {
				EffectiveAt time.Time `json:"effective_at"`
			}
			if err := jsonx.Unmarshal(ev.NextRecord, &n, false); err != nil {
				return time.Time{}, ErrAnchorRequired.With("the next version's record does not parse", err)
			}
			// The registry dates a change when it makes it; the ledger bounds
			// that from above.
			return minTime(n.EffectiveAt, bound), nil
		}, p)
	return err == nil, err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
