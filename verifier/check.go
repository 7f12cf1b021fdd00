package verifier

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/trust"
)

// Reason codes of the trust check (shared with the offline check, in
// internal/bundle). The others are the codes of the package that found
// the fault: sdjwt (disclosures, kb_required, invalid_nonce,
// invalid_audience, stale_key_binding, invalid_sd_hash), jose
// (invalid_signature, expired, not_yet_valid), dcql (what the response
// misses), and the trust layer's own (anchor and status-list faults).
var (
	ErrPresentationTooLarge = bundle.ErrPresentationTooLarge
	ErrIssuerUnknown        = bundle.ErrIssuerUnknown
	ErrIssuerKeyNotValid    = bundle.ErrIssuerKeyNotValid
	ErrUntrustedIssuer      = bundle.ErrUntrustedIssuer
	ErrAccreditationExpired = bundle.ErrAccreditationExpired
	ErrStatusMissing        = bundle.ErrStatusMissing
	ErrRevoked              = bundle.ErrRevoked
	ErrSuspended            = bundle.ErrSuspended
	ErrStatusInvalid        = bundle.ErrStatusInvalid
	ErrPolicyNotMet         = bundle.ErrPolicyNotMet
	ErrTrustUnavailable     = errs.E(errs.Unavailable, "trust_unavailable", "the trust check could not be completed")
)

// MaxPresentationSize caps one presented SD-JWT+KB.
const MaxPresentationSize = 64 << 10

// outcome is the verdict of one response, and all that is kept of it.
type outcome struct {
	green   bool
	reasons []string
	names   []string       // the claim names disclosed in the needed presentations
	shown   map[string]any // the policy's Show claims; never stored in clear
	issuer  string
	vct     string
	// unavailable is the cause when the check could not be completed (the
	// trust layer or a status list could not be reached): no verdict.
	unavailable error
}

// checkInput is one response to check.
type checkInput struct {
	venue   *Venue
	policy  *Policy
	vpToken map[string][]string
	// nonce and aud are what the KB-JWT must carry: the transaction's
	// nonce and the full client_id online; offline no expected nonce (the
	// wallet's, checked by the caller) and "offline:" + the venue's DID.
	nonce, aud string
	// kbMaxAge bounds the KB-JWT's age (0: Config.KBMaxAge).
	kbMaxAge time.Duration
}

// verify runs the trust check of DESIGN §4 on every presentation of the
// VP token, then the DCQL match and the policy. A presentation that fails
// makes the whole response red with its reason; nothing else is looked at
// after the first failure, so the reason is the first check that failed.
func (s *Service) verify(ctx context.Context, in checkInput) outcome {
	creds := make(map[string][]dcql.Credential, len(in.vpToken))
	issuers := make(map[string][]string, len(in.vpToken))
	for id, ps := range in.vpToken {
		for _, p := range ps {
			res, err := s.checkOne(ctx, in, p)
			if err != nil {
				return red(err)
			}
			vct, _, _ := res.Claims.String("vct")
			creds[id] = append(creds[id], dcql.Credential{Format: oid4vp.FormatSDJWTVC, VCT: vct, Claims: res.Claims, KeyBound: res.KeyBound})
			issuers[id] = append(issuers[id], res.Issuer)
		}
	}
	// 7. The request (DCQL) and the venue's policy.
	m, err := in.policy.query.Match(creds)
	if m != nil && len(m.Discarded) > 0 {
		// A presentation that does not match its query is never shown, and
		// the wallet answered with it: red, with its reason (§14.11).
		return red(m.Discarded[0].Reason)
	}
	if err != nil {
		return red(err)
	}
	out := outcome{green: true, shown: map[string]any{}}
	merged := map[string]any{}
	for _, cm := range m.Matches {
		c := creds[cm.QueryID][cm.Credential]
		iss := issuers[cm.QueryID][cm.Credential]
		if len(in.policy.Issuers) > 0 && !slices.Contains(in.policy.Issuers, iss) {
			return red(ErrUntrustedIssuer.With("the issuer is not one this policy accepts", nil))
		}
		if !slices.Contains(in.policy.VCTs, c.VCT) {
			return red(dcql.ErrVCTMismatch)
		}
		if out.issuer == "" {
			out.issuer, out.vct = iss, c.VCT
		}
		for _, cl := range cm.Claims {
			name := cl.Path.Name()
			if !slices.Contains(out.names, name) {
				out.names = append(out.names, name)
			}
		}
		for k, v := range c.Claims {
			if _, ok := merged[k]; !ok {
				merged[k] = v
			}
		}
	}
	if !bundle.Holds(in.policy.conds, merged) {
		o := red(ErrPolicyNotMet)
		o.names, o.issuer, o.vct = out.names, out.issuer, out.vct
		return o
	}
	for _, name := range in.policy.Show {
		if v, ok := bundle.Lookup(merged, name); ok {
			out.shown[name] = v
		}
	}
	return out
}

func red(err error) outcome {
	o := outcome{reasons: []string{bundle.Code(err)}}
	if errs.KindOf(err) == errs.Unavailable {
		o.unavailable = err
	}
	return o
}

