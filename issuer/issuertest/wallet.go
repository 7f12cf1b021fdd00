// Package issuertest is an admin client of the issuer, and a test wallet
// over internal/oid4vci, over real HTTP, for end-to-end tests and the load
// command. It holds keys only in memory and must never be used as a
// production wallet: it allows loopback and plain HTTP, does not verify
// what it receives and keeps no history.
package issuertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/oid4vci"
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

// Session is a wallet holding an access token for one offer: the
// project's one OpenID4VCI client, internal/oid4vci.
type Session = oid4vci.Session

// Option changes how Redeem redeems an offer.
type Option func(*oid4vci.Options)

// WithDPoP makes the session hold a DPoP-bound token: a fresh ES256 DPoP
// key whose proofs (RFC 9449), with iat from now (nil: time.Now), go to
// the token endpoint and, with the DPoP scheme, the credential endpoint.
// Without it Redeem asks for a bearer token.
func WithDPoP(now func() time.Time) Option {
	return func(o *oid4vci.Options) { o.DPoP, o.Now = oid4vci.DPoPAlways, now }
}

// wallet returns an OpenID4VCI client over c.HTTP's transport, allowed
// to reach the loopback test server over plain HTTP.
func (c *Client) wallet(opts ...Option) (*oid4vci.Client, error) {
	o := oid4vci.Options{AllowLoopback: true, AllowHTTP: true, DPoP: oid4vci.DPoPNever}
	if c.HTTP != nil {
		o.Transport = c.HTTP.Transport
	}
	for _, f := range opts {
		f(&o)
	}
	return oid4vci.New(o)
}

// Session returns a bearer session for an access token obtained
// elsewhere, at issuer's /credential and /nonce endpoints.
func (c *Client) Session(issuer, configID, token string) *Session {
	w, err := c.wallet()
	if err != nil {
		panic(err) // a test's misconfigured transport
	}
	return w.NewSession(issuer, configID, token, "Bearer", nil)
}

// Redeem resolves an offer URI, by reference (credential_offer_uri) or
// by value (credential_offer), on c's server only, and redeems its
// pre-authorized code with txCode. Without options the session holds a
// bearer token; WithDPoP makes it hold a DPoP-bound one.
func (c *Client) Redeem(ctx context.Context, offerURI, txCode string, opts ...Option) (*Session, error) {
	w, err := c.wallet(opts...)
	if err != nil {
		return nil, err
	}
	ref, err := oid4vci.ParseOfferURI(offerURI)
	if err != nil {
		return nil, err
	}
	if ref.URI != "" && !strings.HasPrefix(ref.URI, c.Base+"/") {
		return nil, fmt.Errorf("the offer points elsewhere")
	}
	o, err := w.ResolveOffer(ctx, offerURI)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(o.CredentialIssuer, c.Base+"/") {
		return nil, fmt.Errorf("the offer names another issuer")
	}
	sess, err := w.Redeem(ctx, o, txCode)
	if err != nil {
		return nil, err
	}
	var dpop oid4vci.Options
	for _, f := range opts {
		f(&dpop)
	}
	if want := map[bool]string{true: "DPoP", false: "Bearer"}[dpop.DPoP == oid4vci.DPoPAlways]; sess.TokenType != want {
		return nil, fmt.Errorf("token: token_type %q, want %q", sess.TokenType, want)
	}
	return sess, nil
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
