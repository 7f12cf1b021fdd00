package oid4vp

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// Protocol constants of OpenID4VP 1.0 as ssi uses them.
const (
	TypRequestObject    = "oauth-authz-req+jwt"
	ResponseTypeVPToken = "vp_token"
	DirectPost          = "direct_post"
	DirectPostJWT       = "direct_post.jwt"
	// ClientIDPrefixDID is the Client Identifier Prefix of §5.9.3: the
	// rest of the client_id is a DID, and the request object is signed by
	// a key of its document.
	ClientIDPrefixDID = "decentralized_identifier:"
	FormatSDJWTVC     = "dc+sd-jwt"
	// StaticAudience is the request object's aud for a wallet found by
	// the static configuration of §5.8 / §13.1.2.
	StaticAudience = "https://self-issued.me/v2"
	// JWEAlg is the one key management algorithm (HAIP §5.2).
	JWEAlg     = "ECDH-ES"
	EncA128GCM = "A128GCM"
	EncA256GCM = "A256GCM"

	// MinNonceBytes is the least entropy of a nonce: 128 bits (§14.1).
	MinNonceBytes = 16
	// MaxRequestObjectSize caps a request object the wallet reads.
	MaxRequestObjectSize = 64 << 10
	// MaxResponseSize caps the vp_token or the encrypted response.
	MaxResponseSize = 256 << 10
	// maxStringLen caps nonce, state and wallet_nonce.
	maxStringLen = 512
)

// SupportedEncs are the content encryption algorithms ssi offers and
// accepts for direct_post.jwt, in preference order.
var SupportedEncs = []string{EncA128GCM, EncA256GCM}

// FormatParams are a format's entry in vp_formats_supported (Appendix B.3.4).
type FormatParams struct {
	SDJWTAlgs []string `json:"sd-jwt_alg_values,omitempty"`
	KBJWTAlgs []string `json:"kb-jwt_alg_values,omitempty"`
}

// JWKS is a JWK Set.
type JWKS struct {
	Keys []keys.JWK `json:"keys"`
}

// ClientMetadata is the client_metadata request parameter (§5.1, §11).
type ClientMetadata struct {
	VPFormatsSupported map[string]FormatParams `json:"vp_formats_supported"`
	JWKS               *JWKS                   `json:"jwks,omitempty"`
	EncValues          []string                `json:"encrypted_response_enc_values_supported,omitempty"`
}

// EncryptionKey returns the key of m that a wallet encrypts a
// direct_post.jwt response to: the first EC P-256 key with alg ECDH-ES
// whose use is absent or enc. It is invalid_request when there is none.
func (m ClientMetadata) EncryptionKey() (keys.JWK, error) {
	if m.JWKS != nil {
		for _, k := range m.JWKS.Keys {
			if k.Kty == "EC" && k.Crv == "P-256" && k.Alg == JWEAlg && (k.Use == "" || k.Use == "enc") {
				return k, nil
			}
		}
	}
	return keys.JWK{}, invalidRequest("client_metadata has no ECDH-ES P-256 encryption key")
}

// Enc returns the content encryption algorithm the wallet uses: the first
// of encrypted_response_enc_values_supported that ssi supports, A128GCM
// when the parameter is absent (§8.3).
func (m ClientMetadata) Enc() (string, error) {
	if len(m.EncValues) == 0 {
		return EncA128GCM, nil
	}
	for _, e := range m.EncValues {
		if slices.Contains(SupportedEncs, e) {
			return e, nil
		}
	}
	return "", invalidRequest("no supported value in encrypted_response_enc_values_supported")
}

// Request is an authorization request, the claims of the request object.
type Request struct {
	// ClientID is the full client_id, with its prefix.
	ClientID     string
	ResponseMode string // DirectPost or DirectPostJWT
	ResponseURI  string
	Nonce        string
	State        string
	// DCQL is the query; DCQLJSON its JSON as signed.
	DCQL     *dcql.Query
	DCQLJSON json.RawMessage
	Metadata ClientMetadata
	// WalletNonce echoes the wallet's wallet_nonce (request_uri_method post).
	WalletNonce string
	IssuedAt    time.Time
	ExpiresAt   time.Time
}

// ClientDID returns the DID of a decentralized_identifier client_id, or
// invalid_client for any other.
func ClientDID(clientID string) (string, error) {
	d, ok := strings.CutPrefix(clientID, ClientIDPrefixDID)
	if !ok || !strings.HasPrefix(d, "did:") || len(d) < 8 || len(clientID) > 2048 {
		return "", ErrInvalidClient.With("the client_id is not a decentralized_identifier client_id", nil)
	}
	return d, nil
}

// NewNonce returns a fresh random value of 256 bits, base64url, for a
// nonce, a state or a response_code.
func NewNonce() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// nonceBytes is how many bytes of entropy a base64url nonce can carry at
// most; a shorter one cannot hold 128 bits.
func nonceLongEnough(n string) bool { return len(n)*6/8 >= MinNonceBytes }

