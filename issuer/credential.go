package issuer

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
)

// ProofTyp is the typ of an OpenID4VCI key proof JWT.
const ProofTyp = "openid4vci-proof+jwt"

// OAuth errors of the credential endpoint (OpenID4VCI §8.3.1.2).
var (
	ErrInvalidProof   = errs.E(errs.Invalid, "invalid_proof", "a key proof is missing or invalid")
	ErrInvalidNonce   = jose.ErrInvalidNonce.With("a key proof carries an invalid or used c_nonce; get a new one", nil)
	ErrInvalidCredReq = errs.E(errs.Invalid, "invalid_credential_request", "the credential request is malformed")
	// ErrInvalidEncryption: the request asks for an encrypted credential
	// response, which this issuer does not offer (it publishes no
	// credential_response_encryption metadata); answering in the clear
	// would break the spec's "MUST encode" rule (§8.3).
	ErrInvalidEncryption = errs.E(errs.Invalid, "invalid_encryption_parameters", "credential response encryption is not supported by this issuer")
)

// CredentialRequest is a parsed credential request.
type CredentialRequest struct {
	AccessToken string
	// Scheme is the Authorization scheme the token came with: SchemeBearer
	// (or "", the same) or SchemeDPoP.
	Scheme string
	// DPoP holds the values of the request's DPoP headers (RFC 9449).
	DPoP     []string
	ConfigID string   // credential_configuration_id
	Proofs   []string // proofs.jwt
}

// Credential is one issued credential: the SD-JWT as the wallet receives it.
type Credential struct {
	ID     string // the issuance record's ID (never sent to the wallet)
	SDJWT  string
	Holder keys.JWK
}

// proofResolver resolves the DIDs a proof's kid may name: did:key and
// did:jwk, locally, without I/O.
var proofResolver = did.NewRouter().Handle("key", did.KeyResolver{}).Handle("jwk", did.JWKResolver{})

// Credential issues one credential per key proof, following Boulder's
// record-before-sign rule:
//
//  1. check the access token (for a DPoP-bound one: the DPoP scheme and a
//     proof of its key over it, see tokenBinding), the configuration and
//     every proof (typ, alg, aud = the issuer, a fresh iat, a c_nonce, a
//     header jwk or a did:key/did:jwk kid, never both, never a private
//     key) — no state changes;
//  2. in one transaction: use up the DPoP proof's jti (a replayed proof
//     fails here, with no record), the c_nonces and the access token,
//     allocate a random status index per credential (unique by
//     constraint, redrawn on conflict, a new list opened when one is half
//     full), write each issuance record (pending) and an audit record;
//  3. sign each credential;
//  4. verify each with the core verifier, as a wallet would;
//  5. mark the records issued, and return the credentials.
//
// Concurrent requests share the database work of steps 1, 2 and 5 (group
// commit, see internal/groupcommit): one query looks up their tokens, one
// transaction records them all, one statement marks them issued. Within a
// group each request still succeeds or fails on its own: a used-up token
// or nonce fails that request only, and gets no record, audit entry or
// credential. (Like any request that failed its nonce or token, its other
// nonces are used up; its access token stays usable when its nonce was
// the problem. Of two requests that share a nonce, the first one in the
// group takes it, whether or not its token then passes.)
//
// A crash at any point leaves no signed credential without a record; a
// crash after step 2 leaves pending records whose credentials were never
// delivered (the reconciliation check counts them as undelivered).
// Client-supplied status, idx or iss never reach the credential: the
// claims come from the offer's subject data and the server.
func (s *Service) Credential(ctx context.Context, tenantID string, req CredentialRequest) ([]Credential, error) {
	now := s.now()
	t, o, err := s.accessToken(ctx, tenantID, req.AccessToken)
	if err != nil {
		return nil, err
	}
	if err := schemeMatches(o, req.Scheme); err != nil {
		return nil, err
	}
	proof, err := s.tokenBinding(t, o, req, now)
	if err != nil {
		return nil, err
	}
	cfg, nonces, plans, err := s.planRequest(ctx, t, o, req, now)
	if err != nil {
		if proof != nil {
			// The proof was presented with its token: it is used, even
			// though the request failed (RFC 9449 §11.1), so that nobody
			// who saw it can send it again with another body.
			s.spendDPoP(ctx, *proof)
		}
		return nil, err
	}
	recs, err := s.records.Do(&recordJob{t: t, cfg: cfg, offer: o, nonces: nonces, dpop: proof, plans: plans, now: now})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(plans))
	for i, p := range plans {
		ids[i] = p.rec.ID
	}
	if err := s.fault(FaultAfterAllocate, ids); err != nil {
		return nil, err
	}
	out := make([]Credential, len(plans))
	for i, p := range plans {
		sd, err := s.signAndCheck(t, cfg, p, recs[i])
		if err != nil {
			return nil, err
		}
		out[i] = Credential{ID: p.rec.ID, SDJWT: sd, Holder: p.holder}
	}
	if err := s.fault(FaultAfterSign, ids); err != nil {
		return nil, err
	}
	refs := make([]store.CredentialRef, len(ids))
	for i, id := range ids {
		refs[i] = store.CredentialRef{TenantID: t.ID, ID: id}
	}
	if _, err := s.marks.Do(refs); err != nil {
		return nil, err
	}
	if err := s.fault(FaultBeforeRespond, ids); err != nil {
		return nil, err
	}
	return out, nil
}

