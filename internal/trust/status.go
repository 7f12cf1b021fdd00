package trust

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/statuslist"
)

// StatusResult is a credential's status as a verified, anchored and
// latest status list says it: Value 0 valid, 1 invalid (revoked), 2
// suspended (draft-ietf-oauth-status-list); Version is the list's
// anchored version and Expires its token's exp.
type StatusResult struct {
	Value   uint8
	Version uint64
	Expires time.Time
}

// ErrStatusUnavailable: the status list could not be fetched or read.
var ErrStatusUnavailable = errs.E(errs.Unavailable, "status_unavailable", "the status list could not be fetched")

// ErrStatusListExpired: the status list's exp has passed (served so, or
// cached until then): a stale list says nothing of a credential now. The
// offline check (internal/bundle) reports a bundle's expired list with it
// too.
var ErrStatusListExpired = errs.E(errs.Unauthorized, "status_list_expired", "the status list has expired")

type verifiedList struct {
	list       *statuslist.List
	version    uint64
	expires    time.Time
	cacheUntil time.Time // fresh until then: three quarters of the issuer's ttl, or TTL if sooner
	horizon    time.Time // never used past then: the issuer's ttl (and exp)
	proven     time.Time // its latest-version proof's time
}

// Status fetches (or takes from cache) the status list at uri, checks it
// and reads index idx. The list comes from the issuer's proven endpoint,
// uri + "/latest" (trust.StatusListVersion), and must pass, in order:
//
//  1. its token verifies as a Status List Token (statuslist.Verify): the
//     signature by an assertionMethod key of issuer's DID (did:psr
//     resolved through c, with its own proofs, its latest version or, for
//     a key rotated out since, the version in force at the token's iat:
//     listKey; other methods through Options.Resolver), typ, sub == uri, iat, an exp that has not passed
//     (one is required), and iss, when present, == issuer;
//  2. its SHA-256 is the entry of its anchor receipt for version Version
//     of the status-list subject uri, verified against the pinned
//     validators;
//  3. the list's latest-version proof (no older than MaxAge) shows that
//     version as the latest: an issuer that serves the list from before a
//     revocation is refused (stale_version).
//
// A verified list is cached fresh for three quarters of its ttl (the
// token's, clamped by statuslist) or TTL, whichever is first; then it is
// still served while one refresh runs, but never past its ttl nor its exp.
// Errors: status_unverifiable (the token; the cause says why),
// status_list_expired (a token signed by the issuer whose exp has passed),
// status_unavailable, hash_not_anchored (the served token is not the
// version its receipt anchors), anchor_required, stale_version, proof_too_old,
// receipt_unverified, proof_unverified, invalid_receipt,
// invalid_latest_proof, invalid_trust, status_index_out_of_range
// for an idx the list does not hold, or registry_refused (the issuer
// refused the request).
func (c *Client) Status(ctx context.Context, issuer, uri string, idx int) (StatusResult, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return StatusResult{}, statuslist.ErrUnverifiable.With("the status list uri is not an http(s) URL", err)
	}
	if err := ValidSubject(KindStatusList, uri); err != nil {
		return StatusResult{}, statuslist.ErrUnverifiable.With("the status list uri cannot be anchored", err)
	}
	key := "status " + issuer + " " + uri
	vl, err := cachedOr(c, ctx, key, func() func(context.Context) (verifiedList, error) {
		return func(ctx context.Context) (verifiedList, error) { return c.fetchList(ctx, issuer, uri) }
	})
	if err != nil {
		return StatusResult{}, err
	}
	if !c.now().Before(vl.expires) {
		return StatusResult{}, ErrStatusListExpired
	}
	v, err := vl.list.Get(idx)
	if err != nil {
		return StatusResult{}, err
	}
	return StatusResult{Value: v, Version: vl.version, Expires: vl.expires}, nil
}

func (c *Client) fetchList(ctx context.Context, issuer, uri string) (verifiedList, error) {
	status, _, b, err := c.fetch(ctx, strings.TrimRight(uri, "/")+"/latest", "application/json")
	if err != nil {
		return verifiedList{}, ErrStatusUnavailable.With("", err)
	}
	if status != http.StatusOK {
		if status == http.StatusNotFound || status >= 500 {
			return verifiedList{}, ErrStatusUnavailable.With("the issuer has no proven status list there", nil)
		}
		return verifiedList{}, problemError(status, b)
	}
	vl, err := c.verifyStatusList(ctx, issuer, uri, b)
	if err != nil {
		return verifiedList{}, err
	}
	// Fresh for three quarters of the issuer's ttl, so that its refresh
	// (revalidate) starts while the list may still be used; never used past
	// the ttl itself, even while a refresh fails: the issuer asked consumers
	// to fetch it again by then (the Token Status List's ttl).
	c.storeProven("status "+issuer+" "+uri, vl, nil, vl.cacheUntil, vl.proven, vl.horizon)
	return vl, nil
}

