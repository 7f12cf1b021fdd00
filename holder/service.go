package holder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/groupcommit"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
	"github.com/ssi-project/ssi/internal/store"
)

// Store is what the holder needs from the store.
type Store interface {
	CreateHolderAccount(ctx context.Context, a store.HolderAccount) error
	GetHolderAccount(ctx context.Context, id string) (store.HolderAccount, error)
	GetHolderAccountByUsername(ctx context.Context, username string) (store.HolderAccount, error)
	PutHolderSession(ctx context.Context, h store.HolderSession) error
	GetHolderSession(ctx context.Context, tokenHash []byte, now time.Time) (store.HolderSession, error)
	DeleteHolderSessions(ctx context.Context, accountID string, tokenHash []byte) (int64, error)
	WatchHolderSessions(ctx context.Context, ready func(), drop func(accountID string)) error

	HitRateLimit(ctx context.Context, key string, limit int64, window time.Duration, now time.Time) (store.RateLimit, error)
	PeekRateLimit(ctx context.Context, key string, now time.Time) (store.RateLimit, error)
	ResetRateLimit(ctx context.Context, key string) error

	PutHolderKey(ctx context.Context, k store.HolderKey) error
	GetHolderKey(ctx context.Context, accountID, id string) (store.HolderKey, error)
	PutHolderCredential(ctx context.Context, c store.HolderCredential) error
	ListHolderCredentials(ctx context.Context, accountID string) ([]store.HolderCredential, error)
	GetHolderCredential(ctx context.Context, accountID, id string) (store.HolderCredential, error)
	GetHolderCopies(ctx context.Context, accountID, id string) ([]store.HolderCopy, error)
	GetHolderCopySealed(ctx context.Context, accountID, id string, n int) ([]byte, error)
	PickHolderCopy(ctx context.Context, accountID, id, usedBy string, reuse bool, except []int) (store.HolderCopyPick, error)
	GetHolderTransactionPicking(ctx context.Context, accountID, kind, id string, credIDs []string) (store.HolderTransaction, []store.HolderCopyPick, error)
	SetHolderCredentialStatus(ctx context.Context, accountID, id, from, to string) error
	DeleteHolderCredential(ctx context.Context, accountID, id string) error
	UseHolderCopy(ctx context.Context, accountID, credentialID string, n int, usedBy string, reuse bool, at time.Time) error

	PutHolderTransaction(ctx context.Context, t store.HolderTransaction) error
	GetHolderTransaction(ctx context.Context, accountID, kind, id string) (store.HolderTransaction, error)
	FinishHolderTransaction(ctx context.Context, accountID, id, from, to string, state []byte) error
	TakeHolderPresentations(ctx context.Context, takes []store.HolderTake) []error
	SetHolderHistoryOutcome(ctx context.Context, accountID, id, outcome string) error
	PurgeHolderSessions(ctx context.Context, before time.Time) (int64, error)
	PurgeHolderTransactions(ctx context.Context, before time.Time) (int64, error)
	PurgeRateLimits(ctx context.Context, before time.Time) (int64, error)
	AddHolderHistory(ctx context.Context, h store.HolderHistoryEntry) error
	ListHolderHistory(ctx context.Context, accountID string, f store.HolderHistoryFilter) ([]store.HolderHistoryEntry, error)
}

var _ Store = (*store.Store)(nil)

// Defaults of Config.
const (
	DefaultSessionTTL      = 12 * time.Hour
	DefaultMaxFailures     = 5
	DefaultFailureWindow   = 15 * time.Minute
	DefaultLockout         = 15 * time.Minute
	DefaultLoginsPerClient = 30
	DefaultClientWindow    = time.Minute
)

// Config configures the holder.
type Config struct {
	Store Store
	// KEK seals each account's data key.
	KEK keys.KEK
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// KDF are the argon2id parameters of new password hashes (zero:
	// DefaultKDF).
	KDF KDF
	// SessionTTL is a session's lifetime (default 12 h).
	SessionTTL time.Duration
	// MaxFailures failed logins of one account within FailureWindow lock
	// it for Lockout (defaults 5, 15 min, 15 min). Every instance on one
	// database shares the counts.
	MaxFailures   int
	FailureWindow time.Duration
	Lockout       time.Duration
	// LoginsPerClient bounds login attempts per client address per
	// ClientWindow (defaults 30 a minute).
	LoginsPerClient int
	ClientWindow    time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client.
	TrustedProxies []netip.Prefix
	// Wallet configures the OpenID4VCI client (its Now is the holder's).
	Wallet oid4vci.Options
	// Trust checks received credentials' issuers and asking verifiers.
	// Without it no credential can be received (trust_check_unavailable).
	Trust Trust
	// Status checks a credential's status list entry. Without it a
	// received credential's status is "unknown" (not checked).
	Status StatusFunc
	// CopyReuse lets a copy already shown to a verifier be shown to that
	// same verifier again (never to another). Off: once-only, every
	// presentation uses a copy no verifier has seen (ARF).
	CopyReuse bool
	// TransactionDataTypes are the OpenID4VP transaction data types the
	// wallet authorizes (nil: DefaultTransactionDataTypes); a request with
	// any other is refused with invalid_transaction_data.
	TransactionDataTypes []TransactionDataType
	// SessionCacheTTL is the longest a session read from the store serves
	// later requests without reading it again (default 1 s; negative: no
	// cache). The cache works only while Run runs and the store notifies
	// ended sessions (PostgreSQL): a logout on any instance drops the
	// account's entries at once, and the TTL bounds a lost notification.
	SessionCacheTTL time.Duration
	// CommitGroup is the most presentations whose records share one
	// transaction (default 64; 1 turns grouping off), and CommitWorkers
	// how many such transactions run at once (default 2).
	CommitGroup, CommitWorkers int
}

