package didregistry

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/trust"
)

// Registration states.
const (
	RPPending  = trust.RPPending
	RPApproved = trust.RPApproved
	RPRejected = trust.RPRejected
	RPRevoked  = trust.RPRevoked
)

// The registration types are trust's, so that the registry and its
// clients decide with the same code.
type (
	RPCredential   = trust.RPCredential
	RPRegistration = trust.RPRegistration
)

var claimPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func checkRPCredentials(in []RPCredential) ([]RPCredential, error) {
	if len(in) == 0 || len(in) > 16 {
		return nil, ErrInvalidRecord.With("list 1 to 16 credential types", nil)
	}
	out := make([]RPCredential, 0, len(in))
	seen := map[string]bool{}
	for _, c := range in {
		if !vctPattern.MatchString(c.VCT) || seen[c.VCT] {
			return nil, ErrInvalidRecord.With("each vct is listed once and is 1 to 256 printable ASCII characters", nil)
		}
		seen[c.VCT] = true
		if len(c.Claims) == 0 || len(c.Claims) > 64 {
			return nil, ErrInvalidRecord.With("list 1 to 64 claims per credential type", nil)
		}
		claims := slices.Clone(c.Claims)
		slices.Sort(claims)
		claims = slices.Compact(claims)
		for _, cl := range claims {
			if !claimPattern.MatchString(cl) {
				return nil, ErrInvalidRecord.With("a claim name is 1 to 64 of [A-Za-z0-9_.-]", nil)
			}
		}
		if c.Purpose == "" || len(c.Purpose) > 500 {
			return nil, ErrInvalidRecord.With("a purpose is 1 to 500 characters", nil)
		}
		if c.RetentionDays < 0 || c.RetentionDays > 3650 {
			return nil, ErrInvalidRecord.With("retention_days is 0 to 3650", nil)
		}
		out = append(out, RPCredential{VCT: c.VCT, Claims: claims, Purpose: c.Purpose, RetentionDays: c.RetentionDays})
	}
	slices.SortFunc(out, func(a, b RPCredential) int {
		if a.VCT < b.VCT {
			return -1
		}
		if a.VCT > b.VCT {
			return 1
		}
		return 0
	})
	return out, nil
}

// RegisterRP records a pending registration of verifier by a venue
// operator, which proves control of verifier with proof: a control proof
// (verifyControl) over a challenge that NewRPChallenge issued to the same
// tenant for the same verifier. The challenge is consumed in the
// transaction that stores the registration, its anchor and its audit
// record, so a refusal at any step stores nothing and leaves the challenge
// as it was, and a challenge makes at most one registration. Another
// tenant that proves control of the same DID (it holds a key of the DID)
// may register it too: each registration stands on its own proof.
//
// Refusals, after the record's own checks (invalid_did, invalid_record):
// control_proof_required; the proof's (verifyControl); the DID's
// resolution errors (did_not_found, did_deactivated, anchor_pending for a
// did:psr version not yet anchored, …); unknown_challenge (never issued,
// already used, or purged), challenge_tenant_mismatch,
// challenge_verifier_mismatch, challenge_expired.
func (s *Service) RegisterRP(ctx context.Context, a Actor, verifier, name string, creds []RPCredential, proof string) (*RPRegistration, error) {
	if err := checkSubjectDID(verifier); err != nil {
		return nil, err
	}
	if name == "" || len(name) > 200 {
		return nil, ErrInvalidRecord.With("a name is 1 to 200 characters", nil)
	}
	creds, err := checkRPCredentials(creds)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	p, err := verifyControl(ctx, proof, verifier, s.audience(), now, s.verifierDocument)
	if err != nil {
		return nil, err
	}
	r := &RPRegistration{
		ID: newRecordID("rp_"), Version: 1, Verifier: verifier, Name: name, Credentials: creds,
		Status: RPPending, Tenant: a.TenantID, EffectiveAt: now,
		Control: &RPControl{Tenant: a.TenantID, KeyID: p.kid, ProvenAt: now, Proof: p.token},
	}
	consume := func(tx Tx) error { return consumeChallenge(ctx, tx, p, a.TenantID, verifier, now) }
	if err := s.putRecordAfter(ctx, consume, a, KindRPRegistration, r.ID, verifier, 1, r, "rp.register"); err != nil {
		return nil, err
	}
	return r, nil
}