// planRequest checks a credential request's configuration and key
// proofs against its offer o, and plans a credential for each key, with
// the c_nonces the proofs carry. It changes nothing.
func (s *Service) planRequest(ctx context.Context, t *tenant, o store.CredentialOffer, req CredentialRequest, now time.Time) (*CredentialConfig, []string, []*plan, error) {
	cfg, ok := t.configs[req.ConfigID]
	if !ok || req.ConfigID != o.ConfigID {
		return nil, nil, nil, ErrUnknownConfig
	}
	if len(req.Proofs) == 0 {
		return nil, nil, nil, ErrInvalidProof.With("proofs.jwt is required", nil)
	}
	if len(req.Proofs) > t.batch {
		return nil, nil, nil, ErrInvalidCredReq.With(fmt.Sprintf("at most %d proofs per request (batch_size)", t.batch), nil)
	}
	holders, nonces, err := s.checkProofs(ctx, t, req.Proofs, now)
	if err != nil {
		return nil, nil, nil, err
	}
	// The issuer decides how many credentials a request gets (OpenID4VCI
	// §14): batch_size is the tenant's largest, and a configuration with a
	// smaller one gets that many, for the first proofs' keys.
	holders = holders[:min(len(holders), cfg.BatchSize)]
	subject, err := cfg.ValidateSubject(o.SubjectData)
	if err != nil {
		return nil, nil, nil, errs.Wrap(errs.Internal, "", "", fmt.Errorf("re-validating stored subject data: %w", err))
	}
	cfg.derive(subject, now)
	plans, err := s.plan(t, cfg, o, subject, holders, now)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, nonces, plans, nil
}

// CheckAccessToken reports whether tok is a live access token of
// tenantID presented with the right Authorization scheme (SchemeDPoP for
// a DPoP-bound token, SchemeBearer for another): nil, ErrInvalidToken, or
// a store error. It changes nothing, and checks no DPoP proof.
func (s *Service) CheckAccessToken(ctx context.Context, tenantID, scheme, tok string) error {
	_, o, err := s.accessToken(ctx, tenantID, tok)
	if err != nil {
		return err
	}
	return schemeMatches(o, scheme)
}

// Authorization schemes of the credential endpoint.
const (
	SchemeBearer = "Bearer"
	SchemeDPoP   = "DPoP" // RFC 9449 §7.1
)

