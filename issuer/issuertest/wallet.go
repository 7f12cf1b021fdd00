// Package issuertest is a minimal OpenID4VCI wallet and admin client over
// real HTTP, for end-to-end tests and the load command. It holds keys only
// in memory and must never be used as a production wallet: it trusts the
// issuer's answers and keeps no history.
package issuertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// Offer is the admin API's answer to creating an offer.
type Offer struct {
	ID         string `json:"id"`
	OfferURI   string `json:"offer_uri"`
	ByValueURI string `json:"offer_by_value_uri"`
	TxCode     string `json:"tx_code"`
}

// Client talks to one ssi server.
type Client struct {
	HTTP *http.Client
	Base string // the server's public URL
}

func (c *Client) do(ctx context.Context, method, u, auth, contentType string, body []byte) (int, []byte, error) {
	hdr := http.Header{}
	if auth != "" {
		hdr.Set("Authorization", "Bearer "+auth)
	}
	return c.doWith(ctx, method, u, hdr, contentType, body)
}

// doWith sends a request with the headers hdr.
func (c *Client) doWith(ctx context.Context, method, u string, hdr http.Header, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, err
}

// CreateOffer creates an offer as the admin holding apiKey.
func (c *Client) CreateOffer(ctx context.Context, apiKey, configID, subjectRef string, subject any) (*Offer, error) {
	body, err := json.Marshal(map[string]any{"credential_configuration_id": configID, "subject_ref": subjectRef, "subject_data": subject})
	if err != nil {
		return nil, err
	}
	code, b, err := c.do(ctx, http.MethodPost, c.Base+"/issuer/v1/offers", apiKey, "application/json", body)
	if err != nil {
		return nil, err
	}
	if code != http.StatusCreated {
		return nil, fmt.Errorf("creating offer: status %d: %s", code, b)
	}
	var o Offer
	return &o, json.Unmarshal(b, &o)
}

// SetStatus revokes, suspends or unsuspends a credential as an admin.
func (c *Client) SetStatus(ctx context.Context, apiKey, id, action, reason string) error {
	body, _ := json.Marshal(map[string]string{"reason": reason})
	code, b, err := c.do(ctx, http.MethodPost, c.Base+"/issuer/v1/credentials/"+url.PathEscape(id)+"/"+action, apiKey, "application/json", body)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", action, code, b)
	}
	return nil
}

// Record is an issuance record as the admin API lists it.
type Record struct {
	ID         string `json:"id"`
	StatusList string `json:"status_list"`
	Index      int64  `json:"idx"`
	Status     string `json:"status"`
}

// Records lists the admin's tenant's records for subjectRef.
func (c *Client) Records(ctx context.Context, apiKey, subjectRef string) ([]Record, error) {
	code, b, err := c.do(ctx, http.MethodGet, c.Base+"/issuer/v1/credentials?subject_ref="+url.QueryEscape(subjectRef), apiKey, "", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("listing records: status %d: %s", code, b)
	}
	var out struct{ Credentials []Record }
	return out.Credentials, json.Unmarshal(b, &out)
}

// Session is a wallet holding an access token for one offer.
type Session struct {
	c        *Client
	Issuer   string // the credential issuer identifier
	ConfigID string
	Token    string
	// TokenType is the token response's token_type: Bearer, or DPoP for
	// a session redeemed WithDPoP.
	TokenType string
	// DPoPKey is the session's DPoP key (WithDPoP), nil for a bearer
	// session. Every request it makes with the token carries a fresh proof
	// of it.
	DPoPKey keys.Signer
	// NextDPoPProof, when set, is sent with the next request instead of a
	// fresh proof of DPoPKey, and then cleared: a load test prepares its
	// proofs before the timed phase, as it does its key proofs.
	NextDPoPProof string
	now           func() time.Time
}

// Option changes how Redeem redeems an offer.
type Option func(*Session) error

// WithDPoP makes a fresh ES256 DPoP key for the session and sends DPoP
// proofs of it (RFC 9449), with iat from now (nil: time.Now), at the
// token endpoint and, with the DPoP scheme, at the credential endpoint.
func WithDPoP(now func() time.Time) Option {
	return func(s *Session) error {
		k, err := keys.Generate(keys.ES256)
		if err != nil {
			return err
		}
		s.DPoPKey, s.now = k, now
		if s.now == nil {
			s.now = time.Now
		}
		return nil
	}
}