// requestClaims is the request object's payload in a fixed member order.
type requestClaims struct {
	Iss            string          `json:"iss"`
	Aud            string          `json:"aud"`
	ClientID       string          `json:"client_id"`
	ResponseType   string          `json:"response_type"`
	ResponseMode   string          `json:"response_mode"`
	ResponseURI    string          `json:"response_uri"`
	Nonce          string          `json:"nonce"`
	State          string          `json:"state"`
	DCQLQuery      json.RawMessage `json:"dcql_query"`
	ClientMetadata ClientMetadata  `json:"client_metadata"`
	WalletNonce    string          `json:"wallet_nonce,omitempty"`
	Iat            int64           `json:"iat"`
	Exp            int64           `json:"exp"`
}

// SignRequest checks r as VerifyRequest would (so that a verifier never
// signs what a wallet must refuse) and returns the request object signed
// by s, with typ oauth-authz-req+jwt and kid, which must be a DID URL of
// the client's DID.
func SignRequest(s keys.Signer, kid string, r *Request) (string, error) {
	did, err := ClientDID(r.ClientID)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(kid, did+"#") {
		return "", errs.E(errs.Internal, "internal", "the request object's kid is not a DID URL of the client")
	}
	if err := checkRequest(r); err != nil {
		return "", err
	}
	payload, err := json.Marshal(requestClaims{
		Iss: did, Aud: StaticAudience, ClientID: r.ClientID, ResponseType: ResponseTypeVPToken,
		ResponseMode: r.ResponseMode, ResponseURI: r.ResponseURI, Nonce: r.Nonce, State: r.State,
		DCQLQuery: r.DCQLJSON, ClientMetadata: r.Metadata, WalletNonce: r.WalletNonce,
		Iat: r.IssuedAt.Unix(), Exp: r.ExpiresAt.Unix(),
	})
	if err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "", err)
	}
	return jose.Sign(s, map[string]any{"typ": TypRequestObject, "kid": kid}, payload)
}

// checkRequest holds the rules both sides apply to a request.
func checkRequest(r *Request) error {
	if _, err := ClientDID(r.ClientID); err != nil {
		return err
	}
	switch r.ResponseMode {
	case DirectPost:
	case DirectPostJWT:
		if _, err := r.Metadata.EncryptionKey(); err != nil {
			return err
		}
		if _, err := r.Metadata.Enc(); err != nil {
			return err
		}
	default:
		return invalidRequest("response_mode must be direct_post or direct_post.jwt")
	}
	u, err := url.Parse(r.ResponseURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return invalidRequest("response_uri must be an absolute http(s) URL")
	}
	if !nonceLongEnough(r.Nonce) || len(r.Nonce) > maxStringLen {
		return invalidRequest("the nonce must carry at least 128 bits")
	}
	if r.State == "" || len(r.State) > maxStringLen || len(r.WalletNonce) > maxStringLen {
		return invalidRequest("state is required")
	}
	if r.DCQL == nil || len(r.DCQLJSON) == 0 {
		return invalidRequest("dcql_query is required")
	}
	if _, ok := r.Metadata.VPFormatsSupported[FormatSDJWTVC]; !ok {
		return ErrVPFormatsNotSupported.With("vp_formats_supported must list dc+sd-jwt", nil)
	}
	if err := r.DCQL.CheckFormats(FormatSDJWTVC); err != nil {
		return ErrVPFormatsNotSupported.With("the query asks for a format other than dc+sd-jwt", err)
	}
	if r.ExpiresAt.IsZero() || !r.ExpiresAt.After(r.IssuedAt) {
		return invalidRequest("the request needs an expiry after its issue time")
	}
	return nil
}

// KeyFunc finds the verification key of the verifier's DID named by the
// request object's kid (a DID URL of did), for example by resolving a
// did:key locally or a did:psr through the trust package.
type KeyFunc func(did, kid string) (jose.PublicKey, error)

// VerifyOptions is the wallet's side of VerifyRequest.
type VerifyOptions struct {
	// ClientID is the client_id of the authorization request URI; the
	// request object must carry exactly it (§5.10). Required.
	ClientID string
	// WalletNonce, when the wallet fetched by POST, must be echoed.
	WalletNonce string
	// Now is the wallet's clock; Skew the allowed skew (≤ jose.MaxSkew).
	Now  time.Time
	Skew time.Duration
}

