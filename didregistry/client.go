package didregistry

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
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/trust"
)

// Client reads a registry over HTTP for verifiers and wallets: it resolves
// did:psr DIDs (it is a did.Resolver for the method), and answers
// accreditation and relying-party questions. Answers are cached for a
// bounded time.
//
// With Trust set, the client does not trust the registry server for DID
// documents: each must come with an anchor receipt that verifies offline
// against the pinned validator set and whose entry is exactly this DID,
// this version and the SHA-256 of the served bytes. A pending or missing
// anchor is refused (anchor_required).
type Client struct {
	base  string
	http  *http.Client
	ttl   time.Duration
	trust *trust.Trust
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	res     *did.Resolution
	err     error
	body    []byte
	expires time.Time
}

// ClientOptions configure a Client.
type ClientOptions struct {
	HTTP *http.Client // nil: a client with a 5 s timeout
	// TTL is how long answers are cached, clamped to [1 s, 10 min]; 0 means 60 s.
	TTL time.Duration
	// Trust pins the ledger's validators; nil trusts the registry's word
	// (development only).
	Trust *trust.Trust
	Now   func() time.Time
}

const (
	maxCacheEntries = 4096
	maxResponse     = 512 << 10
)

// Client errors.
var (
	ErrAnchorRequired = errs.E(errs.Forbidden, "anchor_required", "the DID document is not backed by a verifying ledger anchor")
	ErrRegistry       = errs.E(errs.Unavailable, "registry_unavailable", "the registry could not be reached")
)

