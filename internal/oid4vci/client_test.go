package oid4vci

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// fakeIssuer is a scriptable OpenID4VCI issuer: honest by default, and
// hostile as each test makes it. The real issuer is exercised through
// issuer/issuertest by cmd/ssi's tests and by the holder's.
type fakeIssuer struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	// hooks that change an answer; nil keeps the honest one.
	metadata   func(m map[string]any)
	as         func(m map[string]any)
	credential func(w http.ResponseWriter, proofs []string) bool
	// what the issuer saw
	tokenForm  url.Values
	tokenDPoP  string
	credAuth   string
	credDPoP   string
	credProofs []string
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	f := &fakeIssuer{t: t}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-credential-issuer/issuers/health", func(w http.ResponseWriter, r *http.Request) {
		m := map[string]any{
			"credential_issuer": f.id(), "credential_endpoint": f.id() + "/credential", "nonce_endpoint": f.id() + "/nonce",
			"batch_credential_issuance":           map[string]any{"batch_size": 3},
			"credential_configurations_supported": map[string]any{"vaccination-pass": map[string]any{"format": "dc+sd-jwt", "vct": "urn:x"}},
		}
		if f.metadata != nil {
			f.metadata(m)
		}
		writeJSON(w, 200, m)
	})
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/issuers/health", func(w http.ResponseWriter, r *http.Request) {
		m := map[string]any{"issuer": f.id(), "token_endpoint": f.id() + "/token", "dpop_signing_alg_values_supported": []string{"ES256"}}
		if f.as != nil {
			f.as(m)
		}
		writeJSON(w, 200, m)
	})
	mux.HandleFunc("GET /issuers/health/offers/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(f.offerJSON()))
	})
	mux.HandleFunc("POST /issuers/health/token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		f.mu.Lock()
		f.tokenForm, f.tokenDPoP = r.PostForm, r.Header.Get("DPoP")
		f.mu.Unlock()
		if r.PostForm.Get("tx_code") != "123456" {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "the code 123456 was wrong"})
			return
		}
		tt := "Bearer"
		if r.Header.Get("DPoP") != "" {
			tt = "DPoP"
		}
		writeJSON(w, 200, map[string]any{"access_token": "tok", "token_type": tt})
	})
	mux.HandleFunc("POST /issuers/health/nonce", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"c_nonce": "n-1"})
	})
	mux.HandleFunc("POST /issuers/health/credential", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Proofs struct{ JWT []string } `json:"proofs"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		f.mu.Lock()
		f.credAuth, f.credDPoP, f.credProofs = r.Header.Get("Authorization"), r.Header.Get("DPoP"), req.Proofs.JWT
		f.mu.Unlock()
		if f.credential != nil && f.credential(w, req.Proofs.JWT) {
			return
		}
		var out []map[string]any
		for i := range req.Proofs.JWT {
			out = append(out, map[string]any{"credential": "cred-" + string(rune('a'+i))})
		}
		writeJSON(w, 200, map[string]any{"credentials": out})
	})
	return f
}

func (f *fakeIssuer) id() string { return f.srv.URL + "/issuers/health" }

func (f *fakeIssuer) offerJSON() string {
	return strings.Replace(goodOffer, "https://issuer.example/issuers/health", f.id(), 1)
}

func (f *fakeIssuer) byValue() string {
	return "openid-credential-offer://?credential_offer=" + url.QueryEscape(f.offerJSON())
}

func (f *fakeIssuer) byRef() string {
	return "openid-credential-offer://?credential_offer_uri=" + url.QueryEscape(f.id()+"/offers/1")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func testClient(t *testing.T, o Options) *Client {
	t.Helper()
	o.AllowLoopback, o.AllowHTTP = true, true
	c, err := New(o)
	require.NoError(t, err)
	return c
}

func TestRedeemAndBatch(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		mode DPoPMode
		as   func(map[string]any)
		dpop bool
	}{
		{"auto with DPoP advertised", DPoPAuto, nil, true},
		{"auto without", DPoPAuto, func(m map[string]any) { delete(m, "dpop_signing_alg_values_supported") }, false},
		{"never", DPoPNever, nil, false},
		{"always", DPoPAlways, func(m map[string]any) { delete(m, "dpop_signing_alg_values_supported") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t)
			f.as = tc.as
			c := testClient(t, Options{DPoP: tc.mode})
			for _, uri := range []string{f.byRef(), f.byValue()} {
				o, err := c.ResolveOffer(ctx, uri)
				require.NoError(t, err)
				assert.Equal(t, f.id(), o.CredentialIssuer)
				s, err := c.Redeem(ctx, o, "123456")
				require.NoError(t, err)
				assert.Equal(t, PreAuthGrant, f.tokenForm.Get("grant_type"))
				assert.Equal(t, "abc", f.tokenForm.Get("pre-authorized_code"))
				assert.Equal(t, tc.dpop, f.tokenDPoP != "", "a DPoP proof at the token endpoint")
				assert.Equal(t, map[bool]string{true: "DPoP", false: "Bearer"}[tc.dpop], s.TokenType)
				assert.Equal(t, 3, s.BatchSize())

				nonce, err := s.Nonce(ctx)
				require.NoError(t, err)
				assert.Equal(t, "n-1", nonce)
				var proofs []string
				for range 3 {
					k, err := keys.Generate(keys.ES256)
					require.NoError(t, err)
					p, err := Proof(k, s.Issuer, nonce, time.Now())
					require.NoError(t, err)
					proofs = append(proofs, p)
				}
				creds, err := s.Credentials(ctx, proofs)
				require.NoError(t, err)
				assert.Equal(t, []string{"cred-a", "cred-b", "cred-c"}, creds)
				assert.Equal(t, proofs, f.credProofs)
				if tc.dpop {
					assert.Equal(t, "DPoP tok", f.credAuth)
					j, err := jose.Verify(f.credDPoP, jose.VerifyOptions{Typ: []string{TypDPoP}, HeaderJWKIsHolderKey: true})
					require.NoError(t, err)
					cl, err := j.Claims()
					require.NoError(t, err)
					assert.Equal(t, f.id()+"/credential", cl["htu"])
					assert.NotEmpty(t, cl["ath"])
				} else {
					assert.Equal(t, "Bearer tok", f.credAuth)
					assert.Empty(t, f.credDPoP)
				}
				_, err = s.Credentials(ctx, append(proofs, proofs[0]))
				assert.Equal(t, "invalid_issuer_response", errs.CodeOf(err), "more proofs than batch_size are not sent")
			}
		})
	}
}

func TestHostileIssuer(t *testing.T) {
	ctx := context.Background()
	proofs := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "p"
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		opts       Options
		metadata   func(f *fakeIssuer, m map[string]any)
		as         func(f *fakeIssuer, m map[string]any)
		credential func(w http.ResponseWriter, proofs []string) bool
		txCode     string
		code       string // the error code
		at         string // the step that fails: redeem or credential
	}{
		{name: "credential endpoint on the metadata service", metadata: func(_ *fakeIssuer, m map[string]any) {
			m["credential_endpoint"] = "http://169.254.169.254/latest/meta-data"
		}, code: "address_not_allowed", at: "redeem"},
		{name: "nonce endpoint on a private address", metadata: func(_ *fakeIssuer, m map[string]any) {
			m["nonce_endpoint"] = "http://10.0.0.1/nonce"
		}, code: "address_not_allowed", at: "redeem"},
		{name: "token endpoint on an IPv4-mapped private address", as: func(_ *fakeIssuer, m map[string]any) {
			m["token_endpoint"] = "http://[::ffff:192.168.1.1]/token"
		}, code: "address_not_allowed", at: "redeem"},
		{name: "metadata names another issuer", metadata: func(_ *fakeIssuer, m map[string]any) {
			m["credential_issuer"] = "https://evil.example"
		}, code: "invalid_issuer_metadata", at: "redeem"},
		{name: "AS metadata names another issuer", as: func(_ *fakeIssuer, m map[string]any) {
			m["issuer"] = "https://evil.example"
		}, code: "invalid_issuer_metadata", at: "redeem"},
		{name: "batch size of a million", metadata: func(_ *fakeIssuer, m map[string]any) {
			m["batch_credential_issuance"] = map[string]any{"batch_size": 1_000_000}
		}, code: "batch_size_too_large", at: "redeem"},
		{name: "batch size of one", metadata: func(_ *fakeIssuer, m map[string]any) {
			m["batch_credential_issuance"] = map[string]any{"batch_size": 1}
		}, code: "invalid_issuer_metadata", at: "redeem"},
		{name: "metadata too large", metadata: func(_ *fakeIssuer, m map[string]any) {
			m["padding"] = strings.Repeat("x", 2<<20)
		}, code: "response_too_large", at: "redeem"},
		{name: "offered configuration unknown", metadata: func(_ *fakeIssuer, m map[string]any) {
			m["credential_configurations_supported"] = map[string]any{"other": map[string]any{"format": "dc+sd-jwt"}}
		}, code: "invalid_credential_offer", at: "redeem"},
		{name: "wrong tx_code", txCode: "000000", code: "issuer_refused", at: "redeem"},
		{name: "plain HTTP refused", opts: Options{AllowLoopback: true}, code: "insecure_transport", at: "redeem"},
		{name: "more credentials than proofs", credential: func(w http.ResponseWriter, p []string) bool {
			writeJSON(w, 200, map[string]any{"credentials": []any{map[string]any{"credential": "a"}, map[string]any{"credential": "b"}}})
			return true
		}, code: "invalid_issuer_response", at: "credential"},
		{name: "oversized credential", opts: Options{MaxCredential: 1000}, credential: func(w http.ResponseWriter, p []string) bool {
			writeJSON(w, 200, map[string]any{"credentials": []any{map[string]any{"credential": strings.Repeat("a", 2000)}}})
			return true
		}, code: "credential_too_large", at: "credential"},
		{name: "credential not a string", credential: func(w http.ResponseWriter, p []string) bool {
			writeJSON(w, 200, map[string]any{"credentials": []any{map[string]any{"credential": map[string]any{"x": 1}}}})
			return true
		}, code: "invalid_issuer_response", at: "credential"},
		{name: "deferred", credential: func(w http.ResponseWriter, p []string) bool {
			writeJSON(w, 202, map[string]any{"transaction_id": "t", "interval": 5})
			return true
		}, code: "invalid_issuer_response", at: "credential"},
		{name: "redirect not followed", credential: func(w http.ResponseWriter, p []string) bool {
			w.Header().Set("Location", "http://10.0.0.1/")
			w.WriteHeader(http.StatusFound)
			return true
		}, code: "issuer_refused", at: "credential"},
		{name: "not JSON", credential: func(w http.ResponseWriter, p []string) bool {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>"))
			return true
		}, code: "invalid_issuer_response", at: "credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t)
			if tc.metadata != nil {
				f.metadata = func(m map[string]any) { tc.metadata(f, m) }
			}
			if tc.as != nil {
				f.as = func(m map[string]any) { tc.as(f, m) }
			}
			f.credential = tc.credential
			o := tc.opts
			if !o.AllowLoopback {
				o.AllowLoopback, o.AllowHTTP = true, true
			}
			c, err := New(o)
			require.NoError(t, err)
			offer, err := ParseOffer([]byte(f.offerJSON()))
			require.NoError(t, err)
			tx := tc.txCode
			if tx == "" {
				tx = "123456"
			}
			s, err := c.Redeem(ctx, offer, tx)
			if tc.at == "redeem" {
				require.Error(t, err)
				assert.Equal(t, tc.code, errs.CodeOf(err), "%v", err)
				assert.Nil(t, f.credProofs, "no credential request was sent")
				return
			}
			require.NoError(t, err)
			_, err = s.Credentials(ctx, proofs(1))
			require.Error(t, err)
			assert.Equal(t, tc.code, errs.CodeOf(err), "%v", err)
		})
	}
}

func TestIssuerErrorKeepsOnlyTheCode(t *testing.T) {
	f := newFakeIssuer(t)
	c := testClient(t, Options{})
	o, err := ParseOffer([]byte(f.offerJSON()))
	require.NoError(t, err)
	_, err = c.Redeem(context.Background(), o, "999999")
	var ie *IssuerError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, IssuerError{Status: 400, Code: "invalid_grant"}, *ie)
	assert.NotContains(t, err.Error(), "999999", "neither the tx_code nor the issuer's description in the error")
	assert.NotContains(t, err.Error(), "123456")

	_, err = c.Redeem(context.Background(), o, "")
	assert.Equal(t, "invalid_credential_offer", errs.CodeOf(err), "a tx_code the offer needs")
}

// TestDialCheck: without AllowLoopback a name that resolves to loopback
// is refused when dialled, and a literal private address before.
func TestDialCheck(t *testing.T) {
	f := newFakeIssuer(t)
	c, err := New(Options{AllowHTTP: true})
	require.NoError(t, err)
	_, err = c.IssuerMetadata(context.Background(), strings.Replace(f.id(), "127.0.0.1", "localhost", 1))
	assert.Equal(t, "address_not_allowed", errs.CodeOf(err), "%v", err)
	_, err = c.IssuerMetadata(context.Background(), f.id())
	assert.Equal(t, "address_not_allowed", errs.CodeOf(err), "%v", err)

	_, err = New(Options{Transport: roundTripper(func(*http.Request) (*http.Response, error) { return nil, nil })})
	assert.Equal(t, "http_client_config", errs.CodeOf(err), "a RoundTripper that cannot be checked")
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDeviceSignature(t *testing.T) {
	k, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	jwk, err := jose.PublicJWK(k.Public())
	require.NoError(t, err)
	h, err := ProofHeader(keys.ES256, jwk)
	require.NoError(t, err)
	p, err := ProofPayload("https://issuer.example", "n", time.Unix(1_700_000_000, 0))
	require.NoError(t, err)
	in := SigningInput(h, p)
	// What the phone does: sign the input and return raw R||S.
	full, err := jose.SignEncoded(k, h, p)
	require.NoError(t, err)
	sig, err := base64Sig(full)
	require.NoError(t, err)
	tok, err := Assemble(in, sig, TypProof, jwk)
	require.NoError(t, err)
	assert.Equal(t, full, tok)

	other, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	ojwk, err := jose.PublicJWK(other.Public())
	require.NoError(t, err)
	_, err = Assemble(in, sig, TypProof, ojwk)
	assert.Equal(t, "invalid_device_signature", errs.CodeOf(err))
	sig[0] ^= 1
	_, err = Assemble(in, sig, TypProof, jwk)
	assert.Equal(t, "invalid_device_signature", errs.CodeOf(err))
}

func base64Sig(tok string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(tok[strings.LastIndex(tok, ".")+1:])
}

// TestFetchErrorsKeepTheURLOut: an unreachable issuer's error names no
// URL (an offer's URL carries its code), not even in the logged cause.
func TestFetchErrorsKeepTheURLOut(t *testing.T) {
	c := testClient(t, Options{})
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close() // nothing listens there now
	_, err := c.ResolveOffer(context.Background(), "openid-credential-offer://?credential_offer_uri="+url.QueryEscape(u+"/offers/secret-code-123"))
	require.Error(t, err)
	assert.Equal(t, "issuer_unreachable", errs.CodeOf(err))
	assert.NotContains(t, err.Error(), "secret-code-123")
}