// schemeMatches refuses a DPoP-bound token sent as a bearer token (it
// would drop the sender constraint) and a bearer token sent with the DPoP
// scheme (RFC 9449 §7.1), as invalid_token.
func schemeMatches(o store.CredentialOffer, scheme string) error {
	switch {
	case o.TokenJKT != "" && scheme != SchemeDPoP:
		return ErrInvalidToken.With("this access token is DPoP-bound: send it with the DPoP scheme and a DPoP proof", errBoundToken)
	case o.TokenJKT == "" && scheme == SchemeDPoP:
		return ErrInvalidToken.With("this access token is not DPoP-bound: send it with the Bearer scheme", nil)
	}
	return nil
}

// tokenBinding checks the DPoP proof of a request whose access token is
// bound to a key (o.TokenJKT): one proof (checkDPoP) of POST to this
// credential endpoint, whose ath is the token's hash and whose key is the
// bound one. It returns the proof, whose jti is not yet recorded, or nil
// for a bearer token. A bad or missing proof is invalid_dpop_proof and
// another key invalid_token, both 401. It changes nothing.
func (s *Service) tokenBinding(t *tenant, o store.CredentialOffer, req CredentialRequest, now time.Time) (*dpopProof, error) {
	if o.TokenJKT == "" {
		return nil, nil
	}
	p, err := checkDPoP(req.DPoP, dpopRequest{htm: "POST", htu: s.IssuerURL(t.ID) + "/credential", token: req.AccessToken}, now)
	if err != nil {
		return nil, resourceError(err)
	}
	if subtle.ConstantTimeCompare([]byte(p.jkt), []byte(o.TokenJKT)) != 1 {
		return nil, ErrInvalidToken.With("the DPoP proof's key is not the one the access token is bound to", errBoundToken)
	}
	return &p, nil
}

// accessToken finds the offer a live access token of tenantID was issued
// for.
func (s *Service) accessToken(ctx context.Context, tenantID, tok string) (*tenant, store.CredentialOffer, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, store.CredentialOffer{}, err
	}
	lookup, err := s.lookups.Do(hash(tok))
	if err != nil {
		return nil, store.CredentialOffer{}, err
	}
	if !lookup.found || lookup.offer.TenantID != t.ID {
		return nil, store.CredentialOffer{}, ErrInvalidToken
	}
	return t, lookup.offer, nil
}

// checkProofs verifies every proof and returns the holder keys in order
// and the distinct c_nonces they carry (a batch may share one), which the
// record transaction uses up. The keys must be distinct: a batch yields
// unlinkable copies.
func (s *Service) checkProofs(ctx context.Context, t *tenant, proofs []string, now time.Time) ([]keys.JWK, []string, error) {
	holders := make([]keys.JWK, 0, len(proofs))
	var nonces []string
	seen := map[string]bool{}
	for _, p := range proofs {
		k, n, err := s.checkProof(ctx, t, p, now)
		if err != nil {
			return nil, nil, err
		}
		tp, err := k.Thumbprint()
		if err != nil {
			return nil, nil, ErrInvalidProof.With("the proof key has no thumbprint", err)
		}
		if seen[tp] {
			return nil, nil, ErrInvalidProof.With("every proof of a batch must prove a different key", nil)
		}
		seen[tp] = true
		holders = append(holders, k)
		if !slices.Contains(nonces, n) {
			nonces = append(nonces, n)
		}
	}
	return holders, nonces, nil
}

