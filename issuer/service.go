package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/groupcommit"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Store is what the issuer needs from the store; *store.Store has it.
// InTx runs a transaction, which the service uses only through Tx (see
// Service.inTx).
type Store interface {
	InTx(ctx context.Context, fn func(tx *store.Store) error) error
	GetStatusList(ctx context.Context, id string) (store.StatusList, error)
	GetStatusListVersion(ctx context.Context, listID string, version uint64) (store.StatusListVersion, error)
	StatusEntries(ctx context.Context, listID string) ([]store.StatusEntry, error)
	StatusListsToPublish(ctx context.Context, limit int, refreshBefore time.Time) ([]store.StatusList, error)
	RecountStatusList(ctx context.Context, id string) (int64, error)
	GetCredential(ctx context.Context, tenant, id string) (store.IssuedCredential, error)
	ListCredentials(ctx context.Context, tenant, subjectRef string, limit int) ([]store.IssuedCredential, error)
	MarkCredentialsIssued(ctx context.Context, refs []store.CredentialRef, at time.Time) (map[store.CredentialRef]bool, error)
	CreateOffer(ctx context.Context, o store.CredentialOffer) error
	OfferByCode(ctx context.Context, codeHash []byte, now time.Time) (store.CredentialOffer, error)
	AttemptOffer(ctx context.Context, tenantID string, codeHash []byte, now time.Time) (store.CredentialOffer, error)
	RedeemOffer(ctx context.Context, id string, tokenHash []byte, tokenJKT string, tokenExpires, now time.Time) error
	OffersByTokens(ctx context.Context, tokenHashes [][]byte, now time.Time) (map[string]store.CredentialOffer, error)
	PutSingleUse(ctx context.Context, u store.SingleUse) error
	PurgeSingleUse(ctx context.Context, before time.Time) (int64, error)
	DropStaleSubjectData(ctx context.Context, now time.Time) (int64, error)
	HitRateLimit(ctx context.Context, key string, limit int64, window time.Duration, now time.Time) (store.RateLimit, error)
	PurgeRateLimits(ctx context.Context, before time.Time) (int64, error)
	ListStatusLists(ctx context.Context, tenant string, limit int) ([]store.StatusList, error)
}

