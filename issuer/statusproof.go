package issuer

import (
	"context"
	"errors"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// ProvenStatusList returns a version of list (0: the latest version the
// ledger has anchored) with what a consumer needs to check it without
// trusting the issuer (trust.Client.Status): the token, its anchor receipt
// and the ledger's proof of the list's latest anchored version (and, for
// a version that is not the latest, the next version's receipt).
//
// The latest is the ledger's latest, not the store's: a version published
// but not anchored yet is not served as latest, since no consumer could
// check it; it is served by number with anchor status pending. Errors:
// status_list_not_found, receipt_not_found (nothing anchored yet, or no
// ledger configured), anchor_mismatch (the stored token is not the one
// anchored: an alert), or the ledger's (ledger_unavailable,
// anchor_pending).
func (s *Service) ProvenStatusList(ctx context.Context, listID string, version uint64) (trust.StatusListVersion, error) {
	var out trust.StatusListVersion
	if s.cfg.Anchor == nil {
		return out, ErrReceiptNotFound
	}
	l, err := s.cfg.Store.GetStatusList(ctx, listID)
	if errors.Is(err, store.ErrNotFound) {
		return out, ErrListNotFound
	}
	if err != nil {
		return out, err
	}
	var latest *trust.LatestProof
	if version == 0 {
		if latest, err = s.cfg.Anchor.LatestProof(ctx, trust.KindStatusList, l.URI, 0); err != nil {
			return out, err
		}
		// The proof may be a cached one from before the newest version was
		// anchored (a revocation just published): once that version is on
		// the ledger, ask for a proof that covers it, so the list from
		// before it is not served as latest for the cache's reuse window.
		if cur, err := s.cfg.Store.GetStatusListVersion(ctx, l.ID, 0); err == nil && (latest.State == nil || cur.Version > latest.State.Version) {
			if r, err := s.cfg.Anchor.Get(ctx, trust.KindStatusList, l.URI, cur.Version); err == nil && r.Height > latest.Height {
				if latest, err = s.cfg.Anchor.LatestProof(ctx, trust.KindStatusList, l.URI, r.Height); err != nil {
					return out, err
				}
			}
		}
		if latest.State == nil {
			return out, ErrReceiptNotFound
		}
		version = latest.State.Version
	}
	v, err := s.cfg.Store.GetStatusListVersion(ctx, l.ID, version)
	if errors.Is(err, store.ErrNotFound) {
		return out, ErrListNotFound.With("no such version of the status list", nil)
	}
	if err != nil {
		return out, err
	}
	out.Version, out.Token = v.Version, v.Token
	r, err := s.cfg.Anchor.Get(ctx, trust.KindStatusList, l.URI, version)
	switch {
	case errs.KindOf(err) == errs.NotFound || errs.CodeOf(err) == "anchor_pending":
		out.Anchor.Status = trust.AnchorPending
		return out, nil
	case err != nil:
		return out, err
	case r.Entry.SHA256 != v.SHA256:
		s.log.Error("ALERT: stored status list version differs from its ledger anchor", "list", l.ID, "version", version)
		return trust.StatusListVersion{}, trust.ErrAnchorMismatch
	}
	if latest == nil || latest.Height < r.Height {
		if latest, err = s.cfg.Anchor.LatestProof(ctx, trust.KindStatusList, l.URI, r.Height); err != nil {
			return out, err
		}
	}
	out.Anchor = trust.Anchor{Status: trust.AnchorAnchored, Receipt: r, Latest: latest}
	if latest.State != nil && latest.State.Version > version {
		if out.Anchor.Next, err = s.cfg.Anchor.Get(ctx, trust.KindStatusList, l.URI, version+1); err != nil {
			return out, err
		}
	}
	return out, nil
}