// checkProof verifies one key proof JWT (OpenID4VCI Appendix F.1) and
// returns the proven key and the nonce it carries (not yet consumed).
func (s *Service) checkProof(ctx context.Context, t *tenant, proof string, now time.Time) (keys.JWK, string, error) {
	unverified, err := jose.ParseUnverified(proof, 16<<10)
	if err != nil {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof is not a compact JWS", err)
	}
	h := &unverified.Header
	hasJWK, hasKid := h.Has("jwk"), h.Kid != ""
	if hasJWK == hasKid {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof header must carry exactly one of jwk and kid", nil)
	}
	opts := jose.VerifyOptions{Typ: []string{ProofTyp}, MaxSize: 16 << 10}
	if hasJWK {
		opts.HeaderJWKIsHolderKey = true
	} else {
		opts.Key = did.JOSEKeyLookup(ctx, proofResolver, "")
	}
	j, err := jose.Verify(proof, opts)
	if err != nil {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof does not verify ("+errs.CodeOf(err)+")", err)
	}
	key := j.HeaderJWK
	if !hasJWK {
		if key, err = jose.PublicJWK(j.Key.Key); err != nil {
			return keys.JWK{}, "", ErrInvalidProof.With("the proof key is not usable", err)
		}
	}
	c, err := j.Claims()
	if err != nil {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof claims are malformed", err)
	}
	if !audIs(c["aud"], s.IssuerURL(t.ID)) {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof's aud is not this credential issuer", nil)
	}
	if err := c.CheckTimes(jose.TimeRules{Now: now, Skew: jose.MaxSkew, RequireIat: true}); err != nil {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof's times are invalid", err)
	}
	iat, _, _ := c.NumericDate("iat")
	if now.Sub(iat) > s.cfg.ProofMaxAge {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof is not fresh", nil)
	}
	nonce, ok, err := c.String("nonce")
	if err != nil || !ok || nonce == "" {
		return keys.JWK{}, "", ErrInvalidProof.With("the proof has no c_nonce", err)
	}
	return key, nonce, nil
}

// audIs accepts aud as the issuer's identifier, or an array of exactly it.
func audIs(v any, want string) bool {
	switch a := v.(type) {
	case string:
		return a == want
	case []any:
		return len(a) == 1 && a[0] == want
	}
	return false
}

// plan is one credential to record and sign: its record as far as it is
// known before the record group (which draws its list and index, see
// recorded), its holder key and subject claims.
type plan struct {
	rec    store.IssuedCredential
	holder keys.JWK
	subj   map[string]any
}

func (s *Service) plan(t *tenant, cfg *CredentialConfig, o store.CredentialOffer, subject map[string]any, holders []keys.JWK, now time.Time) ([]*plan, error) {
	out := make([]*plan, len(holders))
	for i, h := range holders {
		out[i] = &plan{holder: h, subj: subject, rec: store.IssuedCredential{
			ID: randomID(), TenantID: t.ID, ConfigID: cfg.ID, SubjectRef: o.SubjectRef,
			State: store.CredentialPending, CreatedAt: now, ExpiresAt: now.Add(cfg.Validity),
		}}
	}
	return out, nil
}

// claimsJSON builds the claims of p for cfg's profile, with the status
// list entry of rec (p's record with its list and index drawn).
func (s *Service) claimsJSON(t *tenant, cfg *CredentialConfig, p *plan, rec store.IssuedCredential, listURI string) ([]byte, error) {
	h := p.holder
	if cfg.Profile == sdjwt.ProfileVCDM {
		return sdjwt.VCDMClaims{
			Types: cfg.Types, Issuer: t.DID, ID: "urn:uuid:" + uuidOf(rec.ID),
			ValidFrom: rec.CreatedAt, ValidUntil: rec.ExpiresAt, HolderKey: &h,
			Status:  map[string]any{"type": "TokenStatusList", "status_list": map[string]any{"idx": rec.Index, "uri": listURI}},
			Subject: p.subj,
		}.JSON()
	}
	return sdjwt.VCClaims{
		Issuer: t.DID, Type: cfg.VCT, IssuedAt: rec.CreatedAt, Expiry: rec.ExpiresAt, HolderKey: &h,
		Status: &sdjwt.StatusRef{Index: uint64(rec.Index), URI: listURI}, Subject: p.subj,
	}.JSON()
}

func uuidOf(hexID string) string {
	if len(hexID) != 32 {
		return hexID
	}
	return hexID[:8] + "-" + hexID[8:12] + "-" + hexID[12:16] + "-" + hexID[16:20] + "-" + hexID[20:]
}

