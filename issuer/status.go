package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Status values in the lists (Token Status List draft-20 §7.1).
const (
	StatusValid     = 0
	StatusRevoked   = 1
	StatusSuspended = 2
)

// Errors of the status actions.
var (
	ErrCredentialNotFound = errs.E(errs.NotFound, "credential_not_found", "no such credential")
	ErrStatusConflict     = errs.E(errs.Conflict, "status_conflict", "the credential's status does not allow this action")
	ErrNoSuspension       = errs.E(errs.Invalid, "suspension_unsupported", "this credential's status list has no suspended state")
	ErrReasonRequired     = errs.E(errs.Invalid, "reason_required", "a reason of 1 to 500 characters is required")
	ErrListNotFound       = errs.E(errs.NotFound, "status_list_not_found", "no such status list")
)

// Status actions.
const (
	ActionRevoke    = "revoke"
	ActionSuspend   = "suspend"
	ActionUnsuspend = "unsuspend"
)

// StatusChange is the outcome of a status action.
type StatusChange struct {
	Credential store.IssuedCredential
	Changed    bool // false when the credential already had that status
}

// SetStatus revokes, suspends or unsuspends tenant's credential id, with a
// reason, idempotently: repeating an action changes nothing and writes no
// second change, but every call is audited, in the same transaction as the
// change; when the audit cannot be written the change fails with 503.
// Revocation is final. Another tenant's credential is credential_not_found.
func (s *Service) SetStatus(ctx context.Context, a Actor, id, action, reason string) (StatusChange, error) {
	if reason == "" || len(reason) > 500 {
		return StatusChange{}, ErrReasonRequired
	}
	var to int
	var from []int
	switch action {
	case ActionRevoke:
		to, from = StatusRevoked, []int{StatusValid, StatusSuspended}
	case ActionSuspend:
		to, from = StatusSuspended, []int{StatusValid}
	case ActionUnsuspend:
		to, from = StatusValid, []int{StatusSuspended}
	default:
		return StatusChange{}, ErrInvalidRequest.With("unknown status action", nil)
	}
	var out StatusChange
	err := s.inTx(ctx, func(tx Tx) error {
		c, err := tx.GetCredential(ctx, a.TenantID, id)
		if err != nil {
			return err
		}
		if to == StatusSuspended {
			l, err := tx.GetStatusList(ctx, c.ListID)
			if err != nil {
				return err
			}
			if l.Bits < 2 {
				return ErrNoSuspension
			}
		}
		c, changed, err := tx.SetCredentialStatus(ctx, a.TenantID, id, to, from)
		if err != nil {
			return err
		}
		out = StatusChange{Credential: c, Changed: changed}
		_, err = tx.AppendAudit(ctx, store.AuditRecord{Time: s.now(), TenantID: a.TenantID, Actor: a.ID,
			Action: "credential." + action, Target: id, RequestID: a.RequestID, Outcome: "ok",
			Details: fmt.Appendf(nil, `{"reason":%q,"changed":%t}`, reason, changed)})
		if err != nil {
			return store.ErrAuditUnavailable.With("", err)
		}
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return StatusChange{}, ErrCredentialNotFound
	case errors.Is(err, store.ErrConflict):
		return StatusChange{}, ErrStatusConflict
	case err != nil:
		return StatusChange{}, fmt.Errorf("setting credential status: %w", err)
	}
	if out.Changed {
		s.Kick()
	}
	return out, nil
}

// Kick asks Run to publish now instead of at its next tick.
func (s *Service) Kick() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Run publishes changed status lists until ctx ends: at every tick of
// PublishInterval and whenever a status changes. Once a minute it also
// purges expired single-use values (c_nonces) and the subject data of
// offers that expired unused. Errors are logged and
// retried at the next round; it returns ctx's error.
func (s *Service) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.PublishInterval)
	defer tick.Stop()
	var purged time.Time
	for {
		if _, err := s.Publish(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("publishing status lists", "error", err.Error())
		}
		// Expired nonces and codes are useless: drop them once a minute.
		if now := s.now(); now.Sub(purged) >= time.Minute {
			purged = now
			if _, err := s.cfg.Store.PurgeSingleUse(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Warn("purging expired single-use values", "error", err.Error())
			}
			if _, err := s.cfg.Store.DropStaleSubjectData(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Warn("dropping stale subject data", "error", err.Error())
			}
			// Ended rate-limit windows too: they hold client addresses.
			if _, err := s.cfg.Store.PurgeRateLimits(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Warn("purging ended rate-limit windows", "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-s.notify:
		}
	}
}

// Publish publishes a new version of every list that changed since its
// latest version, every list never published, and every unchanged list
// whose latest version is half way to its exp (so that the served token
// never expires while its list is in use, and verifiers, which fail
// closed on an expired list, never have to), and returns how many it
// published. Each version is stored and its hash enqueued for anchoring in
// one transaction, so a version is anchored exactly once and versions
// only increase; a concurrent publisher that stored the version first wins
// and this one skips the list until the next round.
func (s *Service) Publish(ctx context.Context) (int, error) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	refreshBefore := s.now().Add(-s.cfg.ListValidity / 2)
	lists, err := s.cfg.Store.StatusListsToPublish(ctx, 100, refreshBefore)
	if err != nil {
		return 0, err
	}
	n := 0
	var errsOut []error
	for _, l := range lists {
		ok, err := s.publishList(ctx, l.ID, refreshBefore)
		if err != nil {
			errsOut = append(errsOut, err)
			continue
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errsOut...)
}

// publishList publishes a new version of listID if it changed since its
// latest version or that version was created before refreshBefore.
func (s *Service) publishList(ctx context.Context, listID string, refreshBefore time.Time) (bool, error) {
	// Read the list (and its change_seq) before its entries: every change
	// counted in that seq is committed, so the entries include it.
	l, err := s.cfg.Store.GetStatusList(ctx, listID)
	if err != nil {
		return false, err
	}
	if l.ChangeSeq <= l.PublishedSeq {
		cur, err := s.cfg.Store.GetStatusListVersion(ctx, l.ID, l.Version)
		if err != nil {
			return false, err
		}
		if !cur.CreatedAt.Before(refreshBefore) {
			return false, nil // unchanged and fresh
		}
	}
	t, ok := s.tenants[l.TenantID]
	if !ok {
		return false, nil // another service instance's tenant
	}
	entries, err := s.cfg.Store.StatusEntries(ctx, l.ID)
	if err != nil {
		return false, err
	}
	lst, err := statuslist.New(l.Bits, l.Size)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if err := lst.Set(int(e.Index), uint8(e.Status)); err != nil {
			return false, err
		}
	}
	now := s.now()
	tok, err := statuslist.Sign(t.Signer, t.KeyID, statuslist.Token{
		Subject: l.URI, Issuer: t.DID, IssuedAt: now, ExpiresAt: now.Add(s.cfg.ListValidity), TTL: s.cfg.ListTTL, List: lst,
	})
	if err != nil {
		return false, fmt.Errorf("signing status list: %w", err)
	}
	sum := sha256.Sum256([]byte(tok))
	v := store.StatusListVersion{ListID: l.ID, Version: l.Version + 1, Token: tok, SHA256: hex.EncodeToString(sum[:]), Seq: l.ChangeSeq, CreatedAt: now}
	err = s.inTx(ctx, func(tx Tx) error {
		if err := tx.PutStatusListVersion(ctx, v); err != nil {
			return err
		}
		if s.cfg.Anchor == nil {
			return nil
		}
		return s.cfg.Anchor.Enqueue(ctx, tx, trust.Entry{Kind: trust.KindStatusList, Subject: l.URI, Version: v.Version, SHA256: v.SHA256})
	})
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storing status list version: %w", err)
	}
	return true, nil
}

