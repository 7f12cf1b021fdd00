package didregistry

import (
	"context"
	"errors"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// proveLatest completes the anchor of a served version (as, for version
// version of subject) with what a client needs to know it is not served a
// superseded version as current: the ledger's proof of the subject's
// latest anchored version and, when that is newer than the served one, the
// receipt of the version right after it (from next), whose block time
// says when the served version stopped being in force.
//
// It changes nothing for a pending version. When the ledger cannot prove
// the latest version right now (the next block is not signed yet, or the
// ledger is unreachable), the answer goes out without the proof, which a
// client that pins the validators refuses; the registry stays readable
// for the others.
func (s *Service) proveLatest(ctx context.Context, kind, subject string, version uint64, as *AnchorStatus, next func(version uint64) (AnchorStatus, error)) error {
	if as.Receipt == nil {
		return nil
	}
	p, err := s.cfg.Anchor.LatestProof(ctx, kind, subject, as.Receipt.Height)
	if err != nil {
		s.log.Warn("proving a latest version", "kind", kind, "code", errs.CodeOf(err))
		return nil
	}
	as.Latest = p
	if p.State == nil || p.State.Version <= version {
		return nil
	}
	n, err := next(version + 1)
	if err != nil {
		return err
	}
	as.Next = n.Receipt
	return nil
}

// proveResolution adds the latest-version proof (and the next version's
// receipt, for a historic version) to a resolved did:psr version.
func (s *Service) proveResolution(ctx context.Context, res *Resolved) error {
	d := res.Version.DID
	return s.proveLatest(ctx, trust.KindDIDDocument, d, res.Version.Version, &res.Anchor, func(v uint64) (AnchorStatus, error) {
		nv, err := s.cfg.Store.GetDIDVersion(ctx, d, v)
		if err != nil {
			return AnchorStatus{}, err
		}
		_, as, err := s.checkVersion(ctx, nv)
		return as, err
	})
}

// evidence is a stored record version with its anchor, completed by
// proveRecord (with the next version's bytes when it is not the latest):
// what a client verifies before it recomputes a decision.
func (s *Service) evidence(ctx context.Context, v store.RecordVersion, as AnchorStatus) (trust.Evidence, error) {
	ev := trust.Evidence{Record: v.Body, Anchor: as}
	next, err := s.proveRecord(ctx, v.Kind, v.ID, v.Version, &ev.Anchor)
	ev.NextRecord = next
	return ev, err
}

// proveRecord completes the anchor of a served record version as
// proveLatest does, and returns the next version's stored bytes when it
// added that version's receipt.
func (s *Service) proveRecord(ctx context.Context, kind, id string, version uint64, as *AnchorStatus) ([]byte, error) {
	var next []byte
	err := s.proveLatest(ctx, kind, s.recordURL(kind, id), version, as, func(n uint64) (AnchorStatus, error) {
		nv, err := s.cfg.Store.GetRecordVersion(ctx, kind, id, n)
		if err != nil {
			return AnchorStatus{}, err
		}
		var body jsontext.Value
		as, err := s.checkRecord(ctx, nv, &body)
		next = nv.Body
		return as, err
	})
	return next, err
}

// maxChain bounds the operations one answer carries.
const maxChain = 4096

// Operations returns the controller-signed operations that made versions
// 1 to upTo (0: the latest) of a did:psr DID, in order: what a client
// replays (psr.Create, psr.Apply) to check that a served version was
// authorized by the DID's controllers, whoever anchored it. Errors:
// invalid_did, did_not_found, invalid_query (more than 4096 versions).
func (s *Service) Operations(ctx context.Context, d string, upTo uint64) ([]string, error) {
	if !ValidDID(d) {
		return nil, did.ErrInvalidDID.With("the DID is not a did:psr DID", nil)
	}
	last, err := s.cfg.Store.GetDIDVersion(ctx, d, upTo)
	if errors.Is(err, store.ErrNotFound) {
		return nil, did.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if last.Version > maxChain {
		return nil, httpx.ErrInvalidQuery.With("the DID has too many versions to serve at once", nil)
	}
	ops := make([]string, 0, last.Version)
	for v := uint64(1); v < last.Version; v++ {
		dv, err := s.cfg.Store.GetDIDVersion(ctx, d, v)
		if err != nil {
			return nil, err
		}
		ops = append(ops, dv.Operation)
	}
	return append(ops, last.Operation), nil
}
