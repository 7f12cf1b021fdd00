package oid4vp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

const testQuery = `{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["urn:ssi:vaccination"]},"claims":[{"path":["vaccinated_within_policy"],"values":[true]},{"path":["given_name"]}]}]}`

var t0 = time.Unix(1_800_000_000, 0)

type verifierKey struct {
	signer   keys.Signer
	did, kid string
}

func newVerifierKey(t testing.TB) verifierKey {
	t.Helper()
	s, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	d, err := did.KeyDID(s.Public())
	require.NoError(t, err)
	return verifierKey{signer: s, did: d, kid: d + "#" + strings.TrimPrefix(d, "did:key:")}
}

func (k verifierKey) lookup(d, kid string) (jose.PublicKey, error) {
	if d != k.did || kid != k.kid {
		return jose.PublicKey{}, jose.ErrUnknownKey
	}
	return jose.PublicKey{Key: k.signer.Public(), Alg: keys.ES256}, nil
}

func encKey(t testing.TB) (*ecdsa.PrivateKey, keys.JWK) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	j, err := keys.JWKFromPublic(&priv.PublicKey)
	require.NoError(t, err)
	j.Alg, j.Use, j.Kid = JWEAlg, "enc", "tx-1"
	return priv, j
}

func newRequest(t testing.TB, k verifierKey, mode string, ek keys.JWK) *Request {
	t.Helper()
	q, err := dcql.Parse([]byte(testQuery))
	require.NoError(t, err)
	r := &Request{
		ClientID: ClientIDPrefixDID + k.did, ResponseMode: mode,
		ResponseURI: "https://venue.example/verifier/v1/response/abc",
		Nonce:       NewNonce(), State: NewNonce(),
		DCQL: q, DCQLJSON: json.RawMessage(testQuery),
		Metadata: ClientMetadata{VPFormatsSupported: map[string]FormatParams{
			FormatSDJWTVC: {SDJWTAlgs: []string{"ES256"}, KBJWTAlgs: []string{"ES256"}}}},
		IssuedAt: t0, ExpiresAt: t0.Add(5 * time.Minute),
	}
	if mode == DirectPostJWT {
		r.Metadata.JWKS = &JWKS{Keys: []keys.JWK{ek}}
		r.Metadata.EncValues = SupportedEncs
	}
	return r
}

func TestRequestRoundTrip(t *testing.T) {
	k := newVerifierKey(t)
	_, ek := encKey(t)
	for _, mode := range []string{DirectPost, DirectPostJWT} {
		t.Run(mode, func(t *testing.T) {
			r := newRequest(t, k, mode, ek)
			r.WalletNonce = "wn-123"
			tok, err := SignRequest(k.signer, k.kid, r)
			require.NoError(t, err)
			got, err := VerifyRequest(tok, k.lookup, VerifyOptions{ClientID: r.ClientID, WalletNonce: "wn-123", Now: t0.Add(time.Second)})
			require.NoError(t, err)
			assert.Equal(t, r.ClientID, got.ClientID)
			assert.Equal(t, r.Nonce, got.Nonce)
			assert.Equal(t, r.State, got.State)
			assert.Equal(t, mode, got.ResponseMode)
			assert.Equal(t, "pass", got.DCQL.Credentials[0].ID)
			if mode == DirectPostJWT {
				key, err := got.Metadata.EncryptionKey()
				require.NoError(t, err)
				assert.Equal(t, ek, key)
				enc, err := got.Metadata.Enc()
				require.NoError(t, err)
				assert.Equal(t, EncA128GCM, enc)
			}
		})
	}
}

// resign signs claims edited by edit with k.
func resign(t *testing.T, k verifierKey, header map[string]any, tok string, edit func(m map[string]any)) string {
	t.Helper()
	j, err := jose.ParseUnverified(tok, 0)
	require.NoError(t, err)
	c, err := j.Claims()
	require.NoError(t, err)
	edit(c)
	b, err := json.Marshal(c)
	require.NoError(t, err)
	out, err := jose.Sign(k.signer, header, b)
	require.NoError(t, err)
	return out
}