// checkOne checks one presented SD-JWT+KB, steps 1 to 6 of DESIGN §4.
func (s *Service) checkOne(ctx context.Context, in checkInput, pres string) (*sdjwt.Result, error) {
	// 1. Envelope and limits.
	if len(pres) > MaxPresentationSize {
		return nil, ErrPresentationTooLarge
	}
	parts, err := sdjwt.Split(pres, MaxPresentationSize)
	if err != nil {
		return nil, err
	}
	if parts.KBJWT == "" {
		return nil, sdjwt.ErrKBRequired // key binding is always required, online and offline
	}

	// 2. Once the JWS's typ, alg and header passed (sdjwt, through jose):
	// the issuer's DID as it was at iat, with its anchor proofs, the key
	// named by kid in it, and the accreditation for the vct, all read from
	// the payload before its signature is checked. 3–5 follow in sdjwt:
	// signature, disclosures, exp/nbf, and the KB-JWT bound to this
	// transaction's nonce and the full client_id.
	var iss string
	issuerKey := func(is string, c jose.Claims, h *jose.Header) (jose.PublicKey, error) {
		if !strings.HasPrefix(is, "did:") {
			return jose.PublicKey{}, ErrIssuerUnknown.With("the issuer is not a DID", nil)
		}
		iat, hasIat, err := c.NumericDate("iat")
		if err != nil || !hasIat {
			return jose.PublicKey{}, jose.ErrInvalidClaim.With("the credential has no iat", nil)
		}
		vct, _, _ := c.String("vct")
		// The key in force at some instant of iat's whole second, judged
		// by the registry's history even when this verifier's clock is
		// behind the registry's (iat is bounded by the allowed skew).
		key, at, err := s.issuerKey(ctx, is, h.Kid, iat)
		if err != nil {
			return jose.PublicKey{}, err
		}
		acc, err := s.cfg.Trust.IsAccredited(ctx, is, vct, at)
		if err != nil {
			return jose.PublicKey{}, trustErr(err)
		}
		if !acc.Accredited {
			if strings.Contains(acc.Reason, "expired") {
				return jose.PublicKey{}, ErrAccreditationExpired
			}
			return jose.PublicKey{}, ErrUntrustedIssuer
		}
		iss = is
		return key, nil
	}
	maxAge := in.kbMaxAge
	if maxAge == 0 {
		maxAge = s.cfg.KBMaxAge
	}
	v := sdjwt.Verifier{IssuerKeyClaims: issuerKey, Profile: sdjwt.ProfileSDJWTVC, Now: s.now, Skew: s.cfg.Skew, MaxSize: MaxPresentationSize}
	res, err := v.Verify(pres, sdjwt.Options{
		RequireKeyBinding: in.nonce != "", Nonce: in.nonce, Audience: in.aud, KBMaxAge: maxAge,
	})
	if err != nil {
		return nil, err
	}
	if !res.KeyBound || in.aud == "" {
		return nil, sdjwt.ErrKBRequired
	}

	// 6. Status, from the list (cached whole by the trust layer: no
	// call-home about this credential).
	if res.Status == nil {
		return nil, ErrStatusMissing
	}
	s.noteList(iss, res.Status.URI)
	st, err := s.cfg.Trust.Status(ctx, iss, res.Status.URI, int(res.Status.Index))
	if errors.Is(err, trust.ErrHashNotAnchored) {
		// Someone serves the issuer's list other than as anchored: an
		// alert for the operator (SECURITY-CASES E55), not only a red.
		s.log.WarnContext(ctx, "alert: a status list was served other than its anchored version", "issuer", iss, "list", res.Status.URI)
	}
	if err != nil {
		return nil, trustErr(err)
	}
	switch st.Value {
	case 0:
	case 1:
		return nil, ErrRevoked
	case 2:
		return nil, ErrSuspended
	default:
		return nil, ErrStatusInvalid
	}
	return res, nil
}

// issuerKey finds iss's assertion key kid in force at some instant of
// iat's whole second (trust.KeyInSecond, docs/did-method.md §4) and
// returns it with that instant. Errors: ErrIssuerUnknown (the DID does not
// resolve), ErrIssuerKeyNotValid (kid is not the issuer's, the DID was
// deactivated, or no version of that second has the key), or the trust
// layer's own codes (trustErr).
func (s *Service) issuerKey(ctx context.Context, iss, kid string, iat time.Time) (jose.PublicKey, time.Time, error) {
	if !strings.HasPrefix(kid, iss+"#") {
		return jose.PublicKey{}, time.Time{}, ErrIssuerKeyNotValid.With("the kid is not a key of the issuer's DID", nil)
	}
	key, at, err := trust.KeyInSecond(ctx, s.cfg.Trust.ResolveAt, iss, kid, iat)
	switch {
	case err == nil:
		return key, at, nil
	case trust.IsKeyError(err):
		return jose.PublicKey{}, at, ErrIssuerKeyNotValid.With("", err)
	case errors.Is(err, did.ErrNotFound), errors.Is(err, did.ErrInvalidDID), errors.Is(err, did.ErrMethodNotSupported):
		return jose.PublicKey{}, at, ErrIssuerUnknown.With("", err)
	case errors.Is(err, did.ErrDeactivated):
		return jose.PublicKey{}, at, ErrIssuerKeyNotValid.With("the issuer's DID was deactivated", err)
	default:
		return jose.PublicKey{}, at, trustErr(err)
	}
}

// trustErr keeps the trust layer's own code (an anchor or status-list
// fault) and turns anything without one into trust_unavailable.
func trustErr(err error) error {
	if errs.CodeOf(err) == "" || errs.KindOf(err) == errs.Internal {
		return ErrTrustUnavailable.With("", err)
	}
	return err
}
