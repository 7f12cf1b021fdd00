package issuer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
)

// DPoP (RFC 9449): sender-constrained access tokens. A wallet that sends a
// DPoP proof with its token request gets a token bound to the proof's key
// (token_type DPoP; the key's RFC 7638 thumbprint is stored with the
// token), and must then present that token with the DPoP scheme and a
// fresh proof of the same key, over the token, at the credential
// endpoint. Server-provided nonces (RFC 9449 §8) are not used: freshness
// rests on iat and a single-use jti.

// DPoPTyp is the typ of a DPoP proof JWT (RFC 9449 §4.2).
const DPoPTyp = "dpop+jwt"

// DPoPAlgs are the algorithms a DPoP proof may be signed with, as
// dpop_signing_alg_values_supported advertises them.
var DPoPAlgs = []string{keys.ES256}

// The time window of a DPoP proof's iat, and the bounds of what it carries.
const (
	dpopMaxAge    = 60 * time.Second // how old iat may be
	dpopMaxFuture = 5 * time.Second  // how far ahead of our clock iat may be
	dpopMaxSize   = 8 << 10
	dpopMaxJTI    = 256
)

// dpopJTIKind is the single-use kind under which used jti values are kept
// until no proof carrying them could be fresh any more.
const dpopJTIKind = "dpop_jti"

// ErrInvalidDPoPProof: a DPoP proof is missing, malformed, fails a check
// or was used before (RFC 9449 §5 and §7.1). It is 400 at the token
// endpoint; the credential endpoint reports it as 401, see resourceError.
var ErrInvalidDPoPProof = errs.E(errs.Invalid, "invalid_dpop_proof", "the DPoP proof is missing or invalid")

// errBoundToken marks the refusal of a DPoP-bound access token presented
// without the DPoP scheme, so that the challenge names DPoP.
var errBoundToken = errors.New("the access token is bound to a DPoP key")

// resourceError is a DPoP error as the credential endpoint (a protected
// resource) reports it: 401, with the same code. Other errors (a store
// failure) pass unchanged.
func resourceError(err error) error {
	var e *errs.Error
	if !errors.Is(err, ErrInvalidDPoPProof) || !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Kind = errs.Unauthorized
	return &c
}

// dpopRequest is what a proof must match: the request's method and URL
// and, at a protected resource, the access token it is sent with.
type dpopRequest struct {
	htm string
	htu string // the endpoint's URL, from the configured public URL
	// token is the access token whose hash ath must carry; "" at the token
	// endpoint, where ath must be absent.
	token string
}

// dpopProof is a checked DPoP proof: its key's thumbprint, and the jti
// and iat to record it as used.
type dpopProof struct {
	jkt string
	jti string
	iat time.Time
}

// checkDPoP checks the DPoP header values of a request (RFC 9449 §4.3):
// exactly one proof; typ dpop+jwt; an alg of DPoPAlgs (never none or a
// MAC); a public jwk header (no private member, no kid, x5c, jku or x5u)
// that verifies the signature; htm and htu matching want (htu compared
// without query and fragment, scheme and host case-insensitively, a
// default port the same as none); an iat no older than dpopMaxAge and no
// further ahead than dpopMaxFuture; a jti; and ath as want says. It
// changes nothing: the jti is recorded by useDPoP at the token endpoint,
// and by useDPoPs in the record transaction at the credential endpoint.
// Every failure is
// ErrInvalidDPoPProof.
func checkDPoP(values []string, want dpopRequest, now time.Time) (dpopProof, error) {
	if len(values) != 1 {
		return dpopProof{}, ErrInvalidDPoPProof.With("a request carries exactly one DPoP header", nil)
	}
	j, err := jose.Verify(values[0], jose.VerifyOptions{Typ: []string{DPoPTyp}, Algs: DPoPAlgs,
		HeaderJWKIsHolderKey: true, MaxSize: dpopMaxSize})
	if err != nil {
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof does not verify ("+errs.CodeOf(err)+")", err)
	}
	c, err := j.Claims()
	if err != nil {
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof claims are malformed", err)
	}
	jti, ok, err := c.String("jti")
	if err != nil || !ok || jti == "" || len(jti) > dpopMaxJTI {
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof needs a jti of 1 to 256 characters", err)
	}
	if htm, _, _ := c.String("htm"); htm != want.htm {
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof's htm is not this request's method", nil)
	}
	htu, _, _ := c.String("htu")
	got, ok := normalizeHTU(htu)
	if exp, _ := normalizeHTU(want.htu); !ok || got != exp {
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof's htu is not this endpoint", nil)
	}
	iat, ok, err := c.NumericDate("iat")
	switch {
	case err != nil || !ok:
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof needs an integer iat", err)
	case now.Sub(iat) > dpopMaxAge:
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof is not fresh", nil)
	case iat.Sub(now) > dpopMaxFuture:
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof is issued in the future", nil)
	}
	ath, hasATH, err := c.String("ath")
	switch {
	case err != nil:
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof's ath must be a string", err)
	case want.token == "" && hasATH:
		return dpopProof{}, ErrInvalidDPoPProof.With("a DPoP proof for a token request carries no ath", nil)
	case want.token != "" && subtle.ConstantTimeCompare([]byte(ath), []byte(tokenHashB64(want.token))) != 1:
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof's ath is not the hash of this access token", nil)
	}
	jkt, err := j.HeaderJWK.Thumbprint()
	if err != nil {
		return dpopProof{}, ErrInvalidDPoPProof.With("the DPoP proof key has no thumbprint", err)
	}
	return dpopProof{jkt: jkt, jti: jti, iat: iat}, nil
}

