package oid4vci

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/ssi-project/ssi/internal/keys"
)

// ResolveOffer reads an offer URI and, for an offer by reference, fetches
// the offer object. Errors: ParseOfferURI's and ParseOffer's, the URL and
// fetch errors, ErrIssuerRefused, ErrIssuerResponse.
func (c *Client) ResolveOffer(ctx context.Context, offerURI string) (*Offer, error) {
	ref, err := ParseOfferURI(offerURI)
	if err != nil {
		return nil, err
	}
	if ref.Offer != nil {
		return ref.Offer, nil
	}
	r, err := c.do(ctx, http.MethodGet, ref.URI, nil, "", nil)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := r.decode("credential offer", &raw); err != nil {
		return nil, err
	}
	return ParseOffer(raw)
}

// Session is a redeemed offer: an access token for one issuer.
type Session struct {
	c        *Client
	Offer    *Offer
	Metadata *IssuerMetadata
	// Issuer is the credential issuer identifier; CredentialEndpoint and
	// NonceEndpoint come from its metadata.
	Issuer             string
	CredentialEndpoint string
	NonceEndpoint      string
	ConfigID           string
	Token              string
	// TokenType is the token response's token_type: Bearer or DPoP.
	TokenType string
	// DPoPKey is the session's DPoP key, nil for a bearer session. Every
	// request with the token carries a fresh proof of it.
	DPoPKey keys.Signer
	// NextDPoPProof, when set, is sent with the next credential request
	// instead of a fresh proof of DPoPKey, and then cleared: a load test
	// prepares its proofs before its timed phase.
	NextDPoPProof string
}

// NewSession returns a session for a token obtained elsewhere, at an
// issuer whose credential endpoint is issuer+"/credential" and nonce
// endpoint issuer+"/nonce" (the load command's shortcut past metadata).
func (c *Client) NewSession(issuer, configID, token, tokenType string, dpopKey keys.Signer) *Session {
	return &Session{c: c, Issuer: issuer, ConfigID: configID, Token: token, TokenType: tokenType, DPoPKey: dpopKey,
		CredentialEndpoint: issuer + "/credential", NonceEndpoint: issuer + "/nonce"}
}