// DecideRP approves, rejects or revokes a registration (registry operators).
func (s *Service) DecideRP(ctx context.Context, a Actor, id, action, reason string) (*RPRegistration, error) {
	if len(reason) > 500 {
		return nil, ErrInvalidRecord.With("the reason is at most 500 characters", nil)
	}
	var cur RPRegistration
	if _, _, err := s.getRecord(ctx, KindRPRegistration, id, 0, &cur); err != nil {
		return nil, err
	}
	var to string
	switch action {
	case "approve":
		to = RPApproved
	case "reject":
		to = RPRejected
	case "revoke":
		to = RPRevoked
	default:
		return nil, ErrInvalidRecord.With("the action is approve, reject or revoke", nil)
	}
	if cur.Status == to {
		return &cur, nil
	}
	if to == RPApproved && !cur.Proven() {
		return nil, ErrControlProofRequired.With("the registration has no proof of control of its verifier DID; the venue must register again with one", nil)
	}
	allowed := (cur.Status == RPPending && (to == RPApproved || to == RPRejected)) || (cur.Status == RPApproved && to == RPRevoked)
	if !allowed {
		return nil, errs.E(errs.Conflict, "invalid_transition", "the registration cannot move from "+cur.Status+" to "+to)
	}
	next := cur
	next.Version, next.Status, next.Reason, next.DecidedBy = cur.Version+1, to, reason, a.TenantID
	next.EffectiveAt = s.cfg.Now().UTC()
	if !next.EffectiveAt.After(cur.EffectiveAt) {
		next.EffectiveAt = cur.EffectiveAt.Add(time.Microsecond)
	}
	if err := s.putRecord(ctx, a, KindRPRegistration, id, cur.Verifier, next.Version, next, "rp."+action); err != nil {
		return nil, err
	}
	return &next, nil
}

// GetRP returns a version (0: latest) of a registration with its anchor.
func (s *Service) GetRP(ctx context.Context, id string, version uint64) (*RPRegistration, AnchorStatus, error) {
	var r RPRegistration
	_, as, err := s.getRecord(ctx, KindRPRegistration, id, version, &r)
	if err != nil {
		return nil, AnchorStatus{}, err
	}
	return &r, as, nil
}

// RPDecision answers "may verifier request these claims of vct?".
type RPDecision = trust.RPDecision

// CheckRP says whether an approved registration of verifier allows every
// claim in claims for vct (trust.RPAllows, the code clients run too). It
// names the claims outside the registration so the wallet can tell the
// citizen. Only registrations whose tenant proved control of verifier
// count; one without a control proof (made before proofs existed) allows
// nothing. It returns the evidence a client recomputes the decision from:
// the latest version of each registration of verifier, with its receipt
// and latest-version proof.
func (s *Service) CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, []trust.Evidence, error) {
	d := RPDecision{Verifier: verifier, VCT: vct}
	if err := checkSubjectDID(verifier); err != nil {
		return d, nil, err
	}
	if !vctPattern.MatchString(vct) || len(claims) > 64 {
		return d, nil, ErrInvalidRecord.With("a vct and at most 64 claims are needed", nil)
	}
	versions, err := s.cfg.Store.RecordVersionsFor(ctx, KindRPRegistration, verifier)
	if err != nil {
		return d, nil, err
	}
	var (
		latest   []RPRegistration
		evidence []trust.Evidence
	)
	for i, v := range versions {
		if i+1 < len(versions) && versions[i+1].ID == v.ID {
			continue
		}
		var r RPRegistration
		as, err := s.checkRecord(ctx, v, &r)
		if err != nil {
			return d, nil, err
		}
		ev, err := s.evidence(ctx, v, as)
		if err != nil {
			return d, nil, err
		}
		latest, evidence = append(latest, r), append(evidence, ev)
	}
	return trust.RPAllows(latest, verifier, vct, claims, nil), evidence, nil
}

// ListRPs returns the latest version of every registration of tenant, or
// of all tenants when tenant is "".
func (s *Service) ListRPs(ctx context.Context, tenant string) ([]RPRegistration, error) {
	latest, err := s.cfg.Store.ListRecords(ctx, KindRPRegistration, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]RPRegistration, 0, len(latest))
	for _, v := range latest {
		var r RPRegistration
		if _, err := s.checkRecord(ctx, v, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