// tokenHashB64 is the ath of an access token: base64url(SHA-256(token)).
func tokenHashB64(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// normalizeHTU returns an http(s) URL without query and fragment, with
// its scheme and host in lower case and a default port removed, so that
// two spellings of the same endpoint compare equal (RFC 9449 §4.3,
// RFC 3986 §6.2.2 and §6.2.3). ok is false for anything else.
func normalizeHTU(raw string) (string, bool) {
	if raw == "" || len(raw) > 2048 {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if scheme != "https" && scheme != "http" || host == "" {
		return "", false
	}
	if port == "443" && scheme == "https" || port == "80" && scheme == "http" {
		port = ""
	}
	if strings.Contains(host, ":") { // an IPv6 literal
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// useDPoPs records, in the record transaction tx, the jti of every job
// with a DPoP proof as used, as useDPoP does, in one statement for the
// group. A job whose jti was used before, or by another job of the group,
// gets invalid_dpop_proof (401) in res and no record. The jti is spent
// even if the request then fails on its c_nonce or token: the proof has
// been presented.
func (s *Service) useDPoPs(ctx context.Context, tx Tx, jobs []*recordJob, res []recordOutcome, now time.Time) error {
	// A proof is checked for freshness when its request arrives, but its
	// jti is recorded only here (at now), after the request may have
	// waited for its group: checked again, a proof is never recorded after
	// the record of its earlier use could have been purged.
	var us []store.SingleUse
	for i, j := range jobs {
		switch {
		case j.dpop == nil:
		case now.Sub(j.dpop.iat) > dpopMaxAge:
			res[i].Err = resourceError(ErrInvalidDPoPProof.With("the DPoP proof is not fresh", nil))
		default:
			us = append(us, j.dpop.singleUse())
		}
	}
	if len(us) == 0 {
		return nil
	}
	stored, err := tx.PutSingleUses(ctx, dpopJTIKind, us)
	if err != nil {
		return err
	}
	for i, j := range jobs {
		if j.dpop == nil || res[i].Err != nil {
			continue
		}
		if v := j.dpop.singleUse().Value; stored[v] {
			delete(stored, v) // a second job with the same proof is a replay
			continue
		}
		res[i].Err = resourceError(ErrInvalidDPoPProof.With("the DPoP proof was used before", nil))
	}
	return nil
}

// dpopJTIKeep is how long after its proof's iat a used jti is kept: past
// the freshness window, with a margin for the clocks of several issuer
// instances sharing one database.
const dpopJTIKeep = dpopMaxAge + dpopMaxFuture + time.Minute

// singleUse is how p's jti is kept as used: scoped to its key, until no
// proof carrying it could still be fresh.
func (p dpopProof) singleUse() store.SingleUse {
	return store.SingleUse{Kind: dpopJTIKind, Value: p.jkt + "." + p.jti, ExpiresAt: p.iat.Add(dpopJTIKeep)}
}

// useDPoP records p's jti as used, scoped to its key, until no proof
// carrying it could still be fresh. A jti seen before is
// ErrInvalidDPoPProof: of concurrent requests with one proof, exactly one
// gets past this.
func (s *Service) useDPoP(ctx context.Context, p dpopProof) error {
	err := s.cfg.Store.PutSingleUse(ctx, p.singleUse())
	switch {
	case errors.Is(err, store.ErrConflict):
		return ErrInvalidDPoPProof.With("the DPoP proof was used before", nil)
	case err != nil:
		return err
	}
	return nil
}

// spendDPoP records p's jti as used for a credential request that failed
// after its proof checked out. A jti used before needs nothing more; a
// store failure is logged (the request fails anyway).
func (s *Service) spendDPoP(ctx context.Context, p dpopProof) {
	if err := s.useDPoP(ctx, p); err != nil && !errors.Is(err, ErrInvalidDPoPProof) {
		s.log.Warn("recording a used DPoP proof", "error", err.Error())
	}
}
