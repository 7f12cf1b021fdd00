package didregistry

import (
	"context"
	"regexp"
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Accreditation states.
const (
	StatusActive    = trust.StatusActive
	StatusSuspended = trust.StatusSuspended
	StatusRevoked   = trust.StatusRevoked
)

// Accreditation is trust's, so that the registry and its clients decide
// with the same code.
type Accreditation = trust.Accreditation

// ErrInvalidRecord answers a malformed accreditation or registration. Its
// code, invalid_record, is the store's (store.ErrInvalid).
var ErrInvalidRecord = store.ErrInvalid.With("the registry record is not valid", nil)

var vctPattern = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)

func checkVCTs(vcts []string) ([]string, error) {
	if len(vcts) == 0 || len(vcts) > 32 {
		return nil, ErrInvalidRecord.With("list 1 to 32 credential types (vct)", nil)
	}
	out := slices.Clone(vcts)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, v := range out {
		if !vctPattern.MatchString(v) {
			return nil, ErrInvalidRecord.With("a vct is 1 to 256 printable ASCII characters", nil)
		}
	}
	return out, nil
}

func checkSubjectDID(s string) error {
	if _, err := did.Parse(s); err != nil {
		return did.ErrInvalidDID.With("", err)
	}
	return nil
}

// Accredit records a new accreditation of issuer for vcts between from and
// until. The caller is a registry operator.
func (s *Service) Accredit(ctx context.Context, a Actor, issuer string, vcts []string, from, until time.Time) (*Accreditation, error) {
	if err := checkSubjectDID(issuer); err != nil {
		return nil, err
	}
	vcts, err := checkVCTs(vcts)
	if err != nil {
		return nil, err
	}
	if from.IsZero() || until.IsZero() || !until.After(from) {
		return nil, ErrInvalidRecord.With("valid_until must be after valid_from", nil)
	}
	acc := &Accreditation{
		ID: newRecordID("acc_"), Version: 1, Issuer: issuer, VCT: vcts,
		ValidFrom: from.UTC(), ValidUntil: until.UTC(), Status: StatusActive,
		Operator: a.TenantID, EffectiveAt: s.cfg.Now().UTC(),
	}
	if err := s.putRecord(ctx, a, KindAccreditation, acc.ID, issuer, 1, acc, "accreditation.create"); err != nil {
		return nil, err
	}
	return acc, nil
}

// ChangeAccreditation suspends, reinstates or revokes an accreditation,
// with a reason. Revocation is final. Repeating the current state is a no-op.
func (s *Service) ChangeAccreditation(ctx context.Context, a Actor, id, action, reason string) (*Accreditation, error) {
	if len(reason) > 500 {
		return nil, ErrInvalidRecord.With("the reason is at most 500 characters", nil)
	}
	var cur Accreditation
	if _, _, err := s.getRecord(ctx, KindAccreditation, id, 0, &cur); err != nil {
		return nil, err
	}
	var to string
	switch action {
	case "suspend":
		to = StatusSuspended
	case "reinstate":
		to = StatusActive
	case "revoke":
		to = StatusRevoked
	default:
		return nil, ErrInvalidRecord.With("the action is suspend, reinstate or revoke", nil)
	}
	if cur.Status == to {
		return &cur, nil
	}
	if cur.Status == StatusRevoked {
		return nil, errs.E(errs.Conflict, "record_revoked", "a revoked accreditation cannot change")
	}
	next := cur
	next.Version, next.Status, next.Reason, next.Operator = cur.Version+1, to, reason, a.TenantID
	next.EffectiveAt = s.cfg.Now().UTC()
	if !next.EffectiveAt.After(cur.EffectiveAt) {
		next.EffectiveAt = cur.EffectiveAt.Add(time.Microsecond)
	}
	if err := s.putRecord(ctx, a, KindAccreditation, id, cur.Issuer, next.Version, next, "accreditation."+action); err != nil {
		return nil, err
	}
	return &next, nil
}

// GetAccreditation returns a version (0: latest) with its anchor status.
func (s *Service) GetAccreditation(ctx context.Context, id string, version uint64) (*Accreditation, AnchorStatus, error) {
	var acc Accreditation
	_, as, err := s.getRecord(ctx, KindAccreditation, id, version, &acc)
	if err != nil {
		return nil, AnchorStatus{}, err
	}
	return &acc, as, nil
}

// Decision answers "is issuer accredited for vct at time t?".
type Decision = trust.AccreditationDecision

// IsAccredited answers with the history: the version of each
// accreditation in force at t decides (trust.AccreditedAt, the code
// clients run too), so the answer for a past instant does not change when
// the accreditation is revoked later. Every version consulted is checked
// against its anchor. It returns the evidence a client recomputes the
// decision from: each version in force at t, with its receipt and its
// record's latest-version proof (and the next version, when a newer one
// exists).
func (s *Service) IsAccredited(ctx context.Context, issuer, vct string, t time.Time) (Decision, []trust.Evidence, error) {
	d := Decision{Issuer: issuer, VCT: vct, At: t.UTC()}
	if err := checkSubjectDID(issuer); err != nil {
		return d, nil, err
	}
	if !vctPattern.MatchString(vct) {
		return d, nil, ErrInvalidRecord.With("a vct is 1 to 256 printable ASCII characters", nil)
	}
	versions, err := s.cfg.Store.RecordVersionsFor(ctx, KindAccreditation, issuer)
	if err != nil {
		return d, nil, err
	}
	all := make([]Accreditation, len(versions))
	anchors := make([]AnchorStatus, len(versions))
	for i, v := range versions {
		if anchors[i], err = s.checkRecord(ctx, v, &all[i]); err != nil {
			return d, nil, err
		}
	}
	var evidence []trust.Evidence
	for _, acc := range trust.InForceAt(all, t) {
		i := slices.IndexFunc(all, func(a Accreditation) bool { return a.ID == acc.ID && a.Version == acc.Version })
		ev, err := s.evidence(ctx, versions[i], anchors[i])
		if err != nil {
			return d, nil, err
		}
		evidence = append(evidence, ev)
	}
	return trust.AccreditedAt(all, issuer, vct, t), evidence, nil
}

// ListAccreditations returns the latest version of every accreditation,
// of one issuer when issuer is set.
func (s *Service) ListAccreditations(ctx context.Context, issuer string) ([]Accreditation, error) {
	var out []Accreditation
	if issuer != "" {
		if err := checkSubjectDID(issuer); err != nil {
			return nil, err
		}
		versions, err := s.cfg.Store.RecordVersionsFor(ctx, KindAccreditation, issuer)
		if err != nil {
			return nil, err
		}
		for i, v := range versions {
			if i+1 < len(versions) && versions[i+1].ID == v.ID {
				continue // not the latest of its id
			}
			var acc Accreditation
			if _, err := s.checkRecord(ctx, v, &acc); err != nil {
				return nil, err
			}
			out = append(out, acc)
		}
		return out, nil
	}
	latest, err := s.cfg.Store.ListRecords(ctx, KindAccreditation, "")
	if err != nil {
		return nil, err
	}
	for _, v := range latest {
		var acc Accreditation
		if _, err := s.checkRecord(ctx, v, &acc); err != nil {
			return nil, err
		}
		out = append(out, acc)
	}
	return out, nil
}
