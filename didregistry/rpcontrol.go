package didregistry

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Proof of control of a verifier DID (docs/relying-parties.md). A venue
// operator asks for a challenge for the DID it wants to register, signs it
// with a key of that DID's document, and sends the signature with the
// registration; the challenge is consumed in the registration's
// transaction.
const (
	// ControlTyp is the JWS typ of a control proof.
	ControlTyp = "rp-control+jwt"
	// ChallengeTTL is how long a challenge can be used, and how old a
	// control proof's iat may be.
	ChallengeTTL = 5 * time.Minute
	// challengeKeep is how long after its expiry a challenge stays stored,
	// so that using it answers challenge_expired rather than
	// unknown_challenge; after that it is purged like any single-use value.
	challengeKeep = time.Hour
	challengeKind = "rp-control-challenge"
	maxProofSize  = 16 << 10
	maxNonceLen   = 128
)

// controlRelationships are the verification relationships whose keys can
// prove control of a verifier DID: authentication (the key that
// authenticates as the DID subject, DID Core §5.3.1) and
// capabilityInvocation (the DID's controller keys). An assertionMethod key
// signs credentials and a keyAgreement key encrypts; neither speaks for
// the DID's operator here.
var controlRelationships = []did.Relationship{did.Authentication, did.CapabilityInvocation}

// Stable codes of relying-party control proofs. A bad signature, a kid
// that names no verification method of the DID (or a method of another
// DID), a wrong typ or alg, and header keys keep their jose codes
// (invalid_signature, unknown_key, wrong_typ, unsupported_alg,
// untrusted_key, unsupported_crit); a proof with a wrong aud is
// invalid_audience, one with a bad or old iat invalid_claim,
// not_yet_valid or expired.
var (
	ErrControlProofRequired = errs.E(errs.Invalid, "control_proof_required",
		"registering a verifier DID needs a control proof: a registry challenge signed by a key of the DID's document")
	ErrUnknownChallenge = errs.E(errs.Invalid, "unknown_challenge",
		"the control proof's challenge is unknown or was used already; ask for a new one")
	ErrChallengeExpired = errs.E(errs.Invalid, "challenge_expired",
		"the control proof's challenge has expired; ask for a new one")
	ErrChallengeTenant = errs.E(errs.Forbidden, "challenge_tenant_mismatch",
		"the control proof's challenge was issued to another tenant")
	ErrChallengeVerifier = errs.E(errs.Invalid, "challenge_verifier_mismatch",
		"the control proof's challenge was issued for another verifier DID")
	ErrControlIssuer = errs.E(errs.Invalid, "control_proof_issuer_mismatch",
		"the control proof's iss is not the verifier DID")
	ErrKeyPurpose = errs.E(errs.Forbidden, "wrong_key_purpose",
		"the control proof's key is not an authentication or capabilityInvocation key of the verifier DID")
	ErrControlAudience = sdjwt.ErrInvalidAudience.With("the control proof's aud is not this registry's public URL", nil)
)

// RPChallenge is a challenge for a control proof: single-use, bound to the
// tenant that asked for it and to one verifier DID, valid until ExpiresAt.
// A control proof carries Challenge as its nonce and Audience as its aud.
type RPChallenge struct {
	Challenge string    `json:"challenge"`
	Verifier  string    `json:"verifier"`
	Audience  string    `json:"audience"`
	ExpiresAt time.Time `json:"expires_at"`
}

// challengeData is what the store keeps with a challenge's hash.
type challengeData struct {
	Tenant    string    `json:"tenant"`
	Verifier  string    `json:"verifier"`
	ExpiresAt time.Time `json:"expires_at"`
}

// RPControl records on a registration that its tenant proved control of
// the verifier DID: by whom, with which verification method, when, and the
// proof itself, so that anyone who reads the anchored record can verify it
// again against the DID's document.
type RPControl struct {
	Tenant   string    `json:"tenant"`
	KeyID    string    `json:"kid"`
	ProvenAt time.Time `json:"proven_at"`
	Proof    string    `json:"proof"`
}

// audience is the aud of every control proof: the registry's public URL.
func (s *Service) audience() string { return strings.TrimRight(s.cfg.PublicURL, "/") }

// NewRPChallenge issues a challenge to tenant a.TenantID for a control
// proof of verifier. Only its SHA-256 is stored (store.PutSingleUse), with
// the tenant, the verifier and the expiry. Errors: invalid_did, or the
// store's.
func (s *Service) NewRPChallenge(ctx context.Context, a Actor, verifier string) (*RPChallenge, error) {
	if err := checkSubjectDID(verifier); err != nil {
		return nil, err
	}
	aud := s.audience()
	if aud == "" {
		return nil, errs.E(errs.Internal, "", "the registry has no public URL to be the audience of control proofs")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, errs.Wrap(errs.Internal, "", "", err)
	}
	now := s.cfg.Now().UTC()
	ch := &RPChallenge{Challenge: base64.RawURLEncoding.EncodeToString(b[:]), Verifier: verifier, Audience: aud, ExpiresAt: now.Add(ChallengeTTL)}
	data, err := json.Marshal(challengeData{Tenant: a.TenantID, Verifier: verifier, ExpiresAt: ch.ExpiresAt})
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "", "", err)
	}
	if err := s.cfg.Store.PutSingleUse(ctx, store.SingleUse{Kind: challengeKind, Value: ch.Challenge, Data: data, ExpiresAt: ch.ExpiresAt.Add(challengeKeep)}); err != nil {
		return nil, err
	}
	return ch, nil
}

