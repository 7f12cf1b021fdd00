package verifier

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/groupcommit"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/store"
)

// Store is what the verifier needs of the store; *store.Store has it.
type Store interface {
	CreatePresentation(ctx context.Context, p store.Presentation) error
	GetPresentation(ctx context.Context, id string) (store.Presentation, error)
	GetPresentationByRequest(ctx context.Context, requestID string) (store.Presentation, error)
	SetPresentationEvents(ctx context.Context, id string, events []store.PresentationEvent) error
	FinishPresentation(ctx context.Context, id string, r store.PresentationResult, now time.Time) error
	FinishPresentations(ctx context.Context, vs []store.Verdict, now time.Time) ([]bool, error)
	PutSingleUse(ctx context.Context, u store.SingleUse) error
	ConsumeSingleUse(ctx context.Context, kind, value string, now time.Time) (store.SingleUse, error)
	PurgeSingleUse(ctx context.Context, before time.Time) (int64, error)
	PurgePresentations(ctx context.Context, before time.Time) (int64, error)
}

var _ Store = (*store.Store)(nil)

// Errors of the venue-facing API.
var (
	ErrUnknownPolicy   = errs.E(errs.Invalid, "unknown_policy", "the venue has no such policy")
	ErrNotVenue        = errs.E(errs.Forbidden, "not_a_venue", "this tenant has no verifier identity")
	ErrNoPresentation  = errs.E(errs.NotFound, "presentation_not_found", "no such presentation transaction")
	ErrBadRedirect     = errs.E(errs.Invalid, "invalid_redirect_uri", "the same-device redirect URI must be an absolute https URL")
	ErrInvalidArgument = errs.E(errs.Invalid, "invalid_argument", "a request member has an invalid value")
)

// Kinds of single-use values the verifier keeps.
const (
	claimsKind = "verifier-claims"
)

// Service is the verifier.
type Service struct {
	cfg    Config
	venues map[string]*Venue
	now    func() time.Time
	log    *slog.Logger

	txs      liveTxs                                 // pending transactions kept in memory (live.go)
	verdicts *groupcommit.Group[store.Verdict, bool] // the verdicts' group commit
	kekAEAD  func() (cipher.AEAD, error)

	ready   atomic.Bool
	mu      sync.Mutex
	waiters map[string][]chan struct{}
	lists   map[string]string // status list URI → issuer, for the trust bundle
	// listsFull: issuers with lists noteList did not keep (bundle.go).
	listsFull map[string]bool
	gaps      bundleGaps // the trust bundles' gaps, a metric (bundle.go)
}