func TestVerifyRequestRefusals(t *testing.T) {
	k := newVerifierKey(t)
	other := newVerifierKey(t)
	r := newRequest(t, k, DirectPost, keys.JWK{})
	tok, err := SignRequest(k.signer, k.kid, r)
	require.NoError(t, err)
	hdr := map[string]any{"typ": TypRequestObject, "kid": k.kid}
	opts := VerifyOptions{ClientID: r.ClientID, Now: t0}
	cases := []struct {
		name string
		tok  string
		opts VerifyOptions
		code string
	}{
		{"wrong typ", resign(t, k, map[string]any{"typ": "JWT", "kid": k.kid}, tok, func(map[string]any) {}), opts, "invalid_request_object"},
		{"kid of another DID", resign(t, other, map[string]any{"typ": TypRequestObject, "kid": other.kid}, tok, func(map[string]any) {}), opts, "invalid_request_object"},
		{"signed by another key", resign(t, other, hdr, tok, func(map[string]any) {}), opts, "invalid_request_object"},
		{"client_id differs", tok, VerifyOptions{ClientID: ClientIDPrefixDID + other.did, Now: t0}, "invalid_request_object"},
		{"client_id edited", resign(t, k, hdr, tok, func(m map[string]any) { m["client_id"] = ClientIDPrefixDID + other.did }), opts, "invalid_client"},
		{"client_id without prefix", tok, VerifyOptions{ClientID: k.did, Now: t0}, "invalid_client"},
		{"expired", tok, VerifyOptions{ClientID: r.ClientID, Now: t0.Add(time.Hour)}, "invalid_request_object"},
		{"response_type", resign(t, k, hdr, tok, func(m map[string]any) { m["response_type"] = "code" }), opts, "invalid_request"},
		{"response_mode", resign(t, k, hdr, tok, func(m map[string]any) { m["response_mode"] = "fragment" }), opts, "invalid_request"},
		{"direct_post.jwt without key", resign(t, k, hdr, tok, func(m map[string]any) { m["response_mode"] = DirectPostJWT }), opts, "invalid_request"},
		{"short nonce", resign(t, k, hdr, tok, func(m map[string]any) { m["nonce"] = "abc" }), opts, "invalid_request"},
		{"no state", resign(t, k, hdr, tok, func(m map[string]any) { delete(m, "state") }), opts, "invalid_request"},
		{"scope", resign(t, k, hdr, tok, func(m map[string]any) { m["scope"] = "x" }), opts, "invalid_request"},
		{"bad dcql", resign(t, k, hdr, tok, func(m map[string]any) { m["dcql_query"] = map[string]any{"credentials": []any{}} }), opts, "invalid_request"},
		{"no dc+sd-jwt format", resign(t, k, hdr, tok, func(m map[string]any) {
			m["client_metadata"] = map[string]any{"vp_formats_supported": map[string]any{"mso_mdoc": map[string]any{}}}
		}), opts, "vp_formats_not_supported"},
		{"private key in jwks", resign(t, k, hdr, tok, func(m map[string]any) {
			m["client_metadata"] = map[string]any{"vp_formats_supported": map[string]any{"dc+sd-jwt": map[string]any{}},
				"jwks": map[string]any{"keys": []any{map[string]any{"kty": "EC", "d": "x"}}}}
		}), opts, "invalid_request"},
		{"http response_uri", resign(t, k, hdr, tok, func(m map[string]any) { m["response_uri"] = "ftp://x" }), opts, "invalid_request"},
		{"wallet_nonce missing", tok, VerifyOptions{ClientID: r.ClientID, WalletNonce: "n", Now: t0}, "invalid_request"},
		{"not a JWS", "a.b", opts, "invalid_request_object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := VerifyRequest(c.tok, k.lookup, c.opts)
			require.Error(t, err)
			assert.Equal(t, c.code, errs.CodeOf(err))
		})
	}
}

func TestSignRequestChecks(t *testing.T) {
	k := newVerifierKey(t)
	r := newRequest(t, k, DirectPostJWT, keys.JWK{})
	_, err := SignRequest(k.signer, k.kid, r)
	assert.Equal(t, "invalid_request", errs.CodeOf(err), "direct_post.jwt without a usable key")
	r = newRequest(t, k, DirectPost, keys.JWK{})
	_, err = SignRequest(k.signer, "did:key:zOther#x", r)
	assert.Equal(t, "internal", errs.CodeOf(err))
}