// Tx is what the issuer does inside a transaction: the record
// transaction of credential requests (recordIn), a status change, an
// offer's creation and a status list's publication, with the anchor that
// Anchor.Enqueue writes through it (anchor.OutboxTx). A transaction-bound
// *store.Store has it.
type Tx interface {
	anchor.OutboxTx
	AppendAudit(ctx context.Context, a store.AuditRecord) (int64, error)
	AppendAudits(ctx context.Context, as []store.AuditRecord) error
	CompleteOffers(ctx context.Context, ids []string, now time.Time) (map[string]bool, error)
	ConsumeSingleUses(ctx context.Context, kind string, values []string, now time.Time) (map[string][]byte, error)
	CreateOffer(ctx context.Context, o store.CredentialOffer) error
	CreateStatusList(ctx context.Context, l store.StatusList) error
	GetCredential(ctx context.Context, tenant, id string) (store.IssuedCredential, error)
	GetStatusList(ctx context.Context, id string) (store.StatusList, error)
	InsertCredentials(ctx context.Context, cs []store.IssuedCredential) ([]bool, error)
	OpenStatusList(ctx context.Context, tenant string, bits int) (store.StatusList, error)
	PutSingleUses(ctx context.Context, kind string, us []store.SingleUse) (map[string]bool, error)
	PutStatusListVersion(ctx context.Context, v store.StatusListVersion) error
	SetCredentialStatus(ctx context.Context, tenant, id string, status int, from []int) (store.IssuedCredential, bool, error)
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
// not match it), and test doubles that wrap Store.InTx to inject faults
// keep working.
func (s *Service) inTx(ctx context.Context, fn func(tx Tx) error) error {
	return s.cfg.Store.InTx(ctx, func(tx *store.Store) error { return fn(tx) })
}

// Anchor enqueues status-list versions for anchoring, inside the caller's
// transaction, and returns receipts; *anchor.Anchorer has it.
type Anchor interface {
	Enqueue(ctx context.Context, ob anchor.OutboxTx, entries ...trust.Entry) error
	Get(ctx context.Context, kind, subject string, version uint64) (*trust.Receipt, error)
	// LatestProof proves the latest anchored version of a subject,
	// covering the block at minHeight (anchor.Anchorer caches it).
	LatestProof(ctx context.Context, kind, subject string, minHeight int64) (*trust.LatestProof, error)
}

var _ Anchor = (*anchor.Anchorer)(nil)

// Fault points at which a test hook can stop an issuance, as a crash would.
const (
	FaultAfterAllocate = "after_allocate" // records committed, nothing signed
	FaultAfterSign     = "after_sign"     // signed, not yet marked issued
	FaultBeforeRespond = "before_respond" // marked issued, not yet returned
)

// Tenant is one agency that issues: its issuer DID, the key it signs with
// (an assertionMethod of the DID) and its credential configurations.
type Tenant struct {
	ID      string
	DID     string
	KeyID   string // the DID URL of Signer, e.g. did:psr:…#issuing-1
	Signer  keys.Signer
	Configs []CredentialConfig
}

// Config configures a Service.
type Config struct {
	Store  Store
	Anchor Anchor // required for publication
	// Ledger, when set, is the ledger's health the admin console's
	// anchoring state shows (Anchoring); without it the ledger reads as
	// unreachable.
	Ledger LedgerHealth
	// PublicURL is the service's base URL (https in production). Each
	// tenant is its own Credential Issuer: PublicURL + "/issuers/" + tenant.
	PublicURL string
	Tenants   []Tenant
	Now       func() time.Time
	Logger    *slog.Logger
	// Fault, when set, is called at each fault point with the credential
	// IDs concerned; a non-nil error stops the issuance there, as a crash
	// would. For tests only.
	Fault func(point string, ids []string) error

	OfferTTL     time.Duration // pre-authorized code lifetime (≤ 10 min; default 10 min)
	TokenTTL     time.Duration // access token lifetime (default 5 min)
	NonceTTL     time.Duration // c_nonce lifetime (default 5 min)
	ProofMaxAge  time.Duration // how old a proof's iat may be (default 5 min)
	ListSize     int           // entries per status list (default and minimum 131,072)
	ListTTL      time.Duration // the ttl of a served status list (default 60 s; clamped to 1 min–24 h and to ListValidity/2)
	ListValidity time.Duration // exp - iat of a served status list (default 24 h, at least 2 min); an unchanged list is re-signed at half of it
	// PublishInterval is how often Run looks for changed lists (default
	// 200 ms, so a change is served within a second).
	PublishInterval time.Duration
	// RatePerCode bounds token requests per RateWindow per pre-authorized
	// code (default DefaultRatePerCode; it cannot be turned off), and
	// RatePerClient token requests, and apart from them nonce requests,
	// per client address (default DefaultRatePerClient; RateOff turns it
	// off). RateWindow is their window (default DefaultRateWindow, 1 s to
	// 1 h). The budgets are kept in the store, shared by every instance.
	RatePerCode, RatePerClient int
	RateWindow                 time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client of a request (httpx.ClientAddr); none by default.
	TrustedProxies []netip.Prefix
	// CommitGroup is the most credential requests whose database work
	// shares one statement or transaction (group commit; default 64, 1
	// turns grouping off), and CommitWorkers how many groups of each kind
	// (token look-up, record, mark issued) run at once (default 1: the
	// fewest, largest groups, measured fastest with ssi-load; raise it
	// when the database has cores to spare). A request that finds no
	// group running starts one at once, so grouping costs it nothing when
	// it is alone.
	CommitGroup, CommitWorkers int
	// RequireDPoP refuses token requests without a DPoP proof (RFC 9449),
	// so that every access token is sender-constrained (HAIP). Off, a
	// request with a proof still gets a DPoP-bound token.
	RequireDPoP bool
	// OfferScheme is the URI scheme of the offers' links and QR codes:
	// OfferScheme (openid-credential-offer://, the default) or
	// HAIPOfferScheme (haip://, which HAIP 1.0 §4.1 asks wallets to
	// answer). The offers are the same either way.
	OfferScheme string
}

// Service is the issuer. It is safe for concurrent use.
type Service struct {
	cfg     Config
	tenants map[string]*tenant
	now     func() time.Time
	log     *slog.Logger
	pubMu   sync.Mutex // one publication round at a time in this process
	notify  chan struct{}
	allocs  atomic.Int64 // indices allocated by this process
	// lookups, records and marks group the token look-up (step 1),
	// record (step 2) and mark-issued (step 5) work of concurrent
	// credential requests.
	lookups *groupcommit.Group[[]byte, lookupResult]
	records *groupcommit.Group[*recordJob, []recorded]
	marks   *groupcommit.Group[[]store.CredentialRef, struct{}]
	// life ends when Close is called: it cancels the groups' work.
	life context.Context
	stop context.CancelFunc
}

type tenant struct {
	Tenant
	configs map[string]*CredentialConfig
	jwk     keys.JWK
	// batch is the largest BatchSize of the tenant's configurations: the
	// batch_size its metadata advertises, the most proofs a credential
	// request may carry.
	batch int
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.PublicURL == "" {
		return nil, fmt.Errorf("issuer: a store and a public URL are required")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.OfferTTL, 10*time.Minute)
	if cfg.OfferTTL > 10*time.Minute {
		return nil, fmt.Errorf("issuer: a pre-authorized code lives at most 10 minutes")
	}
	def(&cfg.TokenTTL, 5*time.Minute)
	def(&cfg.NonceTTL, 5*time.Minute)
	def(&cfg.ProofMaxAge, 5*time.Minute)
	def(&cfg.ListTTL, time.Minute)
	def(&cfg.ListValidity, 24*time.Hour)
	if cfg.ListValidity < 2*statuslist.DefaultMinTTL {
		return nil, fmt.Errorf("issuer: a status list is valid for at least %v", 2*statuslist.DefaultMinTTL)
	}
	// SECURITY-CASES E53: the published ttl (and max-age) stays within the
	// range verifiers clamp it to, and a cached copy is due for a refetch
	// by the time the list is re-signed (at half its validity, see Publish).
	cfg.ListTTL = min(max(cfg.ListTTL, statuslist.DefaultMinTTL), statuslist.DefaultMaxTTL, cfg.ListValidity/2)
	def(&cfg.PublishInterval, 200*time.Millisecond)
	if cfg.ListSize == 0 {
		cfg.ListSize = minListSize
	}
	if cfg.ListSize < minListSize {
		return nil, fmt.Errorf("issuer: status lists hold at least %d entries", minListSize)
	}
	if err := rateDefaults(&cfg); err != nil {
		return nil, err
	}
	switch cfg.OfferScheme {
	case "":
		cfg.OfferScheme = OfferScheme
	case OfferScheme, HAIPOfferScheme:
	default:
		return nil, fmt.Errorf("issuer: the offer scheme must be %s or %s", OfferScheme, HAIPOfferScheme)
	}
	if cfg.CommitGroup <= 0 {
		cfg.CommitGroup = 64
	}
	if cfg.CommitWorkers <= 0 {
		cfg.CommitWorkers = 1
	}
	s := &Service{cfg: cfg, tenants: map[string]*tenant{}, now: cfg.Now, log: cfg.Logger,
		notify: make(chan struct{}, 1)}
	s.life, s.stop = context.WithCancel(context.Background())
	s.lookups = &groupcommit.Group[[]byte, lookupResult]{Size: cfg.CommitGroup, Workers: cfg.CommitWorkers, Ctx: s.life, Timeout: groupTimeout, Run: s.lookupGroup}
	s.records = &groupcommit.Group[*recordJob, []recorded]{Size: cfg.CommitGroup, Workers: cfg.CommitWorkers, Ctx: s.life, Timeout: groupTimeout, Run: s.recordGroup}
	s.marks = &groupcommit.Group[[]store.CredentialRef, struct{}]{Size: cfg.CommitGroup, Workers: cfg.CommitWorkers, Ctx: s.life, Timeout: groupTimeout, Run: s.markGroup}
	for _, t := range cfg.Tenants {
		if t.ID == "" || t.DID == "" || t.Signer == nil || t.KeyID == "" {
			return nil, fmt.Errorf("issuer: tenant %q needs an ID, a DID, a key ID and a signer", t.ID)
		}
		jwk, err := jose.PublicJWK(t.Signer.Public())
		if err != nil {
			return nil, fmt.Errorf("issuer: tenant %s: %w", t.ID, err)
		}
		tt := &tenant{Tenant: t, configs: map[string]*CredentialConfig{}, jwk: jwk, batch: 1}
		// Our own copy: check fills in the compiled schema, and the
		// caller's slice is left as it was.
		configs := slices.Clone(t.Configs)
		for i := range configs {
			c := &configs[i]
			if err := c.check(); err != nil {
				return nil, fmt.Errorf("issuer: tenant %s: %w", t.ID, err)
			}
			tt.configs[c.ID] = c
			tt.batch = max(tt.batch, c.BatchSize)
		}
		tt.Configs = configs
		s.tenants[t.ID] = tt
	}
	return s, nil
}

// ErrShuttingDown: the service was closed; the client may retry (on
// another instance).
var ErrShuttingDown = groupcommit.ErrShuttingDown

// Close shuts down the shared database work of credential requests (the
// group commit of Credential and CheckAccessToken): the groups in flight
// have their context cancelled, so that their transactions roll back
// instead of holding the store, and their requests fail with
// ErrShuttingDown (a record whose commit was already under way stays
// pending, as after a crash); every later credential request fails with
// it at once, before any database work. Call it once the HTTP server has
// drained what it could, before the store closes. It does not stop Run;
// calling it again does nothing.
func (s *Service) Close() { s.stop() }

// minListSize is the herd-privacy minimum of a status list.
const minListSize = 131072

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.now() }

// IssuerURL is the Credential Issuer Identifier of tenant.
func (s *Service) IssuerURL(tenantID string) string {
	return s.cfg.PublicURL + "/issuers/" + tenantID
}

// ErrUnknownIssuer: no such issuing tenant.
var ErrUnknownIssuer = errs.E(errs.NotFound, "unknown_issuer", "no such credential issuer")

func (s *Service) tenant(id string) (*tenant, error) {
	t, ok := s.tenants[id]
	if !ok {
		return nil, ErrUnknownIssuer
	}
	return t, nil
}

func (s *Service) fault(point string, ids []string) error {
	if s.cfg.Fault == nil {
		return nil
	}
	if err := s.cfg.Fault(point, ids); err != nil {
		return errs.Wrap(errs.Unavailable, "issuance_interrupted", "the issuance was interrupted, try again later", err)
	}
	return nil
}

// randomToken returns n random bytes in base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomID returns a 128-bit random identifier in hex.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	var sb strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		sb.WriteByte(byte('0' + d.Int64()))
	}
	return sb.String()
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