// ErrIssuerParam: GET /status without its issuer parameter.
var ErrIssuerParam = errs.E(errs.Invalid, "invalid_issuer_parameter", "the issuer parameter must be a DID")

// StatusListIndex returns the URIs of the status lists signed by the
// issuer DID iss that have a published version (at most 1,000 a tenant,
// newest first): what a verifier needs to put every current list of an
// issuer in an offline venue's trust bundle, before any presentation
// named one. A DID of no tenant here has none. The index is not a trust
// statement: each list is checked by its anchor and its issuer's key.
func (s *Service) StatusListIndex(ctx context.Context, iss string) ([]string, error) {
	if !strings.HasPrefix(iss, "did:") || len(iss) > 512 {
		return nil, ErrIssuerParam
	}
	out := []string{}
	for _, t := range s.tenants {
		if t.DID != iss {
			continue
		}
		lists, err := s.cfg.Store.ListStatusLists(ctx, t.ID, 1000)
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			if l.Version > 0 {
				out = append(out, l.URI)
			}
		}
	}
	return out, nil
}

// StatusListToken returns the latest published token of list.
func (s *Service) StatusListToken(ctx context.Context, listID string) (store.StatusListVersion, error) {
	v, err := s.cfg.Store.GetStatusListVersion(ctx, listID, 0)
	if errors.Is(err, store.ErrNotFound) {
		return store.StatusListVersion{}, ErrListNotFound
	}
	return v, err
}

// ErrReceiptNotFound: the version is not (yet) anchored.
var ErrReceiptNotFound = errs.E(errs.NotFound, "receipt_not_found", "the version is not anchored yet")

// Receipt returns the anchor receipt of version of list.
func (s *Service) Receipt(ctx context.Context, listID string, version uint64) (*trust.Receipt, error) {
	if s.cfg.Anchor == nil {
		return nil, ErrReceiptNotFound
	}
	l, err := s.cfg.Store.GetStatusList(ctx, listID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrListNotFound
	}
	if err != nil {
		return nil, err
	}
	r, err := s.cfg.Anchor.Get(ctx, trust.KindStatusList, l.URI, version)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return nil, ErrReceiptNotFound
		}
		return nil, err
	}
	return r, nil
}

// Credentials lists tenant's issuance records for a subject reference.
func (s *Service) Credentials(ctx context.Context, tenantID, subjectRef string) ([]store.IssuedCredential, error) {
	if subjectRef == "" {
		return nil, ErrInvalidRequest.With("subject_ref is required", nil)
	}
	return s.cfg.Store.ListCredentials(ctx, tenantID, subjectRef, 1000)
}