// VerifyRequest checks a request object as a wallet must before showing
// anything to the citizen: a compact JWS of at most MaxRequestObjectSize
// with typ oauth-authz-req+jwt, ES256 or EdDSA, a kid that is a DID URL
// of the client's DID and whose key (through key) verifies it; a
// client_id equal to o.ClientID; response_type vp_token; a supported
// response_mode (with a usable encryption key for direct_post.jwt); an
// absolute response_uri; a nonce of at least 128 bits; a state; a DCQL
// query that parses; the wallet_nonce echoed; iat and exp around now.
//
// It returns invalid_request_object for a JWS it cannot accept (the
// cause keeps jose's code), invalid_client for a client_id mismatch, and
// invalid_request or vp_formats_not_supported for the rest.
func VerifyRequest(token string, key KeyFunc, o VerifyOptions) (*Request, error) {
	did, err := ClientDID(o.ClientID)
	if err != nil {
		return nil, err
	}
	jws, err := jose.Verify(token, jose.VerifyOptions{
		Typ:     []string{TypRequestObject},
		MaxSize: MaxRequestObjectSize,
		Key: func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
			if !strings.HasPrefix(h.Kid, did+"#") {
				return jose.PublicKey{}, jose.ErrUnknownKey.With("the kid is not a key of the client's DID", nil)
			}
			return key(did, h.Kid)
		},
	})
	if err != nil {
		return nil, ErrRequestObject.With("", err)
	}
	c, err := jws.Claims()
	if err != nil {
		return nil, ErrRequestObject.With("", err)
	}
	if err := c.CheckTimes(jose.TimeRules{Now: o.Now, Skew: o.Skew, RequireExp: true, RequireIat: true}); err != nil {
		return nil, ErrRequestObject.With("the request object is expired or not yet valid", err)
	}
	r := &Request{}
	strs := []struct {
		name string
		dst  *string
		req  bool
	}{
		{"client_id", &r.ClientID, true}, {"response_mode", &r.ResponseMode, true},
		{"response_uri", &r.ResponseURI, true}, {"nonce", &r.Nonce, true}, {"state", &r.State, true},
		{"wallet_nonce", &r.WalletNonce, false},
	}
	for _, f := range strs {
		s, ok, err := c.String(f.name)
		if err != nil || (f.req && !ok) {
			return nil, invalidRequest(fmt.Sprintf("%s is missing or not a string", f.name))
		}
		*f.dst = s
	}
	if rt, _, _ := c.String("response_type"); rt != ResponseTypeVPToken {
		return nil, invalidRequest("response_type must be vp_token")
	}
	if r.ClientID != o.ClientID {
		return nil, ErrInvalidClient.With("the request object's client_id is not the request's", nil)
	}
	if _, ok := c["scope"]; ok {
		return nil, invalidRequest("scope is not supported; the request must carry dcql_query")
	}
	if _, ok := c["request_uri"]; ok {
		return nil, invalidRequest("a request object must not contain request_uri")
	}
	if r.WalletNonce != o.WalletNonce {
		return nil, invalidRequest("wallet_nonce is not the one sent")
	}
	iat, _, _ := c.NumericDate("iat")
	exp, _, _ := c.NumericDate("exp")
	r.IssuedAt, r.ExpiresAt = iat, exp

	q, ok := c["dcql_query"]
	if !ok {
		return nil, invalidRequest("dcql_query is required")
	}
	if r.DCQL, err = dcql.FromValue(q); err != nil {
		return nil, invalidRequest("dcql_query is not a valid DCQL query").With("", err)
	}
	if r.DCQLJSON, err = json.Marshal(q); err != nil {
		return nil, invalidRequest("dcql_query is not JSON")
	}
	if err := readMetadata(c["client_metadata"], &r.Metadata); err != nil {
		return nil, err
	}
	if err := checkRequest(r); err != nil {
		return nil, err
	}
	return r, nil
}

// readMetadata reads client_metadata from its decoded JSON.
func readMetadata(v any, m *ClientMetadata) error {
	o, ok := v.(map[string]any)
	if !ok {
		return invalidRequest("client_metadata is required")
	}
	formats, ok := o["vp_formats_supported"].(map[string]any)
	if !ok {
		return invalidRequest("client_metadata.vp_formats_supported is required")
	}
	m.VPFormatsSupported = make(map[string]FormatParams, len(formats))
	for name, p := range formats {
		po, ok := p.(map[string]any)
		if !ok {
			return invalidRequest("a vp_formats_supported entry is not an object")
		}
		var fp FormatParams
		var err error
		if fp.SDJWTAlgs, err = stringList(po["sd-jwt_alg_values"]); err != nil {
			return err
		}
		if fp.KBJWTAlgs, err = stringList(po["kb-jwt_alg_values"]); err != nil {
			return err
		}
		m.VPFormatsSupported[name] = fp
	}
	var err error
	if m.EncValues, err = stringList(o["encrypted_response_enc_values_supported"]); err != nil {
		return err
	}
	if js, ok := o["jwks"]; ok {
		jo, ok := js.(map[string]any)
		ks, ok2 := jo["keys"].([]any)
		if !ok || !ok2 || len(ks) > 16 {
			return invalidRequest("client_metadata.jwks is not a JWK set")
		}
		m.JWKS = &JWKS{}
		for _, k := range ks {
			km, ok := k.(map[string]any)
			if !ok {
				return invalidRequest("client_metadata.jwks has a key that is not an object")
			}
			jwk, err := keys.JWKFromMap(km)
			if err != nil {
				return invalidRequest("client_metadata.jwks has an unusable key").With("", err)
			}
			m.JWKS.Keys = append(m.JWKS.Keys, jwk)
		}
	}
	return nil
}

// stringList reads an optional JSON array of strings.
func stringList(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok || len(a) > 32 {
		return nil, invalidRequest("a client_metadata list is not an array of strings")
	}
	out := make([]string, 0, len(a))
	for _, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, invalidRequest("a client_metadata list is not an array of strings")
		}
		out = append(out, s)
	}
	return out, nil
}
