package sdjwt

import (
	"fmt"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
)

// IssuerKeyFunc finds the issuer's verification key. iss is read from the
// NOT yet verified payload (for VCDM, the issuer id when iss is absent) and
// h is the protected header; both serve only to locate the key, for example
// by resolving the issuer's DID and picking h.Kid. It returns
// jose.ErrUnknownKey (or another *errs.Error) when there is no such key.
type IssuerKeyFunc func(iss string, h *jose.Header) (jose.PublicKey, error)

// Verifier checks SD-JWTs and SD-JWT+KB presentations (RFC 9901 §7).
type Verifier struct {
	// IssuerKey is required, unless IssuerKeyClaims is set.
	IssuerKey IssuerKeyFunc
	// IssuerKeyClaims, when set, is used instead of IssuerKey: it also
	// gets the payload's claims, NOT yet verified, for a lookup that
	// depends on them (a verifier resolves the issuer's DID as it was at
	// iat). It runs after the JWS's typ, alg and header checks and before
	// the signature, and must not modify the claims.
	IssuerKeyClaims func(iss string, claims jose.Claims, h *jose.Header) (jose.PublicKey, error)
	// Profile decides accepted typ values and claim rules.
	Profile Profile
	// Typ overrides the profile's accepted typ values.
	Typ []string
	// Algs is the JWS allow-list for the issuer JWT and the KB-JWT; nil
	// means ES256 and EdDSA.
	Algs []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the allowed clock skew for exp/nbf/iat, at most jose.MaxSkew.
	Skew time.Duration
	// MaxSize caps the whole input; 0 means DefaultMaxSize.
	MaxSize int
}

// DefaultKBMaxAge is how old a KB-JWT iat may be (SECURITY-CASES C37).
const DefaultKBMaxAge = 300 * time.Second

// kbFutureSkew is how far in the future a KB-JWT iat may be.
const kbFutureSkew = 60 * time.Second

// Options are the per-call policy of Verify. The input never decides it.
type Options struct {
	// RequireKeyBinding makes a presentation without KB-JWT kb_required.
	// Nonce and Audience must then be set.
	RequireKeyBinding bool
	// Nonce and Audience are the values the KB-JWT must carry exactly
	// (aud as a single string, never an array). They are required with
	// RequireKeyBinding; when a KB-JWT comes without that policy it is still
	// fully verified, and these are compared when set.
	Nonce    string
	Audience string
	// KBMaxAge bounds the KB-JWT age; 0 means DefaultKBMaxAge.
	KBMaxAge time.Duration
	// FromIssuer marks the input as a freshly issued credential received by
	// a wallet: it must be an SD-JWT without a KB-JWT
	// (unexpected_key_binding), and it may carry all its disclosures.
	FromIssuer bool
}

