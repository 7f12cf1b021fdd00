package didregistry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Store is what the registry needs from the store; *store.Store has it.
// InTx runs a transaction, which the service uses only through Tx (see
// Service.inTx).
type Store interface {
	InTx(ctx context.Context, fn func(tx *store.Store) error) error
	GetDIDVersion(ctx context.Context, did string, version uint64) (store.DIDVersion, error)
	GetDIDVersionAt(ctx context.Context, did string, t time.Time) (store.DIDVersion, error)
	GetRecordVersion(ctx context.Context, kind, id string, version uint64) (store.RecordVersion, error)
	RecordVersionsFor(ctx context.Context, kind, subjectDID string) ([]store.RecordVersion, error)
	ListRecords(ctx context.Context, kind, tenant string) ([]store.RecordVersion, error)
	// PutSingleUse stores a relying-party control challenge (by its hash).
	PutSingleUse(ctx context.Context, u store.SingleUse) error
}

// Tx is what the registry does inside a transaction: store a version of a
// DID or of a registry record with its audit record, the anchor that
// Anchor.Enqueue writes through it (anchor.OutboxTx), and use up the
// challenge of a relying-party registration's control proof. A
// transaction-bound *store.Store has it.
type Tx interface {
	anchor.OutboxTx
	PutDIDVersion(ctx context.Context, v store.DIDVersion) error
	PutRecordVersion(ctx context.Context, v store.RecordVersion) error
	AppendAudit(ctx context.Context, a store.AuditRecord) (int64, error)
	ConsumeSingleUse(ctx context.Context, kind, value string, now time.Time) (store.SingleUse, error)
}

var (
	_ Store = (*store.Store)(nil)
	_ Tx    = (*store.Store)(nil)
)

// inTx runs fn in one transaction of the store (committed when fn
// returns nil, rolled back otherwise, as Store.InTx does) and hands it the
// transaction as a Tx: inside a transaction the service can do only what
// Tx lists. This is the one place the concrete transaction passes
// through: Store.InTx must take a func of *store.Store for *store.Store to
// satisfy Store (Go has no variance, so an InTx taking a func(Tx) would
// not match it), and test doubles can still wrap Store.InTx.
func (s *Service) inTx(ctx context.Context, fn func(tx Tx) error) error {
	return s.cfg.Store.InTx(ctx, func(tx *store.Store) error { return fn(tx) })
}

// Anchor is the ledger client as the registry uses it (*anchor.Anchorer).
type Anchor interface {
	// Enqueue records entries in the outbox of the caller's transaction.
	Enqueue(ctx context.Context, ob anchor.OutboxTx, entries ...trust.Entry) error
	// Get returns the anchored entry of a version with its receipt.
	Get(ctx context.Context, kind, subject string, version uint64) (*trust.Receipt, error)
	// LatestProof returns a proof of the latest anchored version of a
	// subject, covering the block at minHeight (cached: callers must not
	// modify it).
	LatestProof(ctx context.Context, kind, subject string, minHeight int64) (*trust.LatestProof, error)
}

// Config configures the registry service.
type Config struct {
	Store  Store
	Anchor Anchor
	// PublicURL is the registry's base URL; accreditation and relying-party
	// records are anchored under their URLs below it, and it is the aud of
	// relying-party control proofs.
	PublicURL string
	// Resolver resolves the verifier DIDs of the other methods (did:key,
	// did:jwk, did:web) whose control a relying-party registration proves;
	// did:psr DIDs are resolved from the registry itself. nil: did:key and
	// did:jwk only, which need no network.
	Resolver did.Resolver
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service is the DID registry and the trust registries.
type Service struct {
	cfg      Config
	log      *slog.Logger
	resolver did.Resolver
	mu       sync.RWMutex
	receipts map[string]*trust.Receipt // anchored entries never change
}

// New returns a registry service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	res := cfg.Resolver
	if res == nil {
		res = did.NewRouter().Handle("key", did.KeyResolver{}).Handle("jwk", did.JWKResolver{})
	}
	return &Service{cfg: cfg, log: lg, resolver: res, receipts: map[string]*trust.Receipt{}}
}

