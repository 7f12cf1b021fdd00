package issuertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// Presentation is what Present did, for a test to look at.
type Presentation struct {
	Request *oid4vp.Request
	// RedirectURI is the verifier's answer for a same-device request.
	RedirectURI string
}

// Present answers the OpenID4VP authorization request authURI (as read
// from a verifier's QR code) with the credential sd (an SD-JWT as issued)
// bound to holder: it fetches the request object by request_uri (GET, or
// POST with a wallet_nonce), verifies it with the key of the verifier's
// did:key DID, discloses exactly the claims of the query's first
// credential query, adds a KB-JWT (the request's nonce, the full
// client_id, iat now), and posts the response as the request's
// response_mode asks (direct_post, or direct_post.jwt encrypted to the
// request's key), again while the verifier answers 503 (for up to 5 s).
// It does no consent and no over-asking check: a holder's job, not a test
// wallet's.
func (c *Client) Present(ctx context.Context, authURI, sd string, holder keys.Signer, now time.Time) (*Presentation, error) {
	req, err := c.FetchRequest(ctx, authURI, now)
	if err != nil {
		return nil, err
	}
	cq := req.DCQL.Credentials[0]
	var reveal []string
	for _, cl := range cq.Claims {
		reveal = append(reveal, pointer(cl.Path))
	}
	pres, err := sdjwt.Present(sd, reveal, &sdjwt.KeyBinding{Signer: holder, Nonce: req.Nonce, Audience: req.ClientID, IssuedAt: now})
	if err != nil {
		return nil, fmt.Errorf("presenting: %w", err)
	}
	status, ans, err := c.Respond(ctx, req, map[string][]string{cq.ID: {pres}})
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("posting the response: %d %s", status, ans)
	}
	out := &Presentation{Request: req}
	var a2 struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if err := json.Unmarshal(ans, &a2); err == nil {
		out.RedirectURI = a2.RedirectURI
	}
	return out, nil
}

// FetchRequest fetches the request object of the authorization request
// authURI by its request_uri (GET, or POST with a wallet_nonce) and
// verifies it with the key of the verifier's did:key DID at now (with 5 s
// of skew).
func (c *Client) FetchRequest(ctx context.Context, authURI string, now time.Time) (*oid4vp.Request, error) {
	a, err := oid4vp.ParseAuthorizationURI(authURI)
	if err != nil {
		return nil, err
	}
	method, body, ctype := "GET", []byte(nil), ""
	walletNonce := ""
	if a.Method == oid4vp.MethodPost {
		walletNonce = oid4vp.NewNonce()
		method, body, ctype = "POST", []byte(url.Values{"wallet_nonce": {walletNonce}}.Encode()), "application/x-www-form-urlencoded"
	}
	status, tok, err := c.do(ctx, method, a.RequestURI, "", ctype, body)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("fetching the request object: %d %s", status, tok)
	}
	// The verifier signs after the caller read now, maybe in the next
	// second (iat counts whole seconds): a few seconds of skew, as a
	// wallet allows.
	req, err := oid4vp.VerifyRequest(string(tok), DIDKeyLookup(ctx), oid4vp.VerifyOptions{ClientID: a.ClientID, WalletNonce: walletNonce, Now: now,
		Skew: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("verifying the request object: %w", err)
	}
	return req, nil
}

// Respond posts vpToken (query id → presentations) with req's state to
// req's response_uri as its response_mode asks (direct_post, or
// direct_post.jwt encrypted to the request's key), again while the
// verifier answers 503 (for up to 5 s), and returns the verifier's last
// answer: its status code and body.
func (c *Client) Respond(ctx context.Context, req *oid4vp.Request, vpToken map[string][]string) (int, []byte, error) {
	resp := &oid4vp.Response{VPToken: vpToken, State: req.State}
	var form url.Values
	if req.ResponseMode == oid4vp.DirectPostJWT {
		k, err := req.Metadata.EncryptionKey()
		if err != nil {
			return 0, nil, err
		}
		enc, err := req.Metadata.Enc()
		if err != nil {
			return 0, nil, err
		}
		jwe, err := oid4vp.EncryptResponse(resp, k, enc)
		if err != nil {
			return 0, nil, err
		}
		form = url.Values{"response": {jwe}}
	} else {
		var err error
		if form, err = oid4vp.ResponseForm(resp); err != nil {
			return 0, nil, err
		}
	}
	// A verifier that cannot complete its check (a status list not
	// published yet, the registry unreachable) answers 503 and records
	// nothing: the same response may be posted again.
	for try := 0; ; try++ {
		status, ans, err := c.do(ctx, "POST", req.ResponseURI, "", "application/x-www-form-urlencoded", []byte(form.Encode()))
		if err != nil || status != 503 || try == 50 {
			return status, ans, err
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pointer is the JSON Pointer of a claims path made of member names.
func pointer(p dcql.Path) string {
	var b strings.Builder
	for _, c := range p {
		if c.Kind() == dcql.KeyComponent {
			b.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(c.Key(), "~", "~0"), "/", "~1"))
		}
	}
	return b.String()
}

// DIDKeyLookup finds a request object's key in a did:key verifier DID.
func DIDKeyLookup(ctx context.Context) oid4vp.KeyFunc {
	return func(d, kid string) (jose.PublicKey, error) {
		res, err := did.KeyResolver{}.Resolve(ctx, d, did.ResolveOptions{})
		if err != nil {
			return jose.PublicKey{}, err
		}
		pub, alg, err := res.Document.PublicKey(kid, did.AnyRelationship)
		if err != nil {
			return jose.PublicKey{}, err
		}
		return jose.PublicKey{Key: pub, Alg: alg}, nil
	}
}