// Redeem redeems offer o's pre-authorized code with txCode: it reads the
// issuer's and its authorization server's metadata, and sends the token
// request, with a DPoP proof of a fresh key when the client's DPoPMode
// says so. The session is for o's first configuration. Errors: the
// metadata errors, ErrInvalidOffer (a tx_code the offer needs is
// missing), ErrIssuerRefused (e.g. invalid_grant for a wrong tx_code),
// ErrIssuerResponse.
func (c *Client) Redeem(ctx context.Context, o *Offer, txCode string) (*Session, error) {
	if o.TxCode != nil && txCode == "" {
		return nil, ErrInvalidOffer.With("the offer needs a transaction code", nil)
	}
	md, err := c.IssuerMetadata(ctx, o.CredentialIssuer)
	if err != nil {
		return nil, err
	}
	if _, ok := md.Configurations[o.ConfigIDs[0]]; !ok {
		return nil, ErrInvalidOffer.With("the offer names a configuration the issuer does not list", nil)
	}
	asID, err := authServer(o, md)
	if err != nil {
		return nil, err
	}
	as, err := c.ASMetadata(ctx, asID)
	if err != nil {
		return nil, err
	}
	s := &Session{c: c, Offer: o, Metadata: md, Issuer: md.CredentialIssuer, ConfigID: o.ConfigIDs[0],
		CredentialEndpoint: md.CredentialEndpoint, NonceEndpoint: md.NonceEndpoint}
	useDPoP := c.o.DPoP == DPoPAlways
	if c.o.DPoP == DPoPAuto {
		for _, a := range as.DPoPAlgs {
			useDPoP = useDPoP || a == keys.ES256
		}
	}
	form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {o.PreAuthCode}}
	if o.TxCode != nil {
		form.Set("tx_code", txCode)
	}
	hdr := http.Header{}
	if useDPoP {
		if s.DPoPKey, err = keys.Generate(keys.ES256); err != nil {
			return nil, err
		}
		p, err := DPoPProof(s.DPoPKey, http.MethodPost, as.TokenEndpoint, "", c.o.Now())
		if err != nil {
			return nil, err
		}
		hdr.Set("DPoP", p)
	}
	r, err := c.do(ctx, http.MethodPost, as.TokenEndpoint, hdr, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return nil, err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := r.decode("token", &tr); err != nil {
		return nil, err
	}
	switch {
	case !validString(tr.AccessToken):
		return nil, ErrIssuerResponse.With("the token response has no usable access_token", nil)
	case tr.TokenType == "DPoP" && s.DPoPKey != nil, equalFold(tr.TokenType, "Bearer"):
	default:
		return nil, ErrIssuerResponse.With("the token response has an unexpected token_type", nil)
	}
	if equalFold(tr.TokenType, "Bearer") {
		s.DPoPKey, tr.TokenType = nil, "Bearer"
	}
	s.Token, s.TokenType = tr.AccessToken, tr.TokenType
	return s, nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// authHeaders present the session's token to a POST to htu: Bearer, or
// DPoP with a fresh proof.
func (s *Session) authHeaders(htu string) (http.Header, error) {
	hdr := http.Header{}
	if s.DPoPKey == nil {
		hdr.Set("Authorization", "Bearer "+s.Token)
		return hdr, nil
	}
	p := s.NextDPoPProof
	s.NextDPoPProof = ""
	if p == "" {
		var err error
		if p, err = DPoPProof(s.DPoPKey, http.MethodPost, htu, s.Token, s.c.o.Now()); err != nil {
			return nil, err
		}
	}
	hdr.Set("Authorization", "DPoP "+s.Token)
	hdr.Set("DPoP", p)
	return hdr, nil
}

// Nonce fetches a c_nonce from the nonce endpoint; "" when the issuer has
// none. Errors: the fetch errors, ErrIssuerRefused, ErrIssuerResponse.
func (s *Session) Nonce(ctx context.Context) (string, error) {
	if s.NonceEndpoint == "" {
		return "", nil
	}
	r, err := s.c.do(ctx, http.MethodPost, s.NonceEndpoint, nil, "", nil)
	if err != nil {
		return "", err
	}
	var n struct {
		CNonce string `json:"c_nonce"`
	}
	if err := r.decode("nonce", &n); err != nil {
		return "", err
	}
	if !validString(n.CNonce) {
		return "", ErrIssuerResponse.With("the nonce response has no c_nonce", nil)
	}
	return n.CNonce, nil
}

// BatchSize is the most proofs one request may carry (1 without
// metadata).
func (s *Session) BatchSize() int {
	if s.Metadata == nil {
		return 1
	}
	return s.Metadata.BatchSize()
}

// Credentials sends one credential request with proofs (jwt key proofs,
// each of a distinct key) and returns the issued credentials, at most one
// per proof, in the issuer's order. Errors: ErrIssuerResponse for more
// proofs than the batch size allows (checked before sending), a deferred
// answer, more credentials than proofs, a credential that is not a
// string; ErrCredentialTooLarge; the fetch errors; ErrIssuerRefused.
func (s *Session) Credentials(ctx context.Context, proofs []string) ([]string, error) {
	if len(proofs) == 0 || (s.Metadata != nil && len(proofs) > s.BatchSize()) {
		return nil, ErrIssuerResponse.With("the request must carry 1 to batch_size proofs", nil)
	}
	body, err := json.Marshal(map[string]any{"credential_configuration_id": s.ConfigID, "proofs": map[string]any{"jwt": proofs}})
	if err != nil {
		return nil, err
	}
	hdr, err := s.authHeaders(s.CredentialEndpoint)
	if err != nil {
		return nil, err
	}
	r, err := s.c.do(ctx, http.MethodPost, s.CredentialEndpoint, hdr, "application/json", body)
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusAccepted {
		return nil, ErrIssuerResponse.With("the issuer deferred the issuance, which this wallet does not support", nil)
	}
	var out struct {
		Credentials []struct {
			Credential json.RawMessage `json:"credential"`
		} `json:"credentials"`
	}
	if err := r.decode("credential", &out); err != nil {
		return nil, err
	}
	if len(out.Credentials) == 0 || len(out.Credentials) > len(proofs) {
		return nil, ErrIssuerResponse.With("the issuer returned no credentials or more than one per proof", nil)
	}
	creds := make([]string, len(out.Credentials))
	for i, c := range out.Credentials {
		if len(c.Credential) > s.c.o.MaxCredential+2 {
			return nil, ErrCredentialTooLarge
		}
		if err := json.Unmarshal(c.Credential, &creds[i]); err != nil || creds[i] == "" {
			return nil, ErrIssuerResponse.With("an issued credential is not a string", nil)
		}
	}
	return creds, nil
}

// Resume binds a session that was stored between two calls (a device
// key's prepare and submit) and rebuilt by the caller to c.
func (c *Client) Resume(s *Session) *Session {
	s.c = c
	return s
}