// Service is the holder.
type Service struct {
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	wallet *oid4vci.Client
	// dummyHash is checked against for unknown usernames, so that a
	// login takes as long whether or not the account exists.
	dummyHash func() string
	sessions  *sessionCache
	// takes records presentations, several to a transaction under load.
	takes *groupcommit.Group[store.HolderTake, struct{}]
}

// New checks cfg and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("holder: a store is required")
	}
	if cfg.KEK == (keys.KEK{}) {
		return nil, errors.New("holder: a KEK is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.KDF == (KDF{}) {
		cfg.KDF = DefaultKDF
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.SessionTTL, DefaultSessionTTL)
	def(&cfg.FailureWindow, DefaultFailureWindow)
	def(&cfg.Lockout, DefaultLockout)
	def(&cfg.ClientWindow, DefaultClientWindow)
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.LoginsPerClient <= 0 {
		cfg.LoginsPerClient = DefaultLoginsPerClient
	}
	if cfg.TransactionDataTypes == nil {
		cfg.TransactionDataTypes = DefaultTransactionDataTypes
	}
	cfg.Wallet.Now = cfg.Now
	if cfg.Wallet.MaxCredential <= 0 {
		cfg.Wallet.MaxCredential = oid4vci.DefaultMaxCredential
	}
	w, err := oid4vci.New(cfg.Wallet)
	if err != nil {
		return nil, err
	}
	kdf := cfg.KDF
	dummy := sync.OnceValue(func() string {
		h, _ := hashPassword("dummy-password-never-valid", kdf)
		return h
	})
	if cfg.CommitGroup <= 0 {
		cfg.CommitGroup = 64
	}
	if cfg.CommitWorkers <= 0 {
		cfg.CommitWorkers = 2
	}
	if cfg.SessionCacheTTL == 0 {
		cfg.SessionCacheTTL = DefaultSessionCacheTTL
	}
	s := &Service{cfg: cfg, now: cfg.Now, log: cfg.Logger, wallet: w, dummyHash: dummy, sessions: &sessionCache{ttl: cfg.SessionCacheTTL}}
	// A group's work is bounded by groupcommit's timeout, not by the
	// requests' contexts: once queued, a record must be known to be
	// written or not. The workers end when the queue is empty, so the
	// service needs no Close.
	s.takes = &groupcommit.Group[store.HolderTake, struct{}]{Size: cfg.CommitGroup, Workers: cfg.CommitWorkers, Ctx: context.Background(),
		Run: func(ctx context.Context, takes []store.HolderTake) []groupcommit.Outcome[struct{}] {
			out := make([]groupcommit.Outcome[struct{}], len(takes))
			for i, err := range s.cfg.Store.TakeHolderPresentations(ctx, takes) {
				out[i].Err = err
			}
			return out
		}}
	return s, nil
}

// newID returns a random 128-bit identifier in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// PurgeEvery is how often Run purges.
const PurgeEvery = time.Minute

// Purge deletes what has expired: sessions, two-call flows (their sealed
// state holds access tokens and nonces), and ended rate-limit windows
// (they hold hashes of usernames and client addresses). It returns the
// first error after trying all three.
func (s *Service) Purge(ctx context.Context) error {
	now := s.now()
	_, err1 := s.cfg.Store.PurgeHolderSessions(ctx, now)
	_, err2 := s.cfg.Store.PurgeHolderTransactions(ctx, now)
	_, err3 := s.cfg.Store.PurgeRateLimits(ctx, now)
	return errors.Join(err1, err2, err3)
}

// Run purges every PurgeEvery, and keeps the session cache in step with
// the store's notifications of ended sessions, until ctx ends; it returns
// ctx's error.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.watchSessions(ctx) })
	tick := time.NewTicker(PurgeEvery)
	defer tick.Stop()
	for {
		if err := s.Purge(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("purging expired wallet sessions and flows", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