// New checks the configuration and returns the service. Each venue's
// policies must compile (Policy.compile) and, through Trust.CheckRP, ask
// for nothing beyond the venue's registration: a policy that over-asks,
// or whose registration cannot be checked, stops the start-up
// (CheckRegistrations). With DeferRegistrationCheck that check is left to
// the caller (WaitRegistrations), and transactions are refused until it
// passed.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Trust == nil || cfg.PublicURL == "" {
		return nil, fmt.Errorf("verifier: a store, a trust client and a public URL are required")
	}
	if _, err := url.Parse(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("verifier: public URL: %w", err)
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.TransactionTTL <= 0 {
		cfg.TransactionTTL = 5 * time.Minute
	}
	if cfg.TransactionTTL > 10*time.Minute {
		return nil, fmt.Errorf("verifier: a transaction lives at most 10 minutes")
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 30 * time.Second
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 30 * 24 * time.Hour
	}
	if cfg.CommitGroup == 0 {
		cfg.CommitGroup = 64
	}
	if cfg.CommitWorkers <= 0 {
		cfg.CommitWorkers = 2
	}
	s := &Service{cfg: cfg, venues: map[string]*Venue{}, now: cfg.Now, log: cfg.Logger, waiters: map[string][]chan struct{}{}}
	s.kekAEAD = sync.OnceValues(func() (cipher.AEAD, error) { return newKEKAEAD(cfg.KEK) })
	s.verdicts = &groupcommit.Group[store.Verdict, bool]{Size: cfg.CommitGroup, Workers: cfg.CommitWorkers,
		Ctx: context.WithoutCancel(ctx), Run: s.finishGroup}
	for i := range cfg.Venues {
		v := &cfg.Venues[i]
		if v.TenantID == "" || v.Signer == nil || !strings.HasPrefix(v.KeyID, v.DID+"#") {
			return nil, fmt.Errorf("verifier: venue %q needs a tenant, a signer and a key ID of its DID", v.TenantID)
		}
		if _, err := oid4vp.ClientDID(v.ClientID()); err != nil {
			return nil, fmt.Errorf("verifier: venue %s: %w", v.TenantID, err)
		}
		if len(v.Policies) == 0 {
			return nil, fmt.Errorf("verifier: venue %s has no policy", v.TenantID)
		}
		for k := range v.Policies {
			if v.Policies[k].Name == adhocPolicyName {
				return nil, fmt.Errorf("verifier: venue %s: the policy name %s is reserved", v.TenantID, adhocPolicyName)
			}
			if err := v.Policies[k].compile(); err != nil {
				return nil, fmt.Errorf("verifier: venue %s: %w", v.TenantID, err)
			}
		}
		s.venues[v.TenantID] = v
	}
	if !cfg.DeferRegistrationCheck {
		if err := s.CheckRegistrations(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ErrNotReady: the venues' registrations have not been checked yet.
var ErrNotReady = errs.E(errs.Unavailable, "verifier_not_ready", "the verifier has not checked its registrations yet")

// errOverAsking marks a registration check that failed for good.
type errOverAsking struct{ error }

// CheckRegistrations asks the trust layer, for every policy of every
// venue, whether the venue's relying-party registration allows the claims
// its query requests of each vct. On success the verifier takes
// transactions; a policy that asks for more than the registration allows
// (or a registration that is missing, not approved or unproven) is an
// error, and the verifier stays refusing.
func (s *Service) CheckRegistrations(ctx context.Context) error {
	for _, v := range s.venues {
		for k := range v.Policies {
			p := &v.Policies[k]
			for vct, names := range p.claimNames() {
				d, err := s.cfg.Trust.CheckRP(ctx, v.DID, vct, names)
				if err != nil {
					return fmt.Errorf("verifier: venue %s, policy %s: checking the registration: %w", v.TenantID, p.Name, err)
				}
				if !d.Within {
					err := fmt.Errorf("verifier: venue %s, policy %s asks for more than the registration allows for %s (%s: %v)",
						v.TenantID, p.Name, vct, d.Reason, d.Excess)
					if d.Reason == "over_asking" {
						return errOverAsking{err}
					}
					return err
				}
			}
		}
	}
	s.ready.Store(true)
	return nil
}

// WaitRegistrations runs CheckRegistrations every `every` until it
// succeeds, fails for good (over-asking) or ctx ends, for a verifier
// started before its registrations are served and anchored (ssi dev,
// whose registry is the same process). It logs a refusal for good.
func (s *Service) WaitRegistrations(ctx context.Context, every time.Duration) error {
	for {
		err := s.CheckRegistrations(ctx)
		var over errOverAsking
		switch {
		case err == nil:
			s.log.InfoContext(ctx, "verifier registrations checked")
			return nil
		case errors.As(err, &over):
			s.log.ErrorContext(ctx, "verifier refuses its configuration", "err", err)
			return err
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// CreateRequest is the body of POST /verifier/v1/presentations.
type CreateRequest struct {
	// Policy names one of the venue's policies; or DCQLQuery is a query
	// of the venue's own (one or the other).
	Policy string `json:"policy,omitempty"`
	// DCQLQuery is an ad-hoc query: checked against the venue's
	// registration now (over_asking otherwise), with no rule (green when
	// every check passes and the query is satisfied) and every requested
	// claim shown.
	DCQLQuery    jsontext.Value `json:"dcql_query,omitempty"`
	ResponseMode string         `json:"response_mode,omitempty"` // direct_post.jwt (default) or direct_post
	// SameDeviceRedirectURI, for the same-device flow, is where the wallet
	// sends the browser back, with a response_code.
	SameDeviceRedirectURI string `json:"same_device_redirect_uri,omitempty"`
	// Scheme of the authorization request URI: openid4vp (default) or haip-vp.
	Scheme string `json:"scheme,omitempty"`
	// RequestURIMethod is get (default) or post.
	RequestURIMethod string `json:"request_uri_method,omitempty"`
}

// Created is the answer to a new transaction.
type Created struct {
	TransactionID           string    `json:"transaction_id"`
	RequestURI              string    `json:"request_uri"`
	AuthorizationRequestURI string    `json:"authorization_request_uri"`
	QRPNG                   []byte    `json:"qr_png"`
	QRSVG                   string    `json:"qr_svg"`
	ExpiresAt               time.Time `json:"expires_at"`
}

// txRequest is what a transaction keeps of its request, to sign the
// request object each time a wallet fetches it.
type txRequest struct {
	DCQL     json.RawMessage       `json:"dcql_query"`
	Metadata oid4vp.ClientMetadata `json:"client_metadata"`
	Method   string                `json:"request_uri_method"`
	EncKID   string                `json:"enc_kid,omitempty"`
}

func (s *Service) venue(tenantID string) (*Venue, error) {
	v, ok := s.venues[tenantID]
	if !ok {
		return nil, ErrNotVenue
	}
	return v, nil
}

func (v *Venue) policy(name string) (*Policy, error) {
	for i := range v.Policies {
		if v.Policies[i].Name == name {
			return &v.Policies[i], nil
		}
	}
	return nil, ErrUnknownPolicy
}

// PolicyView is what a venue's staff sees of one of its policies: its
// name, what it admits, the credential types it accepts, the claims it
// asks a wallet for and the ones shown at the door.
type PolicyView struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	VCTs        []string `json:"vcts"`
	Asks        []string `json:"asks"`
	Shows       []string `json:"shows"`
}

// Policies lists the policies of the venue of tenantID, in their
// configured order (ErrNotVenue for a tenant without a verifier
// identity). It holds no key, query text or issuer list.
func (s *Service) Policies(tenantID string) ([]PolicyView, error) {
	v, err := s.venue(tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]PolicyView, 0, len(v.Policies))
	for i := range v.Policies {
		p := &v.Policies[i]
		pv := PolicyView{Name: p.Name, Description: p.Description, VCTs: p.VCTs, Asks: []string{}, Shows: p.Show}
		for _, cq := range p.query.Credentials {
			for _, c := range cq.Claims {
				if n := c.Path.Name(); !slices.Contains(pv.Asks, n) {
					pv.Asks = append(pv.Asks, n)
				}
			}
		}
		if pv.Shows == nil {
			pv.Shows = []string{}
		}
		out = append(out, pv)
	}
	return out, nil
}

func randomID() string { return oid4vp.NewNonce() }

// Create starts a presentation transaction for the venue of tenantID:
// a request ID for the wallet, a nonce and a state, and for
// direct_post.jwt an ephemeral P-256 key (sealed under the KEK).
func (s *Service) Create(ctx context.Context, tenantID string, req CreateRequest) (*Created, error) {
	if !s.ready.Load() {
		return nil, ErrNotReady
	}
	v, err := s.venue(tenantID)
	if err != nil {
		return nil, err
	}
	var p *Policy
	switch {
	case req.DCQLQuery != nil && req.Policy != "":
		return nil, ErrInvalidArgument.With("give a policy or a dcql_query, not both", nil)
	case req.DCQLQuery != nil:
		if p, err = adhocPolicy(req.DCQLQuery); err != nil {
			return nil, err
		}
		if err := s.checkAdhoc(ctx, v, p); err != nil {
			return nil, err
		}
	default:
		if p, err = v.policy(req.Policy); err != nil {
			return nil, err
		}
	}
	mode := req.ResponseMode
	if mode == "" {
		mode = oid4vp.DirectPostJWT
	}
	if mode != oid4vp.DirectPost && mode != oid4vp.DirectPostJWT {
		return nil, ErrInvalidArgument.With("response_mode is direct_post or direct_post.jwt", nil)
	}
	scheme := req.Scheme
	switch scheme {
	case "":
		scheme = oid4vp.SchemeOpenID4VP
	case oid4vp.SchemeOpenID4VP, oid4vp.SchemeHAIP:
	default:
		return nil, ErrInvalidArgument.With("scheme is openid4vp or haip-vp", nil)
	}
	method := req.RequestURIMethod
	switch method {
	case "":
		method = oid4vp.MethodGet
	case oid4vp.MethodGet, oid4vp.MethodPost:
	default:
		return nil, oid4vp.ErrInvalidRequestURIMethod
	}
	if req.SameDeviceRedirectURI != "" {
		u, err := url.Parse(req.SameDeviceRedirectURI)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" || len(req.SameDeviceRedirectURI) > 2048 {
			return nil, ErrBadRedirect
		}
	}
	now := s.now()
	tx := store.Presentation{
		ID: randomID(), RequestID: randomID(), TenantID: tenantID, Policy: p.Name,
		ResponseMode: mode, Nonce: oid4vp.NewNonce(), State: oid4vp.NewNonce(),
		RedirectURI: req.SameDeviceRedirectURI,
		Events:      []store.PresentationEvent{{Type: "created", At: now}},
		CreatedAt:   now, ExpiresAt: now.Add(s.cfg.TransactionTTL),
	}
	live := &liveTx{tx: tx, venue: v, policy: p}
	r := txRequest{DCQL: p.DCQL, Method: method, Metadata: oid4vp.ClientMetadata{
		VPFormatsSupported: map[string]oid4vp.FormatParams{oid4vp.FormatSDJWTVC: {
			SDJWTAlgs: []string{keys.ES256, keys.EdDSA}, KBJWTAlgs: []string{keys.ES256, keys.EdDSA}}},
	}}
	if mode == oid4vp.DirectPostJWT {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, "internal", "", err)
		}
		raw, err := priv.Bytes()
		if err != nil {
			return nil, errs.Wrap(errs.Internal, "internal", "", err)
		}
		if tx.EncKey, err = s.seal(raw, "enc-key", tx.ID); err != nil {
			return nil, err
		}
		clear(raw)
		jwk, err := keys.JWKFromPublic(&priv.PublicKey)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, "internal", "", err)
		}
		jwk.Alg, jwk.Use, jwk.Kid = oid4vp.JWEAlg, "enc", randomID()[:16]
		r.EncKID = jwk.Kid
		r.Metadata.JWKS = &oid4vp.JWKS{Keys: []keys.JWK{jwk}}
		r.Metadata.EncValues = oid4vp.SupportedEncs
		if live.key, err = priv.ECDH(); err != nil {
			return nil, errs.Wrap(errs.Internal, "internal", "", err)
		}
	}
	if tx.Request, err = json.Marshal(r); err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	if err := s.cfg.Store.CreatePresentation(ctx, tx); err != nil {
		return nil, fmt.Errorf("storing the transaction: %w", err)
	}
	live.tx, live.req = tx, r
	s.txs.put(live)
	requestURI := s.cfg.PublicURL + "/verifier/v1/requests/" + tx.RequestID
	auth := oid4vp.AuthorizationURI(scheme, v.ClientID(), requestURI, method)
	sym, err := qr.EncodeURI(auth)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	png, err := sym.PNG()
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	s.log.InfoContext(ctx, "presentation transaction created", "tenant", tenantID, "policy", p.Name, "mode", mode)
	return &Created{TransactionID: tx.ID, RequestURI: requestURI, AuthorizationRequestURI: auth,
		QRPNG: png, QRSVG: sym.SVG(), ExpiresAt: tx.ExpiresAt}, nil
}