// controlProof is a verified control proof whose challenge is not yet
// consumed.
type controlProof struct {
	token, kid, nonce string
}

// documentFunc returns the current DID document of a verifier DID.
type documentFunc func(ctx context.Context, verifier string) (*did.Document, error)

// verifyControl verifies a control proof of verifier: a compact JWS with
// typ rp-control+jwt, alg ES256 or EdDSA, no crit and no header keys, whose
// kid is an absolute DID URL of a verification method of verifier's
// current document (doc) in one of controlRelationships, and whose payload
// is {iss: verifier, aud: audience, nonce, iat} with iat at most 60 s ahead
// of now and at most ChallengeTTL behind it. It does not look at the
// challenge; the caller consumes it. It never panics on any input.
func verifyControl(ctx context.Context, token, verifier, audience string, now time.Time, doc documentFunc) (controlProof, error) {
	if token == "" {
		return controlProof{}, ErrControlProofRequired
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
		return controlProof{}, err
	}
	c, err := j.Claims()
	if err != nil {
		return controlProof{}, err
	}
	if aud, ok := c["aud"].(string); !ok || aud != audience {
		return controlProof{}, ErrControlAudience
	}
	iss, _, err := c.String("iss")
	if err != nil {
		return controlProof{}, err
	}
	if iss != verifier {
		return controlProof{}, ErrControlIssuer
	}
	if err := c.CheckTimes(jose.TimeRules{Now: now, Skew: jose.MaxSkew, RequireIat: true}); err != nil {
		return controlProof{}, err
	}
	if iat, _, _ := c.NumericDate("iat"); now.Sub(iat) > ChallengeTTL {
		return controlProof{}, jose.ErrExpired.With("the control proof's iat is more than 5 minutes old", nil)
	}
	nonce, _, err := c.String("nonce")
	if err != nil {
		return controlProof{}, err
	}
	if nonce == "" || len(nonce) > maxNonceLen {
		return controlProof{}, jose.ErrInvalidClaim.With("the control proof's nonce must be the registry's challenge", nil)
	}
	return controlProof{token: token, kid: j.Header.Kid, nonce: nonce}, nil
}

// controlKey returns the key of verification method kid of verifier's
// document, which must be listed in one of controlRelationships. A kid
// that is not an absolute DID URL of verifier with a fragment, or names no
// method of the document, is unknown_key; a method with another purpose
// is wrong_key_purpose.
func controlKey(ctx context.Context, kid, verifier string, doc documentFunc) (jose.PublicKey, error) {
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

// verifierDocument returns the current document of verifier: for did:psr
// the latest version after the integrity check, which must be anchored
// (anchor_pending until the outbox drained) and not deactivated
// (did_deactivated); for the other methods what Config.Resolver resolves.
func (s *Service) verifierDocument(ctx context.Context, verifier string) (*did.Document, error) {
	if !strings.HasPrefix(verifier, Prefix) {
		res, err := s.resolver.Resolve(ctx, verifier, did.ResolveOptions{})
		if err != nil {
			return nil, err
		}
		return res.Document, nil
	}
	res, err := s.ResolveDID(ctx, verifier, ResolveOptions{})
	if err != nil {
		return nil, err
	}
	if res.State.Deactivated {
		return nil, did.ErrDeactivated
	}
	if res.Anchor.Status != trust.AnchorAnchored {
		return nil, anchor.ErrNotYet.With("the verifier DID's current version is not anchored yet; try again shortly", nil)
	}
	return res.State.Document(), nil
}

// consumeChallenge uses up p's challenge in tx, which must have been
// issued to tenant for verifier and not have expired at now.
func consumeChallenge(ctx context.Context, tx Tx, p controlProof, tenant, verifier string, now time.Time) error {
	u, err := tx.ConsumeSingleUse(ctx, challengeKind, p.nonce, now)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownChallenge
	}
	if err != nil {
		return err
	}
	var ch challengeData
	if err := json.Unmarshal(u.Data, &ch); err != nil {
		return errs.Wrap(errs.Internal, "", "", err)
	}
	switch {
	case ch.Tenant != tenant:
		return ErrChallengeTenant
	case ch.Verifier != verifier:
		return ErrChallengeVerifier
	case !now.Before(ch.ExpiresAt):
		return ErrChallengeExpired
	}
	return nil
}

// SignRPControl returns a control proof of verifier for a challenge, signed
// by signer as the verification method kid (an absolute DID URL of
// verifier), issued at iat: what a venue operator sends with its
// registration.
func SignRPControl(signer keys.Signer, kid string, ch RPChallenge, iat time.Time) (string, error) {
	payload, err := json.Marshal(map[string]any{"iss": ch.Verifier, "aud": ch.Audience, "nonce": ch.Challenge, "iat": iat.Unix()}, json.Deterministic(true))
	if err != nil {
		return "", err
	}
	return jose.Sign(signer, map[string]any{"typ": ControlTyp, "kid": kid}, payload)
}