// verifyStatusList checks an issuer's answer b for the list at uri (steps
// 1 to 3 of Status). It never panics on any input.
func (c *Client) verifyStatusList(ctx context.Context, issuer, uri string, b []byte) (verifiedList, error) {
	var w StatusListVersion
	if err := jsonx.Unmarshal(b, &w, false); err != nil {
		return verifiedList{}, ErrStatusUnavailable.With("the issuer's answer does not parse", err)
	}
	tok, err := statuslist.Verify(w.Token, statuslist.VerifyOptions{
		URI: uri, Key: c.listKey(ctx, issuer), Now: c.now, RequireExp: true,
	})
	if errors.Is(err, jose.ErrExpired) {
		// Signed by the issuer, but past its exp: its own code, not a
		// forgery's.
		return verifiedList{}, ErrStatusListExpired.With("", err)
	}
	if err != nil {
		return verifiedList{}, err
	}
	if tok.Issuer != "" && tok.Issuer != issuer {
		return verifiedList{}, statuslist.ErrUnverifiable.With("the status list's iss is not the credential's issuer", nil)
	}
	sum := sha256.Sum256([]byte(w.Token))
	var p proven
	if err := c.checkServed(&w.Anchor, KindStatusList, uri, w.Version, hex.EncodeToString(sum[:]), time.Time{}, nil, &p); err != nil {
		return verifiedList{}, err
	}
	now := c.now()
	horizon := tok.CacheUntil(now)
	return verifiedList{list: tok.List, version: w.Version, expires: tok.ExpiresAt,
		cacheUntil: minTime(now.Add(horizon.Sub(now)*3/4), now.Add(c.ttl)), horizon: horizon, proven: p.oldest}, nil
}

// listKey finds the key of issuer that signed a status list token. A key
// of the issuer's latest version is it. Otherwise, for a did:psr issuer
// that is not deactivated, a key the issuer has since rotated out is
// still valid for a list signed while it was in force: the version in
// force at some instant of the token's (unverified) iat second, as for a
// credential (docs/did-method.md §4), found by ResolveAt with its proofs.
// A rotated key is not a compromised one, and the list must still be the
// latest version the issuer's ledger writer anchored (checkServed), which
// a holder of a retired key cannot make; a compromised key is dealt with
// by deactivating the DID, whose lists then verify under no key. An iat
// that lies only finds a key whose signature then fails, and
// statuslist.Verify refuses an iat in the future.
func (c *Client) listKey(ctx context.Context, issuer string) jose.KeyLookup {
	latest := did.JOSEKeyLookup(ctx, resolverFunc(c.resolveAny), issuer)
	return func(h *jose.Header, payload []byte) (jose.PublicKey, error) {
		k, err := latest(h, payload)
		if !strings.HasPrefix(issuer, psrPrefix) || !errors.Is(err, did.ErrUnknownKey) || !strings.HasPrefix(h.Kid, issuer+"#") {
			return k, err
		}
		claims, cerr := jose.ParseClaims(payload)
		if cerr != nil {
			return k, err
		}
		iat, ok, cerr := claims.NumericDate("iat")
		if cerr != nil || !ok || iat.After(c.now()) {
			return k, err
		}
		key, _, kerr := KeyInSecond(ctx, c.ResolveAt, issuer, h.Kid, iat)
		switch {
		case kerr == nil:
			return key, nil
		case IsKeyError(kerr), errors.Is(kerr, did.ErrNotFound):
			return k, err
		default:
			return jose.PublicKey{}, kerr
		}
	}
}

// resolveAny resolves did:psr through c and other methods through the
// configured resolver.
func (c *Client) resolveAny(ctx context.Context, d string, o did.ResolveOptions) (*did.Resolution, error) {
	if strings.HasPrefix(d, psrPrefix) {
		return c.Resolve(ctx, d, o)
	}
	return c.resolver.Resolve(ctx, d, o)
}

type resolverFunc func(ctx context.Context, d string, o did.ResolveOptions) (*did.Resolution, error)

func (f resolverFunc) Resolve(ctx context.Context, d string, o did.ResolveOptions) (*did.Resolution, error) {
	return f(ctx, d, o)
}