// View is a transaction as the venue sees it.
type View struct {
	TransactionID string                    `json:"transaction_id"`
	Status        string                    `json:"status"`
	Verdict       string                    `json:"verdict,omitempty"`
	Reasons       []string                  `json:"reasons,omitempty"`
	Claims        map[string]any            `json:"claims,omitempty"`
	ClaimNames    []string                  `json:"claim_names,omitempty"`
	Issuer        string                    `json:"issuer,omitempty"`
	VCT           string                    `json:"vct,omitempty"`
	Events        []store.PresentationEvent `json:"events"`
	ExpiresAt     time.Time                 `json:"expires_at"`
}

// Get returns the venue's transaction id. With wait > 0 it waits, up to
// wait (capped at MaxWait) or the context's end, for the transaction to
// leave pending. The shown claim values come with the first answer after
// the verdict and never again. A same-device transaction's result needs
// its response_code (OID4VP §13.3); without it, or for another tenant's
// transaction, it is presentation_not_found.
func (s *Service) Get(ctx context.Context, tenantID, id string, wait time.Duration, responseCode string) (*View, error) {
	wait = min(wait, s.cfg.MaxWait)
	deadline := s.now().Add(wait)
	for {
		tx, err := s.cfg.Store.GetPresentation(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && tx.TenantID != tenantID) {
			return nil, ErrNoPresentation
		}
		if err != nil {
			return nil, err
		}
		now := s.now()
		if tx.Status != store.PresentationPending || !now.Before(tx.ExpiresAt) || !now.Before(deadline) {
			return s.view(ctx, tx, now, responseCode)
		}
		ch := s.subscribe(id)
		// Another instance may finish it: look again at least every 250 ms.
		t := time.NewTimer(min(deadline.Sub(now), tx.ExpiresAt.Sub(now), 250*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			s.unsubscribe(id, ch)
			return nil, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
		s.unsubscribe(id, ch)
	}
}

func (s *Service) view(ctx context.Context, tx store.Presentation, now time.Time, responseCode string) (*View, error) {
	v := &View{TransactionID: tx.ID, Status: tx.Status, Verdict: tx.Verdict, Reasons: tx.Reasons,
		ClaimNames: tx.ClaimNames, Issuer: tx.Issuer, VCT: tx.VCT, Events: tx.Events, ExpiresAt: tx.ExpiresAt}
	if tx.Status == store.PresentationPending {
		if !now.Before(tx.ExpiresAt) {
			v.Status = store.PresentationExpired
		}
		return v, nil
	}
	if tx.RedirectURI != "" {
		h := sha256.Sum256([]byte(responseCode))
		if responseCode == "" || subtle.ConstantTimeCompare(h[:], tx.ResponseCodeHash) != 1 {
			return nil, ErrNoPresentation.With("the result of a same-device transaction needs its response_code", nil)
		}
	}
	u, err := s.cfg.Store.ConsumeSingleUse(ctx, claimsKind, tx.ID, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		plain, err := s.open(u.Data, "claims", tx.ID)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(plain, &v.Claims); err != nil {
			return nil, errs.Wrap(errs.Internal, "internal", "", err)
		}
	}
	return v, nil
}

func (s *Service) subscribe(id string) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[id] = append(s.waiters[id], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) unsubscribe(id string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiters[id]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(s.waiters, id)
	} else {
		s.waiters[id] = ws
	}
}

// notify wakes the waiters of id.
func (s *Service) notify(id string) {
	s.mu.Lock()
	ws := s.waiters[id]
	delete(s.waiters, id)
	s.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}

// seal encrypts plain under the KEK with AES-256-GCM, bound to purpose
// and the transaction ID, so that a blob cannot be moved to another row.
func (s *Service) seal(plain []byte, purpose, id string) ([]byte, error) {
	aead, err := s.aead()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, []byte("ssi-verifier|"+purpose+"|"+id)), nil
}

