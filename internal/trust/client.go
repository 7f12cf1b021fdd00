package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// Options configure a Client.
type Options struct {
	// Trust pins the ledger's validators. Every answer is checked down to
	// it; a zero Trust makes every check fail (invalid_trust).
	Trust Trust
	// HTTP is the client for the registry (and the issuers' status lists);
	// nil: a client with a 5 s timeout.
	HTTP *http.Client
	// Now is the clock proofs' ages are measured with; nil: time.Now.
	Now func() time.Time
	// TTL is how long verified answers are cached, clamped to [1 s, 10 min];
	// 0 means 60 s. Past it, an answer resting on latest-version proofs is
	// still served while one refresh runs in the background (callers do not
	// wait on the registry), until its oldest proof's time + MaxAge + TTL,
	// the bound below; a failed refresh leaves that bound as it was.
	TTL time.Duration
	// MaxAge is the oldest a latest-version proof's signed header may be
	// when the client checks it; 0 means 30 s. It bounds how long after a
	// key rotation or a deactivation a registry can still pass off the
	// version before it as current (plus TTL, for a cached answer).
	MaxAge time.Duration
	// RegistryURL is the registry's public URL, under which its records
	// are anchored and which relying-party control proofs name as their
	// audience; "" means registryBase.
	RegistryURL string
	// Resolver resolves the verifier DIDs of methods other than did:psr,
	// whose recorded control proofs CheckRP checks again; nil: did:key and
	// did:jwk only.
	Resolver did.Resolver
}

// Client is the consumer side of the registry, for verifiers and wallets:
// it resolves did:psr DIDs (it is a did.Resolver for the method) without
// trusting the registry server. Each document must come with its anchor
// receipt and a proof of its DID's latest anchored version, both verified
// offline against the pinned validators: the receipt's entry is exactly
// this DID, this version and the SHA-256 of the served bytes, and the
// proof (no older than MaxAge) shows that version as the latest, or, for a
// version in force at an earlier instant (ResolveAt), a newer one whose
// successor's receipt shows it superseded only after that instant.
// Answers are cached for TTL, then served stale while they are refreshed,
// within the bound Options.MaxAge sets (Options.TTL).
type Client struct {
	base     string
	http     *http.Client
	trust    Trust
	now      func() time.Time
	ttl      time.Duration
	maxAge   time.Duration
	records  string // the registry's public URL, without a trailing slash
	resolver did.Resolver

	mu     sync.Mutex
	flight singleflight.Group // cache misses being fetched, by cache key
	cache  map[string]cachedAnswer
	chains map[string][]string // did:psr DID → the digests of its versions, verified by replay
}

// cachedAnswer is a cached answer: fresh until expires; after that,
// until usable, stale: still served, while one refresh runs in the
// background (started no more than once a second), so that no caller
// waits on it. usable is never later than the proofs the answer rests on
// allow (storeProven); a failed refresh leaves it as it was.
type cachedAnswer struct {
	val     any
	err     error
	expires time.Time
	usable  time.Time
	retry   time.Time // no refresh is started before then
}

// proven collects the oldest latest-version proof an answer rests on: the
// ledger state it shows is no older than that proof's header.
type proven struct{ oldest time.Time }

func (p *proven) note(t time.Time) {
	if p != nil && (p.oldest.IsZero() || t.Before(p.oldest)) {
		p.oldest = t
	}
}

const (
	maxCacheEntries = 4096
	maxResponse     = 1 << 20
	psrPrefix       = "did:psr:"
)

// Errors of the client. A registry's refusal keeps its code where the
// client knows it (did_not_found, invalid_did), else registry_refused.
var (
	ErrAnchorRequired  = errs.E(errs.Forbidden, "anchor_required", "the answer is not backed by a verifying ledger anchor")
	ErrRegistry        = errs.E(errs.Unavailable, "registry_unavailable", "the registry could not be reached")
	ErrRegistryRefused = errs.E(errs.Invalid, "registry_refused", "the registry refused the request")
	// ErrHashNotAnchored: the served content is not what is anchored for
	// its version (its SHA-256 differs from the verified receipt's): a
	// registry or issuer serving something else than it anchored
	// (SECURITY-CASES E55).
	ErrHashNotAnchored = errs.E(errs.Forbidden, "hash_not_anchored", "the served content is not the version anchored for it")
)