func TestAuthorizationURI(t *testing.T) {
	cid := ClientIDPrefixDID + "did:key:zDnaeabc"
	for _, scheme := range []string{SchemeOpenID4VP, SchemeHAIP} {
		for _, m := range []string{MethodGet, MethodPost} {
			u := AuthorizationURI(scheme, cid, "https://v.example/r/1", m)
			a, err := ParseAuthorizationURI(u)
			require.NoError(t, err, u)
			assert.Equal(t, AuthorizationRequest{Scheme: scheme, ClientID: cid, RequestURI: "https://v.example/r/1", Method: m}, *a)
		}
	}
	bad := map[string]string{
		"https://?client_id=x":                                                                                   "invalid_request",
		"openid4vp://?request_uri=https%3A%2F%2Fv%2Fr":                                                           "invalid_request",
		"openid4vp://?client_id=" + url.QueryEscape(cid):                                                         "invalid_request",
		"openid4vp://?client_id=x&request_uri=https%3A%2F%2Fv%2Fr":                                               "invalid_client",
		"openid4vp://?client_id=" + url.QueryEscape(cid) + "&request_uri=relative":                               "invalid_request",
		"openid4vp://?client_id=" + url.QueryEscape(cid) + "&request_uri=https%3A%2F%2Fv&request_uri_method=PUT": "invalid_request_uri_method",
		"openid4vp://?client_id=" + url.QueryEscape(cid) + "&request_uri=https%3A%2F%2Fv&request=eyJ":            "invalid_request",
		"openid4vp://?client_id=a&client_id=b&request_uri=https%3A%2F%2Fv":                                       "invalid_request",
		"openid4vp://?" + strings.Repeat("a", 5000):                                                              "invalid_request",
		"openid4vp://?%zz": "invalid_request",
	}
	for u, code := range bad {
		_, err := ParseAuthorizationURI(u)
		assert.Equal(t, code, errs.CodeOf(err), u)
	}
}

func TestResponseForm(t *testing.T) {
	r := &Response{VPToken: map[string][]string{"pass": {"eyJ.x.y~d~kb"}}, State: NewNonce()}
	f, err := ResponseForm(r)
	require.NoError(t, err)
	got, err := ParseResponseForm(f)
	require.NoError(t, err)
	assert.Equal(t, r, got)

	e, err := ResponseForm(&Response{Error: "access_denied", ErrorDescription: "no", State: "s"})
	require.NoError(t, err)
	got, err = ParseResponseForm(e)
	require.NoError(t, err)
	assert.Equal(t, "access_denied", got.Error)

	bad := []url.Values{
		{},
		{"vp_token": {`{"a":["x"]}`, `{"a":["x"]}`}, "state": {"s"}},
		{"vp_token": {`[]`}, "state": {"s"}},
		{"vp_token": {`{}`}, "state": {"s"}},
		{"vp_token": {`{"a":[]}`}, "state": {"s"}},
		{"vp_token": {`{"a":[1]}`}, "state": {"s"}},
		{"vp_token": {`{"a":"x"}`}, "state": {"s"}},
		{"vp_token": {`{"a":["x"]`}, "state": {"s"}},
		{"vp_token": {`{"a":["x"],"a":["y"]}`}, "state": {"s"}},
		{"vp_token": {`{"a":["x"]}`}, "error": {"access_denied"}},
		{"response": {"eyJ"}},
		{"vp_token": {`{"a":[` + strings.Repeat(`"x",`, 100) + `"x"]}`}},
	}
	for _, f := range bad {
		_, err := ParseResponseForm(f)
		assert.Equal(t, "invalid_request", errs.CodeOf(err), f.Encode())
	}
	_, err = ParseResponseForm(url.Values{"vp_token": {strings.Repeat("x", MaxResponseSize+1)}})
	assert.Equal(t, "vp_token_too_large", errs.CodeOf(err))
}

func TestEncryptedResponse(t *testing.T) {
	priv, ek := encKey(t)
	r := &Response{VPToken: map[string][]string{"pass": {"eyJ.x.y~d~kb"}}, State: NewNonce()}
	for _, enc := range SupportedEncs {
		t.Run(enc, func(t *testing.T) {
			s, err := EncryptResponse(r, ek, enc)
			require.NoError(t, err)
			got, err := DecryptResponse(s, priv, ek.Kid, nil)
			require.NoError(t, err)
			assert.Equal(t, r, got)
		})
	}
}

