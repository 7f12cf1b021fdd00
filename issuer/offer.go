package issuer

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
)

// PreAuthGrant is the OpenID4VCI grant type of the pre-authorized code flow.
const PreAuthGrant = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

// TxCodeLength is the number of digits of a tx_code.
const TxCodeLength = 6

// OAuth errors of the token endpoint (RFC 6749 §5.2, OpenID4VCI §6.3).
var (
	ErrInvalidGrant     = errs.E(errs.Invalid, "invalid_grant", "the pre-authorized code or tx_code is invalid, used or expired")
	ErrUnsupportedGrant = errs.E(errs.Invalid, "unsupported_grant_type", "only the pre-authorized code grant is supported")
	ErrInvalidRequest   = errs.E(errs.Invalid, "invalid_request", "the request is malformed")
	ErrInvalidToken     = errs.E(errs.Unauthorized, "invalid_token", "the access token is invalid, used or expired")
)

// Actor is who performs an admin action.
type Actor struct {
	TenantID  string
	ID        string // API key ID
	RequestID string
}

// OfferRequest is what an admin sends to create an offer.
type OfferRequest struct {
	ConfigID    string
	SubjectRef  string // the agency's own reference for the citizen
	SubjectData []byte // JSON object validated against the configuration's schema
}

// Offer is a created offer. TxCode and the code inside URI's target are
// shown once, here; only their hashes are stored.
type Offer struct {
	ID  string
	URI string // by reference: openid-credential-offer://?credential_offer_uri=… (or haip://, Config.OfferScheme)
	// ByValueURI carries the offer JSON itself
	// (openid-credential-offer://?credential_offer=…, or haip://), for a wallet on the
	// same device that cannot or should not fetch it. Its pre-authorized
	// code is the same as the one behind URI: either redeems the offer, once.
	ByValueURI string
	OfferURL   string // where the offer JSON is served
	TxCode     string
	ExpiresAt  time.Time
}

// CreateOffer validates the subject data against the configuration's
// schema and stores an offer with a fresh pre-authorized code and
// tx_code, audited in the same transaction. Errors:
// unknown_credential_configuration, invalid_subject_data, invalid_request,
// audit_unavailable (503: the audit could not be written, nothing is
// stored), store errors.
func (s *Service) CreateOffer(ctx context.Context, a Actor, req OfferRequest) (*Offer, error) {
	t, err := s.tenant(a.TenantID)
	if err != nil {
		return nil, err
	}
	cfg, ok := t.configs[req.ConfigID]
	if !ok {
		return nil, ErrUnknownConfig
	}
	if req.SubjectRef == "" || len(req.SubjectRef) > 200 {
		return nil, ErrInvalidRequest.With("subject_ref must be 1 to 200 characters", nil)
	}
	if _, err := cfg.ValidateSubject(req.SubjectData); err != nil {
		return nil, err
	}
	now := s.now()
	id, code, tx := randomID(), randomToken(32), randomDigits(TxCodeLength)
	o := store.CredentialOffer{
		ID: id, TenantID: t.ID, ConfigID: cfg.ID, SubjectRef: req.SubjectRef, SubjectData: req.SubjectData,
		CodeHash: hash(code), TxCodeHash: hash(tx), Actor: a.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.OfferTTL),
	}
	// The code is the last path segment of the offer URL (the offer by
	// reference): only its hash is stored, and the wallet that scanned the
	// QR code is the one that can present it.
	err = s.inTx(ctx, func(tx Tx) error {
		if err := tx.CreateOffer(ctx, o); err != nil {
			return err
		}
		_, err := tx.AppendAudit(ctx, store.AuditRecord{Time: now, TenantID: t.ID, Actor: a.ID, Action: "credential_offer.create",
			Target: id, RequestID: a.RequestID, Outcome: "ok"})
		if err != nil {
			// F8: no offer without its audit, and the admin is told to retry.
			return store.ErrAuditUnavailable.With("", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("creating offer: %w", err)
	}
	offerURL := s.IssuerURL(t.ID) + "/offers/" + code
	doc, err := json.Marshal(s.offerDocument(t, code, o.ConfigID, o.TxCodeHash != nil))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "", "", fmt.Errorf("encoding the offer: %w", err))
	}
	return &Offer{ID: id, OfferURL: offerURL, TxCode: tx, ExpiresAt: o.ExpiresAt,
		URI:        s.cfg.OfferScheme + "?credential_offer_uri=" + url.QueryEscape(offerURL),
		ByValueURI: s.cfg.OfferScheme + "?credential_offer=" + url.QueryEscape(string(doc))}, nil
}

// The URI schemes of a credential offer: OpenID4VCI's (§4.1), and the one
// HAIP 1.0 (§4.1) has wallets register.
const (
	OfferScheme     = "openid-credential-offer://"
	HAIPOfferScheme = "haip://"
)

// OfferDocument is the credential offer JSON (OpenID4VCI §4.1.1).
type OfferDocument struct {
	CredentialIssuer string         `json:"credential_issuer"`
	ConfigIDs        []string       `json:"credential_configuration_ids"`
	Grants           map[string]any `json:"grants"`
}

// ErrOfferNotFound: an unknown, used or expired offer.
var ErrOfferNotFound = errs.E(errs.NotFound, "offer_not_found", "the credential offer does not exist, was used or has expired")

