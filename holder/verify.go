package holder

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/trust"
)

// Errors of the check of a received credential. The reason (a stable
// code: invalid_signature, issuer_not_accredited, …) is in the Detail and
// the cause chain.
var (
	ErrCredentialRefused = errs.E(errs.Unprocessable, "credential_refused", "a credential from the issuer failed verification; nothing was stored")
	ErrTrustUnreachable  = errs.E(errs.Unavailable, "trust_check_unavailable", "the credential could not be checked against the registry; retry later")
)

// refused wraps the reason a received credential failed its check.
func refused(reason string, cause error) error {
	return ErrCredentialRefused.With("a credential from the issuer failed verification ("+reason+"); nothing was stored", cause)
}

// checked is a received credential that passed its check.
type checked struct {
	sdJWT       string
	issuer      string // the iss DID
	vct         string
	claims      map[string]any // every claim, disclosed
	disclosable []string       // JSON Pointers of the selectively disclosable claims
	holderKey   string         // the cnf.jwk thumbprint
	status      *sdjwt.StatusRef
	statusValue string // valid, suspended, unknown
	expires     time.Time
}

// receiveSkew is the clock difference allowed on a received credential's
// exp, nbf and iat, as the verifier allows (ssi verifier's verifierSkew):
// the wallet checks a credential a moment after its issuer signed it, so
// an issuer's clock a second ahead of the wallet's must not make it
// not_yet_valid.
const receiveSkew = 30 * time.Second

// checkCredential verifies a freshly issued SD-JWT VC as a verifier
// would, in this order: the issuer is a DID and the credential has an iat;
// the issuer's DID document as it was at iat (through the trust layer,
// anchored) has the assertion key named by kid; the issuer was accredited
// for the vct at iat; the signature, disclosures and times verify; it
// carries a cnf key; its vct is the one the issuer's metadata names
// (wantVCT, when set); its status, when a status check is configured, is
// valid. Errors: ErrCredentialRefused with the reason, or
// ErrTrustUnreachable when the trust layer could not answer.
func (s *Service) checkCredential(ctx context.Context, sd, wantVCT string) (*checked, error) {
	parts, err := sdjwt.Split(sd, s.cfg.Wallet.MaxCredential)
	if err != nil {
		return nil, refused(errs.CodeOf(err), err)
	}
	jws, err := jose.ParseUnverified(parts.IssuerJWT, s.cfg.Wallet.MaxCredential)
	if err != nil {
		return nil, refused(errs.CodeOf(err), err)
	}
	claims, err := jws.Claims()
	if err != nil {
		return nil, refused(errs.CodeOf(err), err)
	}
	iss, _, _ := claims.String("iss")
	vct, _, _ := claims.String("vct")
	iat, hasIat, err := claims.NumericDate("iat")
	switch {
	case !strings.HasPrefix(iss, "did:"):
		return nil, refused("issuer_not_a_did", nil)
	case err != nil || !hasIat:
		return nil, refused("missing_iat", err)
	case wantVCT != "" && vct != wantVCT:
		return nil, refused("vct_mismatch", nil)
	case s.cfg.Trust == nil:
		return nil, ErrTrustUnreachable.With("the holder has no trust layer configured", nil)
	}
	kid := jws.Header.Kid
	if !strings.HasPrefix(kid, iss+"#") {
		return nil, refused("issuer_key_invalid", nil)
	}
	// The key in force at some instant of iat's whole second
	// (docs/did-method.md §4), as the verifier judges it.
	key, at, err := trust.KeyInSecond(ctx, s.cfg.Trust.ResolveAt, iss, kid, iat)
	switch {
	case trust.IsKeyError(err):
		return nil, refused("issuer_key_invalid", err)
	case errors.Is(err, did.ErrNotFound), errors.Is(err, did.ErrInvalidDID), errors.Is(err, did.ErrMethodNotSupported), errors.Is(err, did.ErrDeactivated):
		return nil, refused("issuer_unknown", err)
	case err != nil:
		return nil, trustErr(err)
	}
	acc, err := s.cfg.Trust.IsAccredited(ctx, iss, vct, at)
	if err != nil {
		return nil, trustErr(err)
	}
	if !acc.Accredited {
		return nil, refused("issuer_not_accredited", nil)
	}
	v := sdjwt.Verifier{
		IssuerKey: func(string, *jose.Header) (jose.PublicKey, error) { return key, nil },
		Profile:   sdjwt.ProfileSDJWTVC,
		Now:       s.now,
		Skew:      receiveSkew,
		MaxSize:   s.cfg.Wallet.MaxCredential,
	}
	vr, err := v.Verify(sd, sdjwt.Options{FromIssuer: true})
	if err != nil {
		return nil, refused(errs.CodeOf(err), err)
	}
	if vr.HolderKey == nil {
		return nil, refused("no_holder_binding", nil)
	}
	tp, err := keys.Thumbprint(vr.HolderKey.Key)
	if err != nil {
		return nil, refused("no_holder_binding", err)
	}
	c := &checked{sdJWT: sd, issuer: iss, vct: vct, claims: vr.Claims, holderKey: tp, status: vr.Status, statusValue: "unknown"}
	if exp, ok, _ := vr.Claims.NumericDate("exp"); ok {
		c.expires = exp
	}
	for _, d := range vr.Disclosures {
		c.disclosable = append(c.disclosable, d.Path)
	}
	if s.cfg.Status != nil && vr.Status != nil {
		val, err := s.statusOf(ctx, iss, vr.Status.URI, vr.Status.Index)
		if err != nil {
			return nil, err
		}
		switch val {
		case "valid", "unknown":
			c.statusValue = val
		default:
			return nil, refused(val, nil)
		}
	}
	return c, nil
}

// statusOf reads a status list entry through the trust layer: valid,
// revoked, suspended or status_invalid; unknown while the list cannot be
// proven yet (a list published a moment ago is anchored within a block
// or two: the credential is kept, and its status read again when shown).
// Errors: a trust fault with its own code (refused).
func (s *Service) statusOf(ctx context.Context, iss, uri string, idx uint64) (string, error) {
	val, err := s.cfg.Status(ctx, iss, uri, int(idx))
	switch {
	case err != nil && errs.KindOf(err) == errs.Unavailable:
		return "unknown", nil
	case err != nil:
		return "", trustErr(err)
	}
	switch val {
	case 0:
		return "valid", nil
	case 1:
		return "revoked", nil
	case 2:
		return "suspended", nil
	}
	return StatusInvalid, nil
}

// trustErr keeps a trust-layer fault's own code when it has one (an
// anchor that does not verify is the registry's lie, not an outage) and
// makes anything else trust_check_unavailable.
func trustErr(err error) error {
	if errs.CodeOf(err) == "" || errs.KindOf(err) == errs.Internal || errs.KindOf(err) == errs.Unavailable {
		return ErrTrustUnreachable.With("", err)
	}
	return refused(errs.CodeOf(err), err)
}
