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
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Proof of control of a verifier DID (docs/relying-parties.md). A venue
// operator asks for a challenge for the DID it wants to register, signs it
// with a key of that DID's document (trust.VerifyControl checks it), and
// sends the signature with the registration; the challenge is consumed in
// the registration's transaction.
const (
	// ControlTyp is the JWS typ of a control proof.
	ControlTyp = trust.ControlTyp
	// ChallengeTTL is how long a challenge can be used, and how old a
	// control proof's iat may be.
	ChallengeTTL = trust.ChallengeTTL
	// challengeKeep is how long after its expiry a challenge stays stored,
	// so that using it answers challenge_expired rather than
	// unknown_challenge; after that it is purged like any single-use value.
	challengeKeep = time.Hour
	challengeKind = "rp-control-challenge"
)

// Stable codes of relying-party control proofs: trust's for the proof
// itself (see trust.VerifyControl), and the challenge's.
var (
	ErrControlProofRequired = trust.ErrControlProofRequired
	ErrControlIssuer        = trust.ErrControlIssuer
	ErrKeyPurpose           = trust.ErrKeyPurpose
	ErrControlAudience      = trust.ErrControlAudience
	ErrUnknownChallenge     = errs.E(errs.Invalid, "unknown_challenge",
		"the control proof's challenge is unknown or was used already; ask for a new one")
	ErrChallengeExpired = errs.E(errs.Invalid, "challenge_expired",
		"the control proof's challenge has expired; ask for a new one")
	ErrChallengeTenant = errs.E(errs.Forbidden, "challenge_tenant_mismatch",
		"the control proof's challenge was issued to another tenant")
	ErrChallengeVerifier = errs.E(errs.Invalid, "challenge_verifier_mismatch",
		"the control proof's challenge was issued for another verifier DID")
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

// RPControl is trust.RPControl.
type RPControl = trust.RPControl

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
type documentFunc = trust.DocumentFunc

// verifyControl is trust.VerifyControl.
func verifyControl(ctx context.Context, token, verifier, audience string, now time.Time, doc documentFunc) (controlProof, error) {
	p, err := trust.VerifyControl(ctx, token, verifier, audience, now, doc)
	if err != nil {
		return controlProof{}, err
	}
	return controlProof{token: p.Token, kid: p.KeyID, nonce: p.Nonce}, nil
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
