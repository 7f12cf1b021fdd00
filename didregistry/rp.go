package didregistry

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
)

// Registration states.
const (
	RPPending  = "pending"
	RPApproved = "approved"
	RPRejected = "rejected"
	RPRevoked  = "revoked"
)

// RPCredential is what a relying party may request of one credential type.
type RPCredential struct {
	VCT           string   `json:"vct"`
	Claims        []string `json:"claims"`
	Purpose       string   `json:"purpose"`
	RetentionDays int      `json:"retention_days"`
}

// RPRegistration registers a verifier DID with what it may request and why.
// A venue operator submits it with a proof of control of the DID (Control);
// a registry operator approves it. A registration without Control was made
// before control proofs existed: it allows nothing, cannot be approved, and
// its venue registers again with a proof (docs/relying-parties.md).
type RPRegistration struct {
	ID          string         `json:"id"`
	Version     uint64         `json:"version"`
	Verifier    string         `json:"verifier"`
	Name        string         `json:"name"`
	Credentials []RPCredential `json:"credentials"`
	Status      string         `json:"status"`
	Reason      string         `json:"reason,omitempty"`
	Tenant      string         `json:"tenant"` // the venue operator that registered it
	DecidedBy   string         `json:"decided_by,omitempty"`
	EffectiveAt time.Time      `json:"effective_at"`
	Control     *RPControl     `json:"control,omitempty"`
}

// proven reports whether r counts: its own tenant proved control of its
// verifier DID.
func (r *RPRegistration) proven() bool { return r.Control != nil && r.Control.Tenant == r.Tenant }

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
	if to == RPApproved && !cur.proven() {
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
type RPDecision struct {
	Within         bool     `json:"within"`
	Verifier       string   `json:"verifier"`
	VCT            string   `json:"vct"`
	RegistrationID string   `json:"registration_id,omitempty"`
	Purpose        string   `json:"purpose,omitempty"`
	RetentionDays  int      `json:"retention_days,omitempty"`
	Excess         []string `json:"excess,omitempty"` // requested claims the registration does not allow
}

// CheckRP says whether an approved registration of verifier allows every
// claim in claims for vct. It names the claims outside the registration so
// the wallet can tell the citizen. Only registrations whose tenant proved
// control of verifier count; one without a control proof (made before
// proofs existed) allows nothing.
func (s *Service) CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, error) {
	d := RPDecision{Verifier: verifier, VCT: vct}
	if err := checkSubjectDID(verifier); err != nil {
		return d, err
	}
	if !vctPattern.MatchString(vct) || len(claims) > 64 {
		return d, ErrInvalidRecord.With("a vct and at most 64 claims are needed", nil)
	}
	versions, err := s.cfg.Store.RecordVersionsFor(ctx, KindRPRegistration, verifier)
	if err != nil {
		return d, err
	}
	d.Excess = claims
	for i, v := range versions {
		if i+1 < len(versions) && versions[i+1].ID == v.ID {
			continue
		}
		var r RPRegistration
		if _, err := s.checkRecord(ctx, v, &r); err != nil {
			return d, err
		}
		if r.Status != RPApproved || !r.proven() {
			continue
		}
		for _, c := range r.Credentials {
			if c.VCT != vct {
				continue
			}
			var excess []string
			for _, cl := range claims {
				if !slices.Contains(c.Claims, cl) {
					excess = append(excess, cl)
				}
			}
			if len(excess) == 0 {
				return RPDecision{Within: true, Verifier: verifier, VCT: vct, RegistrationID: r.ID,
					Purpose: c.Purpose, RetentionDays: c.RetentionDays}, nil
			}
			if len(excess) < len(d.Excess) {
				d.Excess, d.RegistrationID = excess, r.ID
			}
		}
	}
	return d, nil
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