func TestEncryptedResponseRefusals(t *testing.T) {
	priv, ek := encKey(t)
	other, oek := encKey(t)
	_ = other
	payload := []byte(`{"vp_token":{"pass":["eyJ.x.y~"]},"state":"s"}`)
	pub, err := ek.PublicKey()
	require.NoError(t, err)
	withKid := func(kid string) jwe.Headers {
		h := jwe.NewHeaders()
		require.NoError(t, h.Set("kid", kid))
		return h
	}
	encrypt := func(alg jwa.KeyEncryptionAlgorithm, key any, enc jwa.ContentEncryptionAlgorithm, kid string) string {
		out, err := jwe.Encrypt(payload, jwe.WithKey(alg, key), jwe.WithContentEncryption(enc), jwe.WithProtectedHeaders(withKid(kid)), jwe.WithCompact())
		require.NoError(t, err)
		return string(out)
	}
	oPub, err := oek.PublicKey()
	require.NoError(t, err)
	good := encrypt(jwa.ECDH_ES(), pub, jwa.A128GCM(), ek.Kid)
	parts := strings.Split(good, ".")
	tampered := strings.Join([]string{parts[0], parts[1], parts[2], flip(parts[3]), parts[4]}, ".")
	hdr := func(h string) string {
		return strings.Join([]string{base64.RawURLEncoding.EncodeToString([]byte(h)), "", parts[2], parts[3], parts[4]}, ".")
	}
	cases := map[string]string{
		"another alg (ECDH-ES+A128KW)": encrypt(jwa.ECDH_ES_A128KW(), pub, jwa.A128GCM(), ek.Kid),
		"another enc (A128CBC-HS256)":  encrypt(jwa.ECDH_ES(), pub, jwa.A128CBC_HS256(), ek.Kid),
		"another enc (A192GCM)":        encrypt(jwa.ECDH_ES(), pub, jwa.A192GCM(), ek.Kid),
		"another key, our kid":         encrypt(jwa.ECDH_ES(), oPub, jwa.A128GCM(), ek.Kid),
		"another kid":                  encrypt(jwa.ECDH_ES(), pub, jwa.A128GCM(), "tx-2"),
		"tampered ciphertext":          tampered,
		"four parts":                   strings.Join(parts[:4], "."),
		"a JWS":                        "eyJhbGciOiJFUzI1NiJ9.e30.sig",
		"header not JSON":              hdr("nope"),
		"alg none":                     hdr(`{"alg":"none","enc":"A128GCM","kid":"tx-1"}`),
		"zip":                          hdr(`{"alg":"ECDH-ES","enc":"A128GCM","kid":"tx-1","zip":"DEF","epk":{}}`),
		"no epk":                       hdr(`{"alg":"ECDH-ES","enc":"A128GCM","kid":"tx-1"}`),
		"header alg dir":               hdr(`{"alg":"dir","enc":"A128GCM","kid":"tx-1"}`),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecryptResponse(s, priv, ek.Kid, nil)
			require.Error(t, err)
			assert.Equal(t, "invalid_encrypted_response", errs.CodeOf(err))
		})
	}
	_, err = DecryptResponse(strings.Repeat("a", MaxResponseSize+1), priv, ek.Kid, nil)
	assert.Equal(t, "vp_token_too_large", errs.CodeOf(err))
	// Only the encs the transaction offered.
	a256 := encrypt(jwa.ECDH_ES(), pub, jwa.A256GCM(), ek.Kid)
	_, err = DecryptResponse(a256, priv, ek.Kid, []string{EncA128GCM})
	assert.Equal(t, "invalid_encrypted_response", errs.CodeOf(err))
	// A payload that is not a response.
	out, err := jwe.Encrypt([]byte(`{"vp_token":"eyJ"}`), jwe.WithKey(jwa.ECDH_ES(), pub), jwe.WithContentEncryption(jwa.A128GCM()), jwe.WithProtectedHeaders(withKid(ek.Kid)), jwe.WithCompact())
	require.NoError(t, err)
	_, err = DecryptResponse(string(out), priv, ek.Kid, nil)
	assert.Equal(t, "invalid_request", errs.CodeOf(err))
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestNonce(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	assert.NotEqual(t, a, b)
	assert.True(t, nonceLongEnough(a))
	assert.True(t, ValidState(a))
	assert.False(t, ValidState(a[:42]))
	assert.False(t, ValidState(a[:42]+"!"))
	assert.False(t, nonceLongEnough(strings.Repeat("a", 21)))
}
