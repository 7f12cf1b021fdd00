package didregistry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Record kinds: the anchor kinds of the trust registries.
const (
	KindAccreditation  = trust.KindAccreditation
	KindRPRegistration = trust.KindRPRegistration
)

// ErrRecordNotFound answers a missing accreditation or registration.
var ErrRecordNotFound = errs.E(errs.NotFound, "record_not_found", "no such registry record")

func newRecordID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// recordURL is the anchored subject of a record: its public URL.
func (s *Service) recordURL(kind, id string) string {
	path := "/registry/v1/accreditations/"
	if kind == KindRPRegistration {
		path = "/registry/v1/relying-parties/"
	}
	return strings.TrimRight(s.cfg.PublicURL, "/") + path + id
}

// putRecord stores one version of a record with its anchor and audit
// record in one transaction. A concurrent writer of the same version makes
// it stale_version.
func (s *Service) putRecord(ctx context.Context, a Actor, kind, id, subjectDID string, version uint64, body any, action string) error {
	return s.putRecordAfter(ctx, nil, a, kind, id, subjectDID, version, body, action)
}

// putRecordAfter is putRecord with first run at the start of the same
// transaction (when not nil): an error from first, or from any later step,
// rolls back everything, first's work included.
func (s *Service) putRecordAfter(ctx context.Context, first func(tx Tx) error, a Actor, kind, id, subjectDID string, version uint64, body any, action string) error {
	b, err := json.Marshal(body, json.Deterministic(true))
	if err != nil {
		return errs.Wrap(errs.Internal, "", "", err)
	}
	sum := hashHex(b)
	now := s.cfg.Now().UTC()
	err = s.inTx(ctx, func(tx Tx) error {
		if first != nil {
			if err := first(tx); err != nil {
				return err
			}
		}
		if err := tx.PutRecordVersion(ctx, store.RecordVersion{
			Kind: kind, ID: id, Version: version, TenantID: a.TenantID, SubjectDID: subjectDID,
			Body: b, SHA256: sum, EffectiveAt: now,
		}); err != nil {
			return err
		}
		if err := s.cfg.Anchor.Enqueue(ctx, tx, trust.Entry{
			Kind: kind, Subject: s.recordURL(kind, id), Version: version, SHA256: sum,
		}); err != nil {
			return err
		}
		return audit(ctx, tx, now, a, action, id, map[string]any{"version": version, "subject": subjectDID})
	})
	if errors.Is(err, store.ErrConflict) {
		return ErrStaleVersion.With("the record changed concurrently; read it again", err)
	}
	return err
}

// getRecord reads a version (0: latest) of a record and checks it against
// its anchor.
func (s *Service) getRecord(ctx context.Context, kind, id string, version uint64, into any) (store.RecordVersion, AnchorStatus, error) {
	v, err := s.cfg.Store.GetRecordVersion(ctx, kind, id, version)
	if errors.Is(err, store.ErrNotFound) {
		return v, AnchorStatus{}, ErrRecordNotFound
	}
	if err != nil {
		return v, AnchorStatus{}, err
	}
	as, err := s.checkRecord(ctx, v, into)
	return v, as, err
}

func (s *Service) checkRecord(ctx context.Context, v store.RecordVersion, into any) (AnchorStatus, error) {
	sum := hashHex(v.Body)
	if sum != v.SHA256 || json.Unmarshal(v.Body, into) != nil {
		s.log.Error("ALERT: stored registry record is inconsistent", "kind", v.Kind, "id", v.ID, "version", v.Version)
		return AnchorStatus{}, ErrAnchorMismatch
	}
	return s.anchored(ctx, v.Kind, s.recordURL(v.Kind, v.ID), v.Version, sum)
}