// signAndCheck signs the claims recorded for p (r) and verifies the
// result with the core verifier, as a wallet receiving it would.
func (s *Service) signAndCheck(t *tenant, cfg *CredentialConfig, p *plan, r recorded) (string, error) {
	is := &sdjwt.Issuer{Signer: t.Signer, Profile: cfg.Profile, Header: map[string]any{"kid": t.KeyID}}
	issued, err := is.Issue(sdjwt.Request{Claims: r.claims, Disclose: cfg.disclose(p.subj)})
	if err != nil {
		return "", errs.Wrap(errs.Internal, "", "", fmt.Errorf("signing credential: %w", err))
	}
	sd := issued.String()
	v := &sdjwt.Verifier{Profile: cfg.Profile, Now: s.now, IssuerKey: func(iss string, h *jose.Header) (jose.PublicKey, error) {
		if iss != t.DID || h.Kid != t.KeyID {
			return jose.PublicKey{}, jose.ErrUnknownKey
		}
		return jose.PublicKey{Key: t.Signer.Public(), Alg: t.Signer.Algorithm()}, nil
	}}
	res, err := v.Verify(sd, sdjwt.Options{FromIssuer: true})
	if err != nil {
		return "", errs.Wrap(errs.Internal, "", "", fmt.Errorf("self-verifying credential: %w", err))
	}
	if res.HolderKey == nil || cfg.Profile == sdjwt.ProfileSDJWTVC && (res.Status == nil || res.Status.Index != uint64(r.rec.Index)) {
		return "", errs.Wrap(errs.Internal, "", "", fmt.Errorf("self-verifying credential: binding or status missing"))
	}
	return sd, nil
}

// decodeProofs reads the proofs member of a credential request.
func decodeProofs(raw map[string]any) ([]string, error) {
	pv, ok := raw["proofs"]
	if !ok {
		if _, single := raw["proof"]; single {
			return nil, ErrInvalidCredReq.With("use proofs, not proof (OpenID4VCI 1.0)", nil)
		}
		return nil, nil
	}
	pm, ok := pv.(map[string]any)
	if !ok || len(pm) != 1 {
		return nil, ErrInvalidCredReq.With("proofs must be an object with one proof type", nil)
	}
	arr, ok := pm["jwt"].([]any)
	if !ok || len(arr) == 0 {
		return nil, ErrInvalidProof.With("proofs.jwt must be a non-empty array", nil)
	}
	out := make([]string, len(arr))
	for i, v := range arr {
		s, ok := v.(string)
		if !ok {
			return nil, ErrInvalidProof.With("each proof must be a string", nil)
		}
		out[i] = s
	}
	return out, nil
}

// ParseCredentialRequest decodes a credential request body. Unknown
// members (such as a client's status, idx or iss) are ignored, as the spec
// requires; they never reach a credential.
func ParseCredentialRequest(body []byte, accessToken string) (CredentialRequest, error) {
	var raw map[string]any
	if err := jsonx.Unmarshal(body, &raw, false); err != nil {
		return CredentialRequest{}, ErrInvalidCredReq.With("the body is not a JSON object", err)
	}
	id, _ := raw["credential_configuration_id"].(string)
	_, byIdentifier := raw["credential_identifier"]
	switch {
	case byIdentifier:
		// Never with credential_configuration_id (§8.2), and not alone
		// either: no token of ours returns credential_identifiers.
		return CredentialRequest{}, ErrInvalidCredReq.With("credential_identifier is not supported; use credential_configuration_id only", nil)
	case id == "":
		return CredentialRequest{}, ErrInvalidCredReq.With("credential_configuration_id is required", nil)
	}
	if _, ok := raw["credential_response_encryption"]; ok {
		return CredentialRequest{}, ErrInvalidEncryption
	}
	proofs, err := decodeProofs(raw)
	if err != nil {
		return CredentialRequest{}, err
	}
	return CredentialRequest{AccessToken: accessToken, ConfigID: id, Proofs: proofs}, nil
}