// Actor is the authenticated caller of a write, for tenancy and audit.
type Actor struct {
	TenantID  string
	ID        string // API key ID
	RequestID string
}

// Stable codes of the registry.
var (
	ErrAnchorMismatch = trust.ErrAnchorMismatch
	ErrLedger         = anchor.ErrUnavailable.With("the ledger cannot be read now, try again later", nil)
)

// AnchorStatus says whether a served version is anchored, with the
// proofs a client checks (trust.Anchor).
type AnchorStatus = trust.Anchor

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func receiptKey(kind, subject string, version uint64) string {
	b, _ := json.Marshal([]any{kind, subject, version})
	return string(b)
}

const maxCachedReceipts = 1 << 16

// anchored returns the ledger's receipt for a version, and checks that the
// anchored hash equals sum. A version not on the ledger yet gives status
// pending. A different anchored hash is ErrAnchorMismatch, logged as an
// alert. Receipts are cached: an anchored entry never changes.
func (s *Service) anchored(ctx context.Context, kind, subject string, version uint64, sum string) (AnchorStatus, error) {
	key := receiptKey(kind, subject, version)
	s.mu.RLock()
	rc := s.receipts[key]
	s.mu.RUnlock()
	if rc == nil {
		var err error
		rc, err = s.cfg.Anchor.Get(ctx, kind, subject, version)
		switch {
		case errors.Is(err, anchor.ErrNotFound), errors.Is(err, anchor.ErrNotYet):
			return AnchorStatus{Status: trust.AnchorPending}, nil
		case err != nil:
			return AnchorStatus{}, ErrLedger.With("", err)
		}
		s.mu.Lock()
		if len(s.receipts) >= maxCachedReceipts {
			clear(s.receipts)
		}
		s.receipts[key] = rc
		s.mu.Unlock()
	}
	if rc.Entry.SHA256 != sum {
		s.log.Error("ALERT: stored registry record differs from its ledger anchor",
			"kind", kind, "subject", subject, "version", version)
		return AnchorStatus{}, ErrAnchorMismatch
	}
	return AnchorStatus{Status: trust.AnchorAnchored, Receipt: rc}, nil
}

// checkVersion verifies a stored DID version end to end: its document
// hashes to its recorded hash and to the anchored one, and its state
// derives exactly that document (so a tampered state can never authorize
// an update).
func (s *Service) checkVersion(ctx context.Context, v store.DIDVersion) (*State, AnchorStatus, error) {
	sum := hashHex(v.Document)
	var st State
	if err := json.Unmarshal(v.State, &st); err != nil || sum != v.SHA256 {
		s.log.Error("ALERT: stored DID version is inconsistent", "did", v.DID, "version", v.Version)
		return nil, AnchorStatus{}, ErrAnchorMismatch
	}
	doc, err := st.DocumentBytes()
	if err != nil || hashHex(doc) != sum || st.DID != v.DID || st.Version != v.Version {
		s.log.Error("ALERT: stored DID state does not derive its document", "did", v.DID, "version", v.Version)
		return nil, AnchorStatus{}, ErrAnchorMismatch
	}
	as, err := s.anchored(ctx, trust.KindDIDDocument, v.DID, v.Version, sum)
	if err != nil {
		return nil, AnchorStatus{}, err
	}
	return &st, as, nil
}

// audit appends an audit record in tx.
func audit(ctx context.Context, tx Tx, now time.Time, a Actor, action, target string, details any) error {
	var d []byte
	if details != nil {
		d, _ = json.Marshal(details)
	}
	_, err := tx.AppendAudit(ctx, store.AuditRecord{
		Time: now, TenantID: a.TenantID, Actor: a.ID, Action: action, Target: target,
		RequestID: a.RequestID, Outcome: "ok", Details: d,
	})
	return err
}

// CreateDID verifies a create operation, stores version 1 and enqueues its
// anchor, all in one transaction with the audit record.
func (s *Service) CreateDID(ctx context.Context, a Actor, token string) (*State, error) {
	st, _, err := Create(token)
	if err != nil {
		return nil, err
	}
	return st, s.putVersion(ctx, a, st, token, "did.create", nil)
}