func (s *Service) open(blob []byte, purpose, id string) ([]byte, error) {
	aead, err := s.aead()
	if err != nil {
		return nil, err
	}
	if len(blob) < aead.NonceSize()+aead.Overhead() {
		return nil, errs.E(errs.Internal, "internal", "a sealed value is corrupt")
	}
	plain, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], []byte("ssi-verifier|"+purpose+"|"+id))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "a sealed value cannot be opened", err)
	}
	return plain, nil
}

// aead is the KEK's AES-256-GCM, made once (its Seal and Open keep no
// state, and are safe for concurrent use).
func (s *Service) aead() (cipher.AEAD, error) { return s.kekAEAD() }

func newKEKAEAD(kek keys.KEK) (cipher.AEAD, error) {
	block, err := aes.NewCipher(kek[:])
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	return aead, nil
}

// encKey opens a transaction's ephemeral private key.
func (s *Service) encKey(tx store.Presentation) (*ecdsa.PrivateKey, error) {
	raw, err := s.open(tx.EncKey, "enc-key", tx.ID)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	return k, nil
}

// adhocPolicyName is the policy name of a transaction of an ad-hoc query.
const adhocPolicyName = "dcql_query"

// adhocPolicy is the policy of an ad-hoc DCQL query: its vcts accepted,
// no rule, every requested claim shown. A query that does not parse, or
// breaks a limit (10,000 claims, a nesting bomb), keeps dcql's code.
func adhocPolicy(raw []byte) (*Policy, error) {
	q, err := dcql.Parse(raw)
	if err != nil {
		return nil, err
	}
	if err := q.CheckFormats(oid4vp.FormatSDJWTVC); err != nil {
		return nil, err
	}
	p := &Policy{Name: adhocPolicyName, DCQL: raw}
	for _, cq := range q.Credentials {
		if len(cq.VCTValues) == 0 {
			return nil, dcql.ErrMissing.With("an ad-hoc query names its vcts", nil)
		}
		for _, vct := range cq.VCTValues {
			if !slices.Contains(p.VCTs, vct) {
				p.VCTs = append(p.VCTs, vct)
			}
		}
		for _, c := range cq.Claims {
			if n := c.Path.Name(); !slices.Contains(p.Show, n) {
				p.Show = append(p.Show, n)
			}
		}
	}
	if err := p.compile(); err != nil {
		return nil, ErrInvalidArgument.With("the query cannot be a policy", err)
	}
	return p, nil
}

// checkAdhoc asks the trust layer whether the venue's registration allows
// what an ad-hoc query asks: over_asking when it does not.
func (s *Service) checkAdhoc(ctx context.Context, v *Venue, p *Policy) error {
	for vct, names := range p.claimNames() {
		d, err := s.cfg.Trust.CheckRP(ctx, v.DID, vct, names)
		if err != nil {
			return trustErr(err)
		}
		if !d.Within {
			return dcql.ErrOverAsking.With("the query asks for more than the venue's registration allows", nil)
		}
	}
	return nil
}

// Run purges, every minute until ctx ends: the transactions that finished
// or expired more than Keep ago (their verdict records), and the expired
// single-use values (the sealed shown claims nobody fetched, the offline
// nonces past their window). It returns ctx's error.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		now := s.now()
		if n, err := s.cfg.Store.PurgePresentations(ctx, now.Add(-s.cfg.Keep)); err != nil {
			s.log.WarnContext(ctx, "purging presentation transactions", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "presentation transactions purged", "n", n)
		}
		if _, err := s.cfg.Store.PurgeSingleUse(ctx, now); err != nil {
			s.log.WarnContext(ctx, "purging single-use values", "err", err)
		}
		s.txs.sweep(now)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
