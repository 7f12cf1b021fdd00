package trust

import (
	"context"
	"errors"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// Proof of control of a verifier DID (docs/relying-parties.md): a compact
// JWS over a registry challenge, signed by a key of the DID's document.
// The registry checks it when a venue registers (and consumes the
// challenge); a client checks it again from the anchored registration
// (VerifyRecordedControl), so a registration the registry made up for a
// DID nobody proved control of counts for nothing.
const (
	// ControlTyp is the JWS typ of a control proof.
	ControlTyp = "rp-control+jwt"
	// ChallengeTTL is how long a challenge can be used, and how old a
	// control proof's iat may be.
	ChallengeTTL = 5 * time.Minute
	maxProofSize = 16 << 10
	maxNonceLen  = 128
)

// controlRelationships are the verification relationships whose keys can
// prove control of a verifier DID: authentication (the key that
// authenticates as the DID subject, DID Core §5.3.1) and
// capabilityInvocation (the DID's controller keys). An assertionMethod key
// signs credentials and a keyAgreement key encrypts; neither speaks for
// the DID's operator here.
var controlRelationships = []did.Relationship{did.Authentication, did.CapabilityInvocation}

// Stable codes of control proofs. A bad signature, a kid that names no
// verification method of the DID (or a method of another DID), a wrong typ
// or alg, and header keys keep their jose codes (invalid_signature,
// unknown_key, wrong_typ, unsupported_alg, untrusted_key,
// unsupported_crit); a proof with a wrong aud is invalid_audience, one
// with a bad or old iat invalid_claim, not_yet_valid or expired.
var (
	ErrControlProofRequired = errs.E(errs.Invalid, "control_proof_required",
		"registering a verifier DID needs a control proof: a registry challenge signed by a key of the DID's document")
	ErrControlIssuer = errs.E(errs.Invalid, "control_proof_issuer_mismatch",
		"the control proof's iss is not the verifier DID")
	ErrKeyPurpose = errs.E(errs.Forbidden, "wrong_key_purpose",
		"the control proof's key is not an authentication or capabilityInvocation key of the verifier DID")
	ErrControlAudience = sdjwt.ErrInvalidAudience.With("the control proof's aud is not this registry's public URL", nil)
)

// ControlProof is a verified control proof: the token, the verification
// method that signed it and the challenge it carries (which the registry
// consumes).
type ControlProof struct {
	Token, KeyID, Nonce string
}

// DocumentFunc returns the DID document of a verifier DID that a control
// proof is checked against.
type DocumentFunc func(ctx context.Context, verifier string) (*did.Document, error)

// VerifyControl verifies a control proof of verifier: a compact JWS with
// typ rp-control+jwt, alg ES256 or EdDSA, no crit and no header keys, whose
// kid is an absolute DID URL of a verification method of verifier's
// document (doc) in one of the relationships authentication and
// capabilityInvocation, and whose payload is {iss: verifier, aud:
// audience, nonce, iat} with iat at most 60 s ahead of now and at most
// ChallengeTTL behind it. It does not look at the challenge; the registry
// consumes it. It never panics on any input.
func VerifyControl(ctx context.Context, token, verifier, audience string, now time.Time, doc DocumentFunc) (ControlProof, error) {
	if token == "" {
		return ControlProof{}, ErrControlProofRequired
	}
	j, err := jose.Verify(token, jose.VerifyOptions{
		Typ:     []string{ControlTyp},
		Algs:    []string{keys.ES256, keys.EdDSA},
		MaxSize: maxProofSize,
		Key: func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
			return controlKey(ctx, h.Kid, verifier, doc)
		},
	})
	if err != nil {
		return ControlProof{}, err
	}
	c, err := j.Claims()
	if err != nil {
		return ControlProof{}, err
	}
	if aud, ok := c["aud"].(string); !ok || aud != audience {
		return ControlProof{}, ErrControlAudience
	}
	iss, _, err := c.String("iss")
	if err != nil {
		return ControlProof{}, err
	}
	if iss != verifier {
		return ControlProof{}, ErrControlIssuer
	}
	if err := c.CheckTimes(jose.TimeRules{Now: now, Skew: jose.MaxSkew, RequireIat: true}); err != nil {
		return ControlProof{}, err
	}
	if iat, _, _ := c.NumericDate("iat"); now.Sub(iat) > ChallengeTTL {
		return ControlProof{}, jose.ErrExpired.With("the control proof's iat is more than 5 minutes old", nil)
	}
	nonce, _, err := c.String("nonce")
	if err != nil {
		return ControlProof{}, err
	}
	if nonce == "" || len(nonce) > maxNonceLen {
		return ControlProof{}, jose.ErrInvalidClaim.With("the control proof's nonce must be the registry's challenge", nil)
	}
	return ControlProof{Token: token, KeyID: j.Header.Kid, Nonce: nonce}, nil
}

// controlKey returns the key of verification method kid of verifier's
// document, which must be listed in one of controlRelationships. A kid
// that is not an absolute DID URL of verifier with a fragment, or names no
// method of the document, is unknown_key; a method with another purpose
// is wrong_key_purpose.
func controlKey(ctx context.Context, kid, verifier string, doc DocumentFunc) (jose.PublicKey, error) {
	u, err := did.ParseURL(kid)
	if err != nil || !u.HasFragment || u.Path != "" || u.HasQuery || u.DID.String() != verifier {
		return jose.PublicKey{}, did.ErrUnknownKey.With("the kid must be a DID URL of a verification method of the verifier DID", err)
	}
	d, err := doc(ctx, verifier)
	if err != nil {
		return jose.PublicKey{}, err
	}
	if _, _, err := d.PublicKey(kid, did.AnyRelationship); err != nil {
		return jose.PublicKey{}, err
	}
	for _, rel := range controlRelationships {
		pub, alg, err := d.PublicKey(kid, rel)
		if err == nil {
			return jose.PublicKey{Key: pub, Alg: alg}, nil
		}
		if !errors.Is(err, did.ErrUnknownKey) {
			return jose.PublicKey{}, err
		}
	}
	return jose.PublicKey{}, ErrKeyPurpose
}

// ErrControlUnproven: a registration's recorded control proof does not
// verify against its verifier DID's document (or it has none).
var ErrControlUnproven = errs.E(errs.Forbidden, "control_unproven",
	"the registration's recorded proof of control of its verifier DID does not verify")

// VerifyRecordedControl checks again, from an anchored registration, that
// its tenant proved control of its verifier DID: r claims a proof by its
// own tenant (Proven), and the recorded proof verifies (VerifyControl)
// for audience (the registry's public URL) at the recorded instant
// (ProvenAt), against the verifier's document as doc returns it for that
// instant, signed by the recorded key. Any failure is ErrControlUnproven
// wrapping the cause.
func VerifyRecordedControl(ctx context.Context, r *RPRegistration, audience string, doc DocumentFunc) error {
	if !r.Proven() {
		return ErrControlUnproven.With("the registration has no proof of control by its tenant", nil)
	}
	p, err := VerifyControl(ctx, r.Control.Proof, r.Verifier, audience, r.Control.ProvenAt, doc)
	if err != nil {
		return ErrControlUnproven.With("", err)
	}
	if p.KeyID != r.Control.KeyID {
		return ErrControlUnproven.With("the proof is signed by another key than the one recorded", nil)
	}
	return nil
}