// OfferDocument returns the offer by reference: code is the last segment
// of the offer URL. Only an offer still waiting for its token request is
// served.
func (s *Service) OfferDocument(ctx context.Context, tenantID, code string) (*OfferDocument, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	if code == "" || len(code) > 256 {
		return nil, ErrOfferNotFound
	}
	o, err := s.cfg.Store.OfferByCode(ctx, hash(code), s.now())
	if errors.Is(err, store.ErrNotFound) || err == nil && o.TenantID != t.ID {
		return nil, ErrOfferNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.offerDocument(t, code, o.ConfigID, o.TxCodeHash != nil), nil
}

// offerDocument is the offer JSON of a pre-authorized code, served by
// reference and carried by value alike.
func (s *Service) offerDocument(t *tenant, code, configID string, txCode bool) *OfferDocument {
	grant := map[string]any{"pre-authorized_code": code}
	if txCode {
		grant["tx_code"] = map[string]any{"input_mode": "numeric", "length": TxCodeLength,
			"description": "The code the agency sent you separately"}
	}
	return &OfferDocument{CredentialIssuer: s.IssuerURL(t.ID), ConfigIDs: []string{configID},
		Grants: map[string]any{PreAuthGrant: grant}}
}

// TokenRequest is a token request of the pre-authorized code flow.
type TokenRequest struct {
	GrantType string
	Code      string
	TxCode    string
	Client    string // the client's rate-limit key: httpx.ClientKey of its address
	// DPoP holds the values of the request's DPoP headers (RFC 9449);
	// none for a bearer token.
	DPoP []string
}

// TokenResponse is the token endpoint's answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// Token redeems a pre-authorized code. Every request counts as one of the
// code's MaxTxCodeAttempts, right or wrong, so that five wrong tx_codes
// kill the code even under concurrency.
//
// With a DPoP proof (req.DPoP), the token is bound to the proof's key: the
// proof is checked (checkDPoP) after the client's rate limit and before
// the code's, its jti is recorded before the code is looked up (so a bad
// or replayed proof spends none of the code's attempts), and the key's
// thumbprint is stored with the token, whose type is then DPoP. Without
// one the token is a bearer token, unless Config.RequireDPoP refuses it.
//
// Errors: unsupported_grant_type, invalid_request, invalid_dpop_proof,
// invalid_grant, rate_limited (with Retry-After).
func (s *Service) Token(ctx context.Context, tenantID string, req TokenRequest) (*TokenResponse, error) {
	t, err := s.tenant(tenantID)
	if err != nil {
		return nil, err
	}
	if req.GrantType != PreAuthGrant {
		return nil, ErrUnsupportedGrant
	}
	if req.Code == "" || len(req.Code) > 256 || len(req.TxCode) > 64 {
		return nil, ErrInvalidRequest.With("pre-authorized_code is required", nil)
	}
	if err := s.allow(ctx, "issuer/token/client:"+req.Client, s.cfg.RatePerClient); err != nil {
		return nil, err
	}
	now := s.now()
	var proof *dpopProof
	switch {
	case len(req.DPoP) > 0:
		p, err := checkDPoP(req.DPoP, dpopRequest{htm: "POST", htu: s.IssuerURL(t.ID) + "/token"}, now)
		if err != nil {
			return nil, err
		}
		proof = &p
	case s.cfg.RequireDPoP:
		return nil, ErrInvalidDPoPProof.With("this issuer issues DPoP-bound access tokens only: send a DPoP proof", nil)
	}
	codeHash := hash(req.Code)
	// Per tenant: a code sent to another tenant's endpoint spends neither
	// the code's attempts nor its rate budget.
	if err := s.allow(ctx, "issuer/token/code:"+t.ID+":"+hex.EncodeToString(codeHash), s.cfg.RatePerCode); err != nil {
		return nil, err
	}
	tokenType, jkt := SchemeBearer, ""
	if proof != nil {
		if err := s.useDPoP(ctx, *proof); err != nil {
			return nil, err
		}
		tokenType, jkt = SchemeDPoP, proof.jkt
	}
	o, err := s.cfg.Store.AttemptOffer(ctx, t.ID, codeHash, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidGrant
	}
	if err != nil {
		return nil, err
	}
	// Both failures below have spent one of the code's attempts.
	switch {
	case o.TxCodeHash == nil:
	case req.TxCode == "":
		return nil, ErrInvalidRequest.With("this offer requires its tx_code", nil) // OpenID4VCI §6.3
	case subtle.ConstantTimeCompare(hash(req.TxCode), o.TxCodeHash) != 1:
		// The same answer as for a dead or unknown code: a leaked code's
		// holder learns nothing about whether it is still live.
		return nil, ErrInvalidGrant
	}
	tok := randomToken(32)
	if err := s.cfg.Store.RedeemOffer(ctx, o.ID, hash(tok), jkt, now.Add(s.cfg.TokenTTL), now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrInvalidGrant
		}
		return nil, err
	}
	return &TokenResponse{AccessToken: tok, TokenType: tokenType, ExpiresIn: int(s.cfg.TokenTTL.Seconds())}, nil
}

// Nonce returns a fresh single-use c_nonce. client is the caller's
// rate-limit key (httpx.ClientKey): each client may ask for RatePerClient
// nonces per RateWindow (the endpoint is unauthenticated and every nonce
// is a stored row).
func (s *Service) Nonce(ctx context.Context, tenantID, client string) (string, error) {
	if _, err := s.tenant(tenantID); err != nil {
		return "", err
	}
	if err := s.allow(ctx, "issuer/nonce/client:"+client, s.cfg.RatePerClient); err != nil {
		return "", err
	}
	n := randomToken(24)
	if err := s.cfg.Store.PutSingleUse(ctx, store.SingleUse{Kind: "c_nonce", Value: n,
		Data: []byte(tenantID), ExpiresAt: s.now().Add(s.cfg.NonceTTL)}); err != nil {
		return "", fmt.Errorf("storing c_nonce: %w", err)
	}
	return n, nil
}