// NewClient returns a client of the registry at registryBase (e.g.
// https://registry.example).
func NewClient(registryBase string, o Options) *Client {
	ttl := o.TTL
	switch {
	case ttl == 0:
		ttl = time.Minute
	case ttl < time.Second:
		ttl = time.Second
	case ttl > 10*time.Minute:
		ttl = 10 * time.Minute
	}
	maxAge := o.MaxAge
	if maxAge <= 0 {
		maxAge = 30 * time.Second
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	base := strings.TrimRight(registryBase, "/")
	records := strings.TrimRight(o.RegistryURL, "/")
	if records == "" {
		records = base
	}
	res := o.Resolver
	if res == nil {
		res = did.NewRouter().Handle("key", did.KeyResolver{}).Handle("jwk", did.JWKResolver{})
	}
	return &Client{base: base, http: hc, trust: o.Trust, now: now, ttl: ttl, maxAge: maxAge,
		records: records, resolver: res, cache: map[string]cachedAnswer{}, chains: map[string][]string{}}
}

var _ did.Resolver = (*Client)(nil)

// Resolve resolves the latest version of a did:psr DID. A deactivated DID
// returns its resolution with did.ErrDeactivated. Besides the anchors, the
// version must be what the DID's controller-signed operations make,
// replayed from its creation (verifyChain): a version the registry
// anchored without a controller's signature is did_chain_unverified.
// Refusals: invalid_did;
// did_not_found; registry_unavailable, registry_refused; anchor_required
// (no receipt or proof, or one for another entry); hash_not_anchored (the
// verified receipt anchors other bytes for this version); receipt_unverified,
// invalid_receipt, proof_unverified, invalid_latest_proof, invalid_trust;
// proof_too_old (the proof is older than MaxAge, or predates the served
// version); stale_version (a newer version is anchored: the registry
// served a superseded document as current).
func (c *Client) Resolve(ctx context.Context, d string, _ did.ResolveOptions) (*did.Resolution, error) {
	return c.resolve(ctx, d, time.Time{})
}

// ResolveAt resolves the version of d in force at at: what a verifier uses
// to check that a credential's key was valid at its iat. The served
// version is checked as Resolve checks it, except that it may be older
// than the latest: then the receipt of its successor must show that it was
// superseded after at (stale_version otherwise). A version newer than the
// one in force at at is not refused (a registry that does so can only
// make a verification fail).
func (c *Client) ResolveAt(ctx context.Context, d string, at time.Time) (*did.Resolution, error) {
	if at.IsZero() {
		return nil, ErrRegistryRefused.With("no instant to resolve at", nil)
	}
	return c.resolve(ctx, d, at.UTC())
}

// shared runs fetch for key once among the concurrent callers that
// missed the cache (a verifier under load asks for the same answers in
// every request): one fetch and one verification, whose outcome all of
// them get. The fetch runs under ctx without its cancellation (its HTTP
// client's timeout bounds it), as callers other than the first wait on
// it.
func shared[T any](c *Client, ctx context.Context, key string, fetch func(context.Context) (T, error)) (T, error) {
	v, err, _ := c.flight.Do(key, func() (any, error) {
		return fetch(context.WithoutCancel(ctx))
	})
	t, _ := v.(T)
	return t, err
}

// lookup returns key's cached answer while it may be used: fresh, or
// stale (past its expiry, not past usable). refresh is true for the one
// caller that should start the answer's refresh (revalidate): the first
// to find it stale, then one a second while the refreshes fail.
func (c *Client) lookup(key string) (e cachedAnswer, ok, refresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok = c.cache[key]
	now := c.now()
	if !ok || now.After(e.usable) {
		return cachedAnswer{}, false, false
	}
	if now.After(e.expires) && !now.Before(e.retry) {
		refresh = true
		e.retry = now.Add(time.Second)
		c.cache[key] = e
	}
	return e, true, refresh
}

// revalidate runs fetch for key in the background, as one shared fetch
// (shared): a caller that misses the cache meanwhile waits on this one.
// fetch caches what it gets; a failure leaves the stale answer as it is.
func revalidate[T any](c *Client, ctx context.Context, key string, fetch func(context.Context) (T, error)) {
	c.flight.DoChan(key, func() (any, error) {
		return fetch(context.WithoutCancel(ctx))
	})
}

// cachedOr returns key's cached answer (fresh, or stale while one refresh
// runs: lookup, revalidate) or, on a miss, what the one shared fetch
// gets. fetch makes the fetch, only when it is needed, so a cache hit
// allocates nothing.
func cachedOr[T any](c *Client, ctx context.Context, key string, fetch func() func(context.Context) (T, error)) (T, error) {
	if e, ok, refresh := c.lookup(key); ok {
		if refresh {
			revalidate(c, ctx, key, fetch())
		}
		v, _ := e.val.(T)
		return v, e.err
	}
	return shared(c, ctx, key, fetch())
}

func (c *Client) store(key string, val any, err error) {
	c.storeUntil(key, val, err, c.now().Add(c.ttl))
}

// storeUntil caches an answer until expires, with no stale use after.
func (c *Client) storeUntil(key string, val any, err error, expires time.Time) {
	c.storeProven(key, val, err, expires, time.Time{}, time.Time{})
}

// storeProven caches an answer that rests on proofs, the oldest of which
// is p, until expires; then it is served stale while it is refreshed, up
// to the bound the client promises for a cached answer (Options.MaxAge):
// the state it shows is never more than MaxAge + TTL old, and never past
// limit (when not zero, e.g. a status list's exp).
func (c *Client) storeProven(key string, val any, err error, expires time.Time, p time.Time, limit time.Time) {
	usable := expires
	if bound := p.Add(c.maxAge + c.ttl); !p.IsZero() && bound.After(usable) {
		usable = bound
	}
	if !limit.IsZero() && usable.After(limit) {
		usable = limit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.cache) >= maxCacheEntries {
		for k, v := range c.cache {
			if now.After(v.usable) {
				delete(c.cache, k)
			}
		}
		if len(c.cache) >= maxCacheEntries {
			clear(c.cache)
		}
	}
	c.cache[key] = cachedAnswer{val: val, err: err, expires: expires, usable: usable}
}

// get fetches path on the registry and returns the status and body (at
// most maxResponse).
func (c *Client) get(ctx context.Context, path, accept string) (int, http.Header, []byte, error) {
	return c.fetch(ctx, c.base+path, accept)
}

func (c *Client) fetch(ctx context.Context, u, accept string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, nil, ErrRegistry.With("", err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, ErrRegistry.With("", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil || len(b) > maxResponse {
		return 0, nil, nil, ErrRegistry.With("the answer is unreadable or too large", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// problemError maps a server's problem document back to a typed error.
// The server's detail is not carried (it is not trusted, and could carry
// anything into a log).
func problemError(status int, b []byte) error {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &p)
	switch {
	case status == http.StatusNotFound:
		return did.ErrNotFound
	case status == http.StatusBadRequest && p.Code == "invalid_did":
		return did.ErrInvalidDID
	case status >= 500:
		return ErrRegistry.With(fmt.Sprintf("the server answered %d", status), nil)
	}
	code := p.Code
	if len(code) > 64 || strings.ContainsFunc(code, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z') }) {
		code = ""
	}
	return ErrRegistryRefused.With(fmt.Sprintf("the server refused the request (%d %s)", status, code), nil)
}

// MediaResolution is the media type of a DID resolution result.
const MediaResolution = `application/ld+json;profile="https://w3id.org/did-resolution"`

type wireResolution struct {
	Document         jsontext.Value `json:"didDocument"`
	DocumentMetadata struct {
		VersionID   string     `json:"versionId"`
		Created     *time.Time `json:"created"`
		Updated     *time.Time `json:"updated"`
		Deactivated bool       `json:"deactivated"`
		Anchor      *Anchor    `json:"anchor"`
	} `json:"didDocumentMetadata"`
}

type resolved struct{ res *did.Resolution }

func (c *Client) resolve(ctx context.Context, d string, at time.Time) (*did.Resolution, error) {
	if _, err := did.Parse(d); err != nil || !strings.HasPrefix(d, psrPrefix) {
		return nil, did.ErrInvalidDID.With("the DID is not a did:psr DID", nil)
	}
	path := "/1.0/identifiers/" + d
	if !at.IsZero() {
		path += "?versionTime=" + url.QueryEscape(at.Format(time.RFC3339Nano))
	}
	key := "did " + path
	// fetch is made only on a miss or a refresh: a cache hit allocates
	// nothing.
	fetch := func() func(context.Context) (resolvedOrErr, error) {
		return func(ctx context.Context) (resolvedOrErr, error) {
			res, err := c.fetchResolution(ctx, d, at, path, key)
			return resolvedOrErr{res, err}, nil
		}
	}
	if e, ok, refresh := c.lookup(key); ok {
		if refresh {
			revalidate(c, ctx, key, fetch())
		}
		res, _ := e.val.(resolved)
		return res.res, e.err
	}
	r, err := shared(c, ctx, key, fetch())
	if err != nil {
		return nil, err
	}
	return r.res, r.err
}

// resolvedOrErr is a resolution with its error: a deactivated DID has both.
type resolvedOrErr struct {
	res *did.Resolution
	err error
}

// fetchResolution is resolve's cache miss: fetch, verify, cache.
func (c *Client) fetchResolution(ctx context.Context, d string, at time.Time, path, key string) (*did.Resolution, error) {
	status, _, b, err := c.get(ctx, path, MediaResolution)
	if err != nil {
		return nil, err // not cached: a network failure is retried
	}
	if status != http.StatusOK && status != http.StatusGone {
		perr := problemError(status, b)
		if status == http.StatusNotFound {
			c.store(key, resolved{}, perr)
		}
		return nil, perr
	}
	var p proven
	res, sum, rerr := c.verifyResolution(d, at, status == http.StatusGone, b, &p)
	if res == nil {
		return nil, rerr // a refusal is not cached: the registry may serve a provable answer soon
	}
	version, _ := strconv.ParseUint(res.DocumentMetadata.VersionID, 10, 53)
	if err := c.verifyChain(ctx, d, version, sum); err != nil {
		return nil, err
	}
	c.storeProven(key, resolved{res}, rerr, c.now().Add(c.ttl), p.oldest, time.Time{})
	return res, rerr
}

// LedgerClockSkew is how far the registry's clock, which dates its
// changes, may run ahead of the validators', which date the blocks: the
// allowance on the ledger's upper bound of when a change was made.
const LedgerClockSkew = 2 * time.Second

// MaxBlockInterval is the most the header that proves a receipt is taken
// to follow the entry's own time (its block's BFT time) as the ledger's
// bound on when it had the entry. The header's time alone is not a bound
// a registry cannot move: the log only grows, so a receipt of the same
// entry verifies against any later header too; capped so, a registry
// that serves one gains at most this much over the entry's time.
const MaxBlockInterval = 10 * time.Second

// checkServed checks the anchor a server sent with a version it served:
// version version of (kind, subject), whose content has the SHA-256
// digest sum (hex). With at zero the version must be the latest anchored;
// otherwise the one in force at at: not superseded before it, as
// supersededAt tells from the next version's verified receipt and bound,
// the latest instant the ledger allows for that change. The bound is the
// time of the header that proves the next version's receipt (the ledger
// had the change by then; the entry's own block time can precede the
// change by a block interval, so it is not a bound), capped at the entry's
// time + MaxBlockInterval (the receipt may have been built against a later
// header), plus LedgerClockSkew.
//
// The latest-version proof's time is noted in p.
func (c *Client) checkServed(a *Anchor, kind, subject string, version uint64, sum string, at time.Time, supersededAt func(next *Receipt, bound time.Time) (time.Time, error), p *proven) error {
	if a == nil || a.Status != AnchorAnchored || a.Receipt == nil {
		return ErrAnchorRequired.With("the version is not anchored yet", nil)
	}
	e := a.Receipt.Entry
	if e.Kind != kind || e.Subject != subject || e.Version != version {
		return ErrAnchorRequired.With("the anchor receipt is for another entry", nil)
	}
	if err := VerifyReceipt(a.Receipt, c.trust); err != nil {
		return err
	}
	// The receipt is the ledger's word on this version: other bytes are a
	// lie, not a missing anchor.
	if e.SHA256 != sum {
		return ErrHashNotAnchored
	}
	if a.Latest == nil {
		return ErrAnchorRequired.With("no latest-version proof was served", nil)
	}
	l, err := VerifyLatest(a.Latest, c.trust)
	if err != nil {
		return err
	}
	if err := l.FreshAt(c.now(), c.maxAge); err != nil {
		return err
	}
	p.note(l.Time)
	if l.Kind != kind || l.Subject != subject {
		return ErrProofUnverified.With("the latest-version proof is for another subject", nil)
	}
	var latest uint64
	if l.State != nil {
		latest = l.State.Version
	}
	switch {
	case latest < version:
		return ErrProofTooOld.With("the latest-version proof predates the served version", nil)
	case latest == version:
		if l.State.SHA256 != sum || !bytes.Equal(l.State.LeafHash, e.LeafHash()) || l.State.LeafIndex != a.Receipt.LeafIndex {
			return ErrProofUnverified.With("the latest state names another entry than the receipt", nil)
		}
		return nil
	case at.IsZero():
		return ErrStaleVersion.With("a newer version than the one served is anchored", nil)
	}
	n := a.Next
	if n == nil {
		return ErrStaleVersion.With("a newer version is anchored and nothing shows when the served one was superseded", nil)
	}
	if n.Entry.Kind != kind || n.Entry.Subject != subject || n.Entry.Version != version+1 {
		return ErrAnchorRequired.With("the next version's receipt is for another entry", nil)
	}
	recorded, err := verifyReceipt(n, c.trust)
	if err != nil {
		return err
	}
	// The header may be any later one (MaxBlockInterval): the bound is
	// also at most the entry's own time + MaxBlockInterval.
	until, err := supersededAt(n, minTime(recorded, n.Entry.Time.Add(MaxBlockInterval)).Add(LedgerClockSkew))
	if err != nil {
		return err
	}
	if !until.After(at) {
		return ErrStaleVersion.With("the served version was superseded before the instant asked", nil)
	}
	return nil
}

// verifyResolution checks a registry's resolution answer b for d (at zero:
// the latest version; else the version in force at at): see Resolve. gone
// says the registry answered 410. It returns the resolution, with
// did.ErrDeactivated for a deactivated DID, and the SHA-256 (hex) of its
// document, or nil and the refusal. It never panics on any input.
func (c *Client) verifyResolution(d string, at time.Time, gone bool, b []byte, p *proven) (*did.Resolution, string, error) {
	var w wireResolution
	if err := jsonx.Unmarshal(b, &w, false); err != nil {
		return nil, "", ErrRegistry.With("the resolution does not parse", err)
	}
	version, err := strconv.ParseUint(w.DocumentMetadata.VersionID, 10, 53)
	if err != nil || version == 0 {
		return nil, "", ErrAnchorRequired.With("the resolution has no version", err)
	}
	digest := sha256.Sum256(w.Document)
	sum := hex.EncodeToString(digest[:])
	// A did:psr document carries no date: the registry dates a version when
	// it stores it (and resolves versionTime by that), and only the
	// ledger's bound can be checked.
	supersededAt := func(_ *Receipt, bound time.Time) (time.Time, error) { return bound, nil }
	if err := c.checkServed(w.DocumentMetadata.Anchor, KindDIDDocument, d, version, sum, at, supersededAt, p); err != nil {
		return nil, "", err
	}
	doc, err := did.ParseDocument(w.Document)
	if err != nil {
		return nil, "", err
	}
	if doc.ID != d {
		return nil, "", ErrAnchorRequired.With("the registry served another DID's document", nil)
	}
	res := &did.Resolution{
		Document: doc,
		DocumentMetadata: did.DocumentMetadata{
			VersionID: w.DocumentMetadata.VersionID, Created: w.DocumentMetadata.Created,
			Updated: w.DocumentMetadata.Updated, Deactivated: w.DocumentMetadata.Deactivated,
		},
		ResolutionMetadata: did.ResolutionMetadata{ContentType: did.MediaTypeDIDJSON},
	}
	// The metadata is the server's word; the anchored document is not. A
	// did:psr version that is not deactivated always keeps a
	// capabilityInvocation key (docs/did-method.md), and the deactivated
	// version has none: a deactivated document served as active is still
	// deactivated.
	var rerr error
	if gone || res.DocumentMetadata.Deactivated || len(doc.CapabilityInvocation) == 0 {
		res.DocumentMetadata.Deactivated = true
		res.ResolutionMetadata.Error = "deactivated"
		rerr = did.ErrDeactivated
	}
	return res, sum, rerr
}