// NewClient returns a client for the registry at base (e.g. https://registry.example).
func NewClient(base string, o ClientOptions) *Client {
	ttl := o.TTL
	switch {
	case ttl == 0:
		ttl = time.Minute
	case ttl < time.Second:
		ttl = time.Second
	case ttl > 10*time.Minute:
		ttl = 10 * time.Minute
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Client{base: strings.TrimRight(base, "/"), http: hc, ttl: ttl, trust: o.Trust, now: now, cache: map[string]cached{}}
}

var _ did.Resolver = (*Client)(nil)

// Resolve resolves the latest version of a did:psr DID.
func (c *Client) Resolve(ctx context.Context, d string, _ did.ResolveOptions) (*did.Resolution, error) {
	return c.resolve(ctx, d, "")
}

// ResolveAt resolves the version of d in force at t: what a verifier uses
// to check that a credential's key was valid at its iat.
func (c *Client) ResolveAt(ctx context.Context, d string, t time.Time) (*did.Resolution, error) {
	return c.resolve(ctx, d, "?versionTime="+url.QueryEscape(t.UTC().Format(time.RFC3339Nano)))
}

func (c *Client) lookup(key string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok || c.now().After(e.expires) {
		return cached{}, false
	}
	return e, true
}

func (c *Client) store(key string, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= maxCacheEntries {
		now := c.now()
		for k, v := range c.cache {
			if now.After(v.expires) {
				delete(c.cache, k)
			}
		}
		if len(c.cache) >= maxCacheEntries {
			clear(c.cache)
		}
	}
	e.expires = c.now().Add(c.ttl)
	c.cache[key] = e
}

// get fetches path and returns the status and body, at most maxResponse.
func (c *Client) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, ErrRegistry.With("", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, ErrRegistry.With("", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil || len(b) > maxResponse {
		return 0, nil, ErrRegistry.With("the registry's answer is unreadable or too large", err)
	}
	return resp.StatusCode, b, nil
}

// problemError maps a problem document back to a typed error.
func problemError(status int, b []byte) error {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(b, &p)
	switch {
	case status == http.StatusNotFound:
		return did.ErrNotFound
	case status == http.StatusBadRequest && p.Code == "invalid_did":
		return did.ErrInvalidDID
	case status == http.StatusConflict && p.Code == "anchor_mismatch":
		return ErrAnchorMismatch
	case status >= 500:
		return ErrRegistry.With(fmt.Sprintf("the registry answered %d", status), nil)
	}
	return errs.E(errs.Invalid, "registry_refused", fmt.Sprintf("the registry refused the request (%d %s)", status, p.Code))
}

type wireResolution struct {
	Document           jsontext.Value         `json:"didDocument"`
	DocumentMetadata   documentMetadata       `json:"didDocumentMetadata"`
	ResolutionMetadata did.ResolutionMetadata `json:"didResolutionMetadata"`
}

func (c *Client) resolve(ctx context.Context, d, query string) (*did.Resolution, error) {
	if !ValidDID(d) {
		return nil, did.ErrInvalidDID.With("the DID is not a did:psr DID", nil)
	}
	key := "did " + d + query
	if e, ok := c.lookup(key); ok {
		return e.res, e.err
	}
	status, b, err := c.get(ctx, "/1.0/identifiers/"+d+query)
	if err != nil {
		return nil, err // not cached: a network failure is retried
	}
	if status != http.StatusOK && status != http.StatusGone {
		perr := problemError(status, b)
		if status == http.StatusNotFound {
			c.store(key, cached{err: perr})
		}
		return nil, perr
	}
	var w wireResolution
	if err := jsonx.Unmarshal(b, &w, false); err != nil {
		return nil, ErrRegistry.With("the registry's resolution does not parse", err)
	}
	version, err := strconv.ParseUint(w.DocumentMetadata.VersionID, 10, 53)
	if err != nil || version == 0 {
		return nil, ErrRegistry.With("the resolution has no version", err)
	}
	if c.trust != nil {
		if err := c.checkAnchor(d, version, w); err != nil {
			return nil, err
		}
	}
	doc, err := did.ParseDocument(w.Document)
	if err != nil {
		return nil, err
	}
	if doc.ID != d {
		return nil, ErrAnchorRequired.With("the registry served another DID's document", nil)
	}
	res := &did.Resolution{
		Document: doc,
		DocumentMetadata: did.DocumentMetadata{
			VersionID: w.DocumentMetadata.VersionID, Created: w.DocumentMetadata.Created,
			Updated: w.DocumentMetadata.Updated, Deactivated: w.DocumentMetadata.Deactivated,
		},
		ResolutionMetadata: did.ResolutionMetadata{ContentType: did.MediaTypeDIDJSON},
	}
	var rerr error
	if status == http.StatusGone || res.DocumentMetadata.Deactivated {
		res.ResolutionMetadata.Error = "deactivated"
		rerr = did.ErrDeactivated
	}
	c.store(key, cached{res: res, err: rerr})
	return res, rerr
}

func (c *Client) checkAnchor(d string, version uint64, w wireResolution) error {
	a := w.DocumentMetadata.Anchor
	if a == nil || a.Status != "anchored" || a.Receipt == nil {
		return ErrAnchorRequired.With("the document is not anchored yet", nil)
	}
	sum := sha256.Sum256(w.Document)
	e := a.Receipt.Entry
	if e.Kind != trust.KindDIDDocument || e.Subject != d || e.Version != version || e.SHA256 != hex.EncodeToString(sum[:]) {
		return ErrAnchorRequired.With("the anchor receipt is for other content", nil)
	}
	if err := trust.VerifyReceipt(a.Receipt, *c.trust); err != nil {
		return ErrAnchorRequired.With("the anchor receipt does not verify", err)
	}
	return nil
}

// IsAccredited asks whether issuer is accredited for vct at t.
func (c *Client) IsAccredited(ctx context.Context, issuer, vct string, t time.Time) (Decision, error) {
	q := url.Values{"issuer": {issuer}, "vct": {vct}, "at": {t.UTC().Format(time.RFC3339Nano)}}
	var d Decision
	return d, c.getJSON(ctx, "/registry/v1/trust/issuers?"+q.Encode(), &d)
}

// CheckRP asks whether verifier may request claims of vct.
func (c *Client) CheckRP(ctx context.Context, verifier, vct string, claims []string) (RPDecision, error) {
	q := url.Values{"verifier": {verifier}, "vct": {vct}, "claims": {strings.Join(claims, ",")}}
	var d RPDecision
	return d, c.getJSON(ctx, "/registry/v1/trust/relying-parties?"+q.Encode(), &d)
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	key := "get " + path
	if e, ok := c.lookup(key); ok {
		if e.err != nil {
			return e.err
		}
		return json.Unmarshal(e.body, v)
	}
	status, b, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return problemError(status, b)
	}
	if err := jsonx.Unmarshal(b, v, false); err != nil {
		return ErrRegistry.With("the registry's answer does not parse", err)
	}
	c.store(key, cached{body: bytes.Clone(b)})
	return nil
}