// Result is a verified SD-JWT.
type Result struct {
	// Claims is the processed payload (RFC 9901 §7.1): the always-visible
	// claims plus exactly the disclosed ones; no _sd, _sd_alg or "...".
	Claims jose.Claims
	// Disclosures are the verified disclosures with their Path in Claims.
	Disclosures []*Disclosure
	Header      jose.Header
	IssuerKey   jose.PublicKey
	// HolderKey is cnf.jwk when present.
	HolderKey *jose.PublicKey
	// KeyBound is true when a KB-JWT was present and verified.
	KeyBound bool
	// Status is status.status_list when present.
	Status *StatusRef
	// Issuer is the iss (or VCDM issuer id) the key was looked up for.
	Issuer string
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Verify checks a compact SD-JWT or SD-JWT+KB, in this order: size and
// structure, key binding presence against the policy, issuer JWT (typ, alg,
// crit, key, signature), _sd_alg, disclosures (encoding, duplicates,
// digests, references, nesting, reserved names, collisions, HAIP rule),
// the profile's claims, exp/nbf/iat, and the KB-JWT (typ, cnf key, nonce,
// aud, iat freshness, exp/nbf when present, sd_hash). It returns a Result
// only when all pass.
func (v *Verifier) Verify(s string, o Options) (*Result, error) {
	p, err := Split(s, v.MaxSize)
	if err != nil {
		return nil, err
	}
	// The sd_hash input is a prefix of s: hash it in place.
	return v.verifyParts(p, s[:len(s)-len(p.KBJWT)], o)
}

// VerifyParts is Verify for an SD-JWT already split, for example by FromJSON.
func (v *Verifier) VerifyParts(p Parts, o Options) (*Result, error) {
	return v.verifyParts(p, "", o)
}

// verifyParts verifies p; sdjwt is p.SDJWT() when the caller has it as one
// string already, or "" to have it hashed piecewise.
func (v *Verifier) verifyParts(p Parts, sdjwt string, o Options) (*Result, error) {
	if v.IssuerKey == nil && v.IssuerKeyClaims == nil {
		return nil, errs.E(errs.Internal, "internal", "the verifier has no issuer key lookup")
	}
	if o.FromIssuer && o.RequireKeyBinding {
		return nil, errs.E(errs.Internal, "internal", "an issued credential carries no key binding")
	}
	if o.RequireKeyBinding && (o.Nonce == "" || o.Audience == "") {
		return nil, errs.E(errs.Internal, "internal", "key binding needs an expected nonce and audience")
	}
	switch {
	case o.FromIssuer && p.KBJWT != "":
		return nil, ErrUnexpectedKeyBinding
	case o.RequireKeyBinding && p.KBJWT == "":
		return nil, ErrKBRequired
	}
	if len(p.Disclosures) > MaxDisclosures {
		return nil, ErrTooManyDisclosures
	}

	jws, err := jose.ParseUnverified(p.IssuerJWT, v.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("parsing the issuer-signed JWT: %w", err)
	}
	claims, err := jws.Claims()
	if err != nil {
		return nil, err
	}
	iss, err := v.issuer(claims)
	if err != nil {
		return nil, err
	}
	typs := v.Typ
	if typs == nil {
		typs = v.Profile.acceptedTyps()
	}
	err = jose.VerifyParsed(jws, jose.VerifyOptions{
		Typ:  typs,
		Algs: v.Algs,
		Key: func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
			if v.IssuerKeyClaims != nil {
				return v.IssuerKeyClaims(iss, claims, h)
			}
			return v.IssuerKey(iss, h)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("verifying the issuer-signed JWT: %w", err)
	}

	alg := SHA256
	if raw, ok := claims["_sd_alg"]; ok {
		s, isStr := raw.(string)
		if _, known := hashFor(s); !isStr || !known {
			return nil, ErrUnsupportedSDAlg
		}
		alg = s
	}
	ds := make([]*Disclosure, len(p.Disclosures))
	for k, enc := range p.Disclosures {
		if ds[k], err = decodeDisclosure(enc, alg); err != nil {
			return nil, err
		}
	}
	proc, err := newProcessor(alg, ds)
	if err != nil {
		return nil, err
	}
	proc.extraReserved = v.Profile.reserved()
	if claims, err = proc.run(claims); err != nil {
		return nil, err
	}

	res := &Result{Claims: claims, Disclosures: ds, Header: jws.Header, IssuerKey: jws.Key, Issuer: iss}
	if err := v.checkClaims(res); err != nil {
		return nil, err
	}
	if p.KBJWT != "" {
		if err := v.verifyKB(p, sdjwt, alg, res, o); err != nil {
			return nil, err
		}
		res.KeyBound = true
	}
	return res, nil
}

func (v *Verifier) issuer(c jose.Claims) (string, error) {
	iss, ok, err := c.String("iss")
	if err != nil {
		return "", missing("iss", "must be a string")
	}
	if !ok && v.Profile == ProfileVCDM {
		iss = vcdmIssuer(c)
	}
	return iss, nil
}

func (v *Verifier) checkClaims(res *Result) error {
	c := res.Claims
	if err := v.Profile.checkClaims(c); err != nil {
		return err
	}
	now := v.now()
	if err := c.CheckTimes(jose.TimeRules{Now: now, Skew: v.Skew}); err != nil {
		return err
	}
	if v.Profile == ProfileVCDM {
		skew := min(max(v.Skew, 0), jose.MaxSkew)
		from, hasFrom, _ := dateTime(c, "validFrom")
		until, hasUntil, _ := dateTime(c, "validUntil")
		if hasFrom && from.After(now.Add(skew)) {
			return jose.ErrNotYetValid
		}
		if hasUntil && !now.Add(-skew).Before(until) {
			return jose.ErrExpired
		}
	}
	if cnf, ok := c["cnf"]; ok {
		k, err := holderKey(cnf)
		if err != nil {
			return err
		}
		res.HolderKey = &k
	}
	if st, ok := c["status"]; ok && v.Profile == ProfileSDJWTVC {
		ref, err := statusRef(st)
		if err != nil {
			return err
		}
		res.Status = &ref
	}
	return nil
}

func (v *Verifier) verifyKB(p Parts, sdjwt, alg string, res *Result, o Options) error {
	if res.HolderKey == nil {
		return missing("cnf", "is required for key binding")
	}
	hk := *res.HolderKey
	kb, err := jose.Verify(p.KBJWT, jose.VerifyOptions{
		Typ:     []string{TypKBJWT},
		Algs:    v.Algs,
		MaxSize: v.MaxSize,
		Key:     func(*jose.Header, []byte) (jose.PublicKey, error) { return hk, nil },
	})
	if err != nil {
		return fmt.Errorf("verifying the key binding JWT: %w", err)
	}
	c, err := kb.Claims()
	if err != nil {
		return err
	}
	if nonce, ok, err := c.String("nonce"); err != nil || !ok || nonce == "" || (o.Nonce != "" && nonce != o.Nonce) {
		return ErrInvalidNonce
	}
	if aud, ok, err := c.String("aud"); err != nil || !ok || aud == "" || (o.Audience != "" && aud != o.Audience) {
		return ErrInvalidAudience
	}
	iat, ok, err := c.NumericDate("iat")
	if err != nil {
		return err
	}
	maxAge := o.KBMaxAge
	if maxAge <= 0 {
		maxAge = DefaultKBMaxAge
	}
	now := v.now()
	if !ok || iat.Before(now.Add(-maxAge)) || iat.After(now.Add(kbFutureSkew)) {
		return ErrStaleKeyBinding
	}
	// exp and nbf are optional in a KB-JWT, but when present they are read
	// as strictly as in any JWT: malformed is invalid_claim, passed or not
	// yet valid beyond the skew is expired or not_yet_valid (SECURITY-CASES
	// A15, A16). iat was checked above against its own window.
	exp, hasExp := c["exp"]
	nbf, hasNbf := c["nbf"]
	if hasExp || hasNbf {
		times := make(jose.Claims, 2)
		if hasExp {
			times["exp"] = exp
		}
		if hasNbf {
			times["nbf"] = nbf
		}
		if err := times.CheckTimes(jose.TimeRules{Now: now, Skew: v.Skew}); err != nil {
			return err
		}
	}
	got, _, err := c.String("sd_hash")
	var want string
	if sdjwt != "" {
		want = digest(alg, sdjwt)
	} else {
		want = sdHash(alg, p)
	}
	if err != nil || got != want {
		return ErrInvalidSDHash
	}
	return nil
}