// DPoPProof builds a dpop+jwt proof of key for a request of method htm to
// htu, at iat, with a random jti; with an access token it carries ath,
// the token's base64url SHA-256.
func DPoPProof(key keys.Signer, htm, htu, accessToken string, iat time.Time) (string, error) {
	jwk, err := jose.PublicJWK(key.Public())
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	c := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": htm, "htu": htu, "iat": iat.Unix()}
	if accessToken != "" {
		h := sha256.Sum256([]byte(accessToken))
		c["ath"] = base64.RawURLEncoding.EncodeToString(h[:])
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return jose.Sign(key, map[string]any{"typ": "dpop+jwt", "jwk": jwk.Map()}, payload)
}

// authHeaders are the headers that present the session's token to htu:
// Bearer, or DPoP with a fresh proof.
func (s *Session) authHeaders(htu string) (http.Header, error) {
	hdr := http.Header{}
	if s.DPoPKey == nil {
		hdr.Set("Authorization", "Bearer "+s.Token)
		return hdr, nil
	}
	p := s.NextDPoPProof
	s.NextDPoPProof = ""
	if p == "" {
		now := s.now
		if now == nil { // a session whose DPoPKey was set directly
			now = time.Now
		}
		var err error
		if p, err = DPoPProof(s.DPoPKey, http.MethodPost, htu, s.Token, now()); err != nil {
			return nil, err
		}
	}
	hdr.Set("Authorization", "DPoP "+s.Token)
	hdr.Set("DPoP", p)
	return hdr, nil
}

// Session returns a session for a bearer access token obtained elsewhere.
func (c *Client) Session(issuer, configID, token string) *Session {
	return &Session{c: c, Issuer: issuer, ConfigID: configID, Token: token, TokenType: "Bearer"}
}

// Redeem resolves an offer URI, by reference (credential_offer_uri) or
// by value (credential_offer), and redeems its pre-authorized code with
// txCode. Without options the session holds a bearer token; WithDPoP
// makes it hold a DPoP-bound one.
func (c *Client) Redeem(ctx context.Context, offerURI, txCode string, opts ...Option) (*Session, error) {
	sess := &Session{c: c}
	for _, o := range opts {
		if err := o(sess); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(offerURI)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "openid-credential-offer" && u.Scheme != "haip" {
		return nil, fmt.Errorf("not a credential offer URI")
	}
	b := []byte(u.Query().Get("credential_offer"))
	if len(b) == 0 {
		ref := u.Query().Get("credential_offer_uri")
		if !strings.HasPrefix(ref, c.Base+"/") {
			return nil, fmt.Errorf("the offer points elsewhere")
		}
		var code int
		code, b, err = c.do(ctx, http.MethodGet, ref, "", "", nil)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("fetching offer: status %d: %s", code, b)
		}
	}
	var doc struct {
		CredentialIssuer string                    `json:"credential_issuer"`
		ConfigIDs        []string                  `json:"credential_configuration_ids"`
		Grants           map[string]map[string]any `json:"grants"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.ConfigIDs) == 0 {
		return nil, fmt.Errorf("decoding offer: %v", err)
	}
	if !strings.HasPrefix(doc.CredentialIssuer, c.Base+"/") {
		return nil, fmt.Errorf("the offer names another issuer")
	}
	pre, _ := doc.Grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"].(string)
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:pre-authorized_code"}, "pre-authorized_code": {pre}, "tx_code": {txCode}}
	hdr := http.Header{}
	if sess.DPoPKey != nil {
		p, err := DPoPProof(sess.DPoPKey, http.MethodPost, doc.CredentialIssuer+"/token", "", sess.now())
		if err != nil {
			return nil, err
		}
		hdr.Set("DPoP", p)
	}
	code, b, err := c.doWith(ctx, http.MethodPost, doc.CredentialIssuer+"/token", hdr, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("token: status %d: %s", code, b)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		return nil, err
	}
	if want := map[bool]string{true: "DPoP", false: "Bearer"}[sess.DPoPKey != nil]; tr.TokenType != want {
		return nil, fmt.Errorf("token: token_type %q, want %q", tr.TokenType, want)
	}
	sess.Issuer, sess.ConfigID, sess.Token, sess.TokenType = doc.CredentialIssuer, doc.ConfigIDs[0], tr.AccessToken, tr.TokenType
	return sess, nil
}

// Nonce fetches a c_nonce.
func (s *Session) Nonce(ctx context.Context) (string, error) {
	code, b, err := s.c.do(ctx, http.MethodPost, s.Issuer+"/nonce", "", "", nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("nonce: status %d: %s", code, b)
	}
	var n struct {
		CNonce string `json:"c_nonce"`
	}
	return n.CNonce, json.Unmarshal(b, &n)
}

// Proof builds an openid4vci-proof+jwt for holder with a header jwk.
func Proof(holder keys.Signer, aud, nonce string, iat time.Time) (string, error) {
	jwk, err := jose.PublicJWK(holder.Public())
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]any{"aud": aud, "iat": iat.Unix(), "nonce": nonce})
	if err != nil {
		return "", err
	}
	return jose.Sign(holder, map[string]any{"typ": "openid4vci-proof+jwt", "jwk": jwk.Map()}, payload)
}

// Credentials sends a credential request with the given proofs and
// returns the issued SD-JWTs.
func (s *Session) Credentials(ctx context.Context, proofs []string) ([]string, error) {
	body, err := json.Marshal(map[string]any{"credential_configuration_id": s.ConfigID, "proofs": map[string]any{"jwt": proofs}})
	if err != nil {
		return nil, err
	}
	u := s.Issuer + "/credential"
	hdr, err := s.authHeaders(u)
	if err != nil {
		return nil, err
	}
	code, b, err := s.c.doWith(ctx, http.MethodPost, u, hdr, "application/json", body)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("credential: status %d: %s", code, b)
	}
	var out struct {
		Credentials []struct {
			Credential string `json:"credential"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	creds := make([]string, len(out.Credentials))
	for i, c := range out.Credentials {
		creds[i] = c.Credential
	}
	return creds, nil
}

// StatusList fetches a served status list: its token, and the published
// version it is (the issuer's Status-List-Version header), whose anchor
// receipt ReceiptHash reads.
func (c *Client) StatusList(ctx context.Context, uri string) (token string, version uint64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("status list: status %d", resp.StatusCode)
	}
	version, err = strconv.ParseUint(resp.Header.Get("Status-List-Version"), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("status list version: %w", err)
	}
	return string(b), version, nil
}

// ReceiptHash returns the anchored SHA-256 (hex) of version of the list at
// uri, or "" while the version is not anchored.
func (c *Client) ReceiptHash(ctx context.Context, uri string, version uint64) (string, error) {
	code, b, err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/versions/%d/receipt", uri, version), "", "", nil)
	if err != nil || code != http.StatusOK {
		return "", err
	}
	var r struct {
		Entry struct {
			SHA256 string `json:"sha256"`
		} `json:"entry"`
	}
	return r.Entry.SHA256, json.Unmarshal(b, &r)
}