// UpdateDID verifies an update or deactivate operation against the DID's
// current, integrity-checked version, and stores the next one. A DID of
// another tenant is not found.
func (s *Service) UpdateDID(ctx context.Context, a Actor, didStr, token string) (*State, error) {
	if !ValidDID(didStr) {
		return nil, did.ErrInvalidDID.With("the DID is not a did:psr DID", nil)
	}
	cur, err := s.cfg.Store.GetDIDVersion(ctx, didStr, 0)
	if errors.Is(err, store.ErrNotFound) || (err == nil && cur.TenantID != a.TenantID) {
		return nil, did.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	st, _, err := s.checkVersion(ctx, cur)
	if err != nil {
		return nil, err
	}
	next, err := Apply(st, token)
	if err != nil {
		return nil, err
	}
	action := "did.update"
	if next.Deactivated {
		action = "did.deactivate"
	}
	return next, s.putVersion(ctx, a, next, token, action, &cur)
}

func (s *Service) putVersion(ctx context.Context, a Actor, st *State, token, action string, prev *store.DIDVersion) error {
	now := s.cfg.Now().UTC()
	if prev != nil && !now.After(prev.CreatedAt) {
		// Versions are ordered in time too: versionTime resolution relies on it.
		now = prev.CreatedAt.Add(time.Microsecond)
	}
	doc, err := st.DocumentBytes()
	if err != nil {
		return err
	}
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return errs.Wrap(errs.Internal, "", "", err)
	}
	sum := hashHex(doc)
	err = s.inTx(ctx, func(tx Tx) error {
		if err := tx.PutDIDVersion(ctx, store.DIDVersion{
			DID: st.DID, Version: st.Version, TenantID: a.TenantID, Document: doc, State: stateJSON,
			SHA256: sum, Operation: token, CreatedAt: now,
		}); err != nil {
			return err
		}
		if err := s.cfg.Anchor.Enqueue(ctx, tx, trust.Entry{
			Kind: trust.KindDIDDocument, Subject: st.DID, Version: st.Version, SHA256: sum,
		}); err != nil {
			return err
		}
		return audit(ctx, tx, now, a, action, st.DID, map[string]any{"version": st.Version})
	})
	if errors.Is(err, store.ErrConflict) {
		if prev == nil {
			return ErrDIDExists
		}
		return ErrStaleVersion.With("another update made this version first", err)
	}
	return err
}

// ResolveOptions select a version: by number, by time, or the latest.
type ResolveOptions struct {
	VersionID   uint64
	VersionTime time.Time
}

// Resolved is a resolved did:psr version.
type Resolved struct {
	State    *State
	Version  store.DIDVersion
	Created  time.Time
	Document []byte
	Anchor   AnchorStatus
}

// ResolveDID returns a did:psr version after the integrity check. A
// deactivated DID is returned with State.Deactivated set; callers decide
// how to answer it.
func (s *Service) ResolveDID(ctx context.Context, didStr string, opts ResolveOptions) (*Resolved, error) {
	if !ValidDID(didStr) {
		return nil, did.ErrInvalidDID.With("the DID is not a did:psr DID", nil)
	}
	var (
		v   store.DIDVersion
		err error
	)
	switch {
	case opts.VersionID > 0:
		v, err = s.cfg.Store.GetDIDVersion(ctx, didStr, opts.VersionID)
	case !opts.VersionTime.IsZero():
		v, err = s.cfg.Store.GetDIDVersionAt(ctx, didStr, opts.VersionTime)
	default:
		v, err = s.cfg.Store.GetDIDVersion(ctx, didStr, 0)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, did.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	st, as, err := s.checkVersion(ctx, v)
	if err != nil {
		return nil, err
	}
	created := v.CreatedAt
	if v.Version > 1 {
		first, err := s.cfg.Store.GetDIDVersion(ctx, didStr, 1)
		if err != nil {
			return nil, err
		}
		created = first.CreatedAt
	}
	return &Resolved{State: st, Version: v, Created: created, Document: v.Document, Anchor: as}, nil
}
