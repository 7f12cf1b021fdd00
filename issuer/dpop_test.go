package issuer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
)

// dpopProof builds a DPoP proof of key for POST to htu, at the service's
// clock, with a fresh jti and, with a token, its ath; mutate may change
// the header and claims before signing. The proof is a secret of the
// leak checker.
func (e *env) dpopProof(key keys.Signer, htu, token string, mutate func(h, c map[string]any)) string {
	e.t.Helper()
	jwk, err := jose.PublicJWK(key.Public())
	require.NoError(e.t, err)
	h := map[string]any{"typ": DPoPTyp, "jwk": jwk.Map()}
	c := map[string]any{"jti": randomToken(16), "htm": "POST", "htu": htu, "iat": e.svc.now().Unix()}
	if token != "" {
		c["ath"] = tokenHashB64(token)
	}
	if mutate != nil {
		mutate(h, c)
	}
	payload, err := json.Marshal(c)
	require.NoError(e.t, err)
	p, err := jose.Sign(key, h, payload)
	require.NoError(e.t, err)
	e.leaks.Secret(p)
	return p
}

// tokenDPoP sends w's token request with the given DPoP headers (none:
// a bearer request) and returns the status, the body and the token type.
func (w *wallet) tokenDPoP(proofs ...string) (int, []byte, string) {
	w.e.t.Helper()
	form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {w.code}, "tx_code": {w.txCode}}.Encode()
	hdr := http.Header{}
	for _, p := range proofs {
		hdr.Add("DPoP", p)
	}
	code, b, _ := w.e.doWith("POST", w.path("/token"), hdr, form, "application/x-www-form-urlencoded")
	var tr TokenResponse
	if code == http.StatusOK {
		require.NoError(w.e.t, json.Unmarshal(b, &tr))
		w.token = tr.AccessToken
		w.e.leaks.Secret(tr.AccessToken)
	}
	return code, b, tr.TokenType
}

// credentialWith sends w's credential request body with w's token under
// scheme and the given DPoP headers.
func (w *wallet) credentialWith(scheme string, body any, proofs ...string) (int, []byte, http.Header) {
	w.e.t.Helper()
	hdr := http.Header{"Authorization": {scheme + " " + w.token}}
	for _, p := range proofs {
		hdr.Add("DPoP", p)
	}
	return w.e.doWith("POST", w.path("/credential"), hdr, body, "")
}

// credBody is a credential request for one fresh holder key, with the
// c_nonce it presents.
func (w *wallet) credBody() (map[string]any, string) {
	w.e.t.Helper()
	h, err := keys.Generate(keys.ES256)
	require.NoError(w.e.t, err)
	w.holders = append(w.holders, h)
	n := w.nonce()
	return map[string]any{"credential_configuration_id": w.configID, "proofs": map[string]any{"jwt": []string{w.proof(h, n, nil)}}}, n
}

// dpopRedeemed returns a wallet holding a token bound to a fresh DPoP key.
func (e *env) dpopRedeemed(subjectRef string) (*wallet, keys.Signer) {
	e.t.Helper()
	key, err := keys.Generate(keys.ES256)
	require.NoError(e.t, err)
	w := e.fetchOffer(e.createOffer("health", "vaccination-pass", subjectRef, vaccSubject))
	code, b, typ := w.tokenDPoP(e.dpopProof(key, w.issuer+"/token", "", nil))
	require.Equal(e.t, http.StatusOK, code, string(b))
	require.Equal(e.t, "DPoP", typ)
	return w, key
}

// jtiRows counts the used DPoP jti values stored.
func (e *env) jtiRows(t *testing.T) int64 {
	t.Helper()
	return countWhere(t, e.st, "single_use", "kind = $1", dpopJTIKind)
}

// offerUntouched checks that a refused token request left w's offer as it
// was: still offered, no attempt spent, no token stored.
func (e *env) offerUntouched(t *testing.T, w *wallet) {
	t.Helper()
	o, err := e.st.OfferByCode(context.Background(), hash(w.code), e.svc.now())
	if assert.NoError(t, err, "the offer is still offered") {
		assert.Zero(t, o.Attempts, "no attempt spent")
		assert.Nil(t, o.TokenHash)
		assert.Empty(t, o.TokenJKT)
	}
}

// TestDPoPFlow: a wallet with a DPoP key gets a DPoP-bound token (its
// thumbprint stored with the token) and, with the DPoP scheme and a proof
// over the token, a credential the core verifier accepts; the metadata
// advertises ES256; a wallet without DPoP still gets a bearer token.
func TestDPoPFlow(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		code, b, _ := e.do("GET", "/.well-known/oauth-authorization-server/issuers/health", "", nil, "")
		require.Equal(t, http.StatusOK, code)
		var md map[string]any
		require.NoError(t, json.Unmarshal(b, &md))
		assert.Equal(t, []any{"ES256"}, md["dpop_signing_alg_values_supported"])

		w, key := e.dpopRedeemed("citizen-dpop")
		o, err := st.OfferByToken(context.Background(), hash(w.token), e.svc.now())
		require.NoError(t, err)
		jwk, err := jose.PublicJWK(key.Public())
		require.NoError(t, err)
		jkt, err := jwk.Thumbprint()
		require.NoError(t, err)
		assert.Equal(t, jkt, o.TokenJKT, "the token is bound to the proof's key")
		assert.Equal(t, int64(1), e.jtiRows(t), "the token request's jti is used up")

		body, _ := w.credBody()
		code, b, _ = w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, nil))
		require.Equal(t, http.StatusOK, code, string(b))
		creds := credentialsOf(t, b)
		require.Len(t, creds, 1)
		r := e.coreVerify(creds[0], sdjwt.ProfileSDJWTVC)
		assert.Equal(t, e.dids["health"], r.Claims["iss"])
		holder, err := jose.PublicJWK(w.holders[0].Public())
		require.NoError(t, err)
		got, err := jose.PublicJWK(r.HolderKey.Key)
		require.NoError(t, err)
		assert.Equal(t, holder, got, "cnf is the key proof's key, not the DPoP key")
		assert.Equal(t, int64(2), e.jtiRows(t))

		// The htu is compared without query and fragment, and with the
		// scheme and host in any case and the default port spelt out.
		w2, key2 := e.dpopRedeemed("citizen-dpop-2")
		u, err := url.Parse(w2.issuer + "/credential?x=1#frag")
		require.NoError(t, err)
		u.Scheme, u.Host = "HTTP", strings.ToUpper(u.Host)
		body, _ = w2.credBody()
		code, b, _ = w2.credentialWith("dpop", body, e.dpopProof(key2, u.String(), w2.token, nil))
		require.Equal(t, http.StatusOK, code, string(b))

		// Without a DPoP header: a bearer token, bound to nothing.
		bw := e.fetchOffer(e.createOffer("health", "vaccination-pass", "citizen-bearer", vaccSubject))
		code, b, typ := bw.tokenDPoP()
		require.Equal(t, http.StatusOK, code, string(b))
		assert.Equal(t, "Bearer", typ)
		o, err = st.OfferByToken(context.Background(), hash(bw.token), e.svc.now())
		require.NoError(t, err)
		assert.Empty(t, o.TokenJKT)
		require.Len(t, bw.batch(1), 1)
	})
}

func TestNormalizeHTU(t *testing.T) {
	for in, want := range map[string]string{
		"https://Issuer.Example/issuers/a/token":           "https://issuer.example/issuers/a/token",
		"HTTPS://issuer.example:443/issuers/a/token?q=1#f": "https://issuer.example/issuers/a/token",
		"http://127.0.0.1:80/x":                            "http://127.0.0.1/x",
		"http://127.0.0.1:8080/x":                          "http://127.0.0.1:8080/x",
		"https://issuer.example:80/x":                      "https://issuer.example:80/x",
		"https://issuer.example":                           "https://issuer.example/",
		"https://[::1]:443/x":                              "https://[::1]/x",
		"":                                                 "",
		"ftp://issuer.example/x":                           "",
		"https://user@issuer.example/x":                    "",
		"/issuers/a/token":                                 "",
		"https:opaque":                                     "",
	} {
		got, ok := normalizeHTU(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want != "", ok, in)
	}
}

// TestDPoPHostileToken: each bad DPoP proof at the token endpoint is 400
// invalid_dpop_proof, and leaves the offer as it was (no attempt spent,
// no token) and no jti stored; the offer then redeems with a good proof.
func TestDPoPHostileToken(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		// All the cases come from one address within one minute.
		e := newEnv(t, st, envOpts{config: func(c *Config) { c.RatePerClient = 1000 }})
		key, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		ed, err := keys.Generate(keys.EdDSA)
		require.NoError(t, err)
		unsigned := func(alg, htu string) string {
			jwk, _ := jose.PublicJWK(key.Public())
			return b64(map[string]any{"alg": alg, "typ": DPoPTyp, "jwk": jwk.Map()}) + "." +
				b64(map[string]any{"jti": randomToken(16), "htm": "POST", "htu": htu, "iat": e.clock.Now().Unix()})
		}
		cases := []struct {
			name  string
			make  func(htu string) []string
			extra int64 // jti rows the case itself stores before the request
		}{
			{"wrong typ", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(h, _ map[string]any) { h["typ"] = "JWT" })}
			}, 0},
			{"no typ", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(h, _ map[string]any) { delete(h, "typ") })}
			}, 0},
			{"alg none", func(htu string) []string { return []string{unsigned("none", htu) + "."} }, 0},
			{"alg HS256", func(htu string) []string {
				in := unsigned("HS256", htu)
				m := hmac.New(sha256.New, []byte("k"))
				m.Write([]byte(in))
				return []string{in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))}
			}, 0},
			{"EdDSA, not advertised", func(htu string) []string { return []string{e.dpopProof(ed, htu, "", nil)} }, 0},
			{"private d in jwk", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(h, _ map[string]any) {
					h["jwk"].(map[string]any)["d"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				})}
			}, 0},
			{"no jwk", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(h, _ map[string]any) { delete(h, "jwk") })}
			}, 0},
			{"kid beside jwk", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(h, _ map[string]any) { h["kid"] = "k1" })}
			}, 0},
			{"bad signature", func(htu string) []string {
				p := e.dpopProof(key, htu, "", nil)
				return []string{p[:len(p)-4] + "AAAA"}
			}, 0},
			{"signed by another key", func(htu string) []string {
				other, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				jwk, _ := jose.PublicJWK(key.Public())
				return []string{e.dpopProof(other, htu, "", func(h, _ map[string]any) { h["jwk"] = jwk.Map() })}
			}, 0},
			{"wrong htm", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { c["htm"] = "GET" })}
			}, 0},
			{"htm in lower case", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { c["htm"] = "post" })}
			}, 0},
			{"wrong htu: the credential endpoint", func(htu string) []string {
				return []string{e.dpopProof(key, strings.TrimSuffix(htu, "/token")+"/credential", "", nil)}
			}, 0},
			{"wrong htu: another tenant", func(htu string) []string {
				return []string{e.dpopProof(key, strings.Replace(htu, "/health/", "/benefits/", 1), "", nil)}
			}, 0},
			{"no htu", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { delete(c, "htu") })}
			}, 0},
			{"stale iat", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { c["iat"] = e.clock.Now().Add(-61 * time.Second).Unix() })}
			}, 0},
			{"iat in the future", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { c["iat"] = e.clock.Now().Add(10 * time.Second).Unix() })}
			}, 0},
			{"iat a string", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { c["iat"] = "now" })}
			}, 0},
			{"no jti", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { delete(c, "jti") })}
			}, 0},
			{"ath at the token endpoint", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", func(_, c map[string]any) { c["ath"] = tokenHashB64("x") })}
			}, 0},
			{"two DPoP headers", func(htu string) []string {
				return []string{e.dpopProof(key, htu, "", nil), e.dpopProof(key, htu, "", nil)}
			}, 0},
			{"not a JWS", func(string) []string { return []string{"not.a.jws"} }, 0},
			{"replayed jti", func(htu string) []string {
				// The proof redeems another offer first.
				p := e.dpopProof(key, htu, "", nil)
				other := e.fetchOffer(e.createOffer("health", "vaccination-pass", "citizen-first", vaccSubject))
				code, b, _ := other.tokenDPoP(p)
				require.Equal(t, http.StatusOK, code, string(b))
				return []string{p}
			}, 1},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.in(t)
				w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "citizen-"+randomID(), vaccSubject))
				proofs := c.make(w.issuer + "/token")
				before := e.jtiRows(t)
				code, b, _ := w.tokenDPoP(proofs...)
				assert.Equal(t, http.StatusBadRequest, code, string(b))
				assert.Equal(t, "invalid_dpop_proof", errCode(b))
				assert.Equal(t, before, e.jtiRows(t), "no jti stored for a refused proof")
				e.offerUntouched(t, w)
				code, b, typ := w.tokenDPoP(e.dpopProof(key, w.issuer+"/token", "", nil))
				assert.Equal(t, http.StatusOK, code, "the offer still redeems: %s", b)
				assert.Equal(t, "DPoP", typ)
			})
		}
	})
}

// TestDPoPHostileCredential: each misuse of a DPoP-bound token (or of the
// DPoP scheme) at the credential endpoint is 401 with its code and a DPoP
// challenge, and issues nothing: the token still works, no record, no
// audit, the c_nonce unused.
func TestDPoPHostileCredential(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		cases := []struct {
			name string
			// send makes the request for w (bound to key unless bearer)
			// with body.
			send   func(t *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header)
			bearer bool // w holds a bearer token
			want   string
		}{
			{"no proof for a bound token", func(_ *testing.T, w *wallet, _ keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("DPoP", body)
			}, false, "invalid_dpop_proof"},
			{"a bound token as Bearer, with its proof", func(_ *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("Bearer", body, e.dpopProof(key, w.issuer+"/credential", w.token, nil))
			}, false, "invalid_token"},
			{"a bound token as Bearer, no proof", func(_ *testing.T, w *wallet, _ keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("Bearer", body)
			}, false, "invalid_token"},
			{"a bearer token as DPoP", func(t *testing.T, w *wallet, _ keys.Signer, body any) (int, []byte, http.Header) {
				key, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				return w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, nil))
			}, true, "invalid_token"},
			{"wrong ath", func(_ *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", "another-token", nil))
			}, false, "invalid_dpop_proof"},
			{"no ath", func(_ *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", "", nil))
			}, false, "invalid_dpop_proof"},
			{"a proof of another key", func(t *testing.T, w *wallet, _ keys.Signer, body any) (int, []byte, http.Header) {
				other, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				return w.credentialWith("DPoP", body, e.dpopProof(other, w.issuer+"/credential", w.token, nil))
			}, false, "invalid_token"},
			{"wrong htu: the token endpoint", func(_ *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/token", w.token, nil))
			}, false, "invalid_dpop_proof"},
			{"stale iat", func(_ *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, func(_, c map[string]any) {
					c["iat"] = e.clock.Now().Add(-2 * time.Minute).Unix()
				}))
			}, false, "invalid_dpop_proof"},
			{"two proofs", func(_ *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header) {
				return w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, nil),
					e.dpopProof(key, w.issuer+"/credential", w.token, nil))
			}, false, "invalid_dpop_proof"},
			{"replayed jti", func(t *testing.T, w *wallet, key keys.Signer, body any) (int, []byte, http.Header) {
				// The proof is used up by a request that then fails on its
				// c_nonce, in the record step: a replay gets nothing.
				p := e.dpopProof(key, w.issuer+"/credential", w.token, nil)
				h, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				code, b, _ := w.credentialWith("DPoP", map[string]any{"credential_configuration_id": w.configID,
					"proofs": map[string]any{"jwt": []string{w.proof(h, "made-up-nonce", nil)}}}, p)
				require.Equal(t, http.StatusBadRequest, code, string(b))
				require.Equal(t, "invalid_nonce", errCode(b))
				return w.credentialWith("DPoP", body, p)
			}, false, "invalid_dpop_proof"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.in(t)
				var w *wallet
				var key keys.Signer
				if c.bearer {
					w = e.redeemed("citizen-" + randomID())
				} else {
					w, key = e.dpopRedeemed("citizen-" + randomID())
				}
				body, n := w.credBody()
				code, b, h := c.send(t, w, key, body)
				assert.Equal(t, http.StatusUnauthorized, code, string(b))
				assert.Equal(t, c.want, errCode(b))
				assert.Equal(t, `DPoP error="`+c.want+`", algs="ES256"`, h.Get("WWW-Authenticate"))
				e.assertNothingIssued(t, w, n)
				if c.bearer {
					require.Len(t, w.batch(1), 1, "the bearer token still works as Bearer")
					return
				}
				body, _ = w.credBody()
				code, b, _ = w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, nil))
				assert.Equal(t, http.StatusOK, code, "the bound token still works with a good proof: %s", b)
			})
		}

		t.Run("a bad body uses up no proof", func(t *testing.T) {
			e := e.in(t)
			w, key := e.dpopRedeemed("citizen-bad-body")
			p := e.dpopProof(key, w.issuer+"/credential", w.token, nil)
			before := e.jtiRows(t)
			// Sent as JSON: a body without a media type is refused (415)
			// before it is read at all.
			code, b, _ := w.e.doWith("POST", w.path("/credential"), http.Header{"Authorization": {"DPoP " + w.token}, "DPoP": {p}}, "{not json", "application/json")
			assert.Equal(t, http.StatusBadRequest, code, string(b))
			assert.Equal(t, "invalid_credential_request", errCode(b))
			assert.Equal(t, before, e.jtiRows(t), "the jti is not used up")
			body, _ := w.credBody()
			code, b, _ = w.credentialWith("DPoP", body, p)
			assert.Equal(t, http.StatusOK, code, "the same proof then works: %s", b)
		})
		t.Run("a bound token as Bearer is reported before a bad body", func(t *testing.T) {
			e := e.in(t)
			w, _ := e.dpopRedeemed("citizen-bad-body-2")
			code, b, h := w.credentialWith("Bearer", "{not json")
			assert.Equal(t, http.StatusUnauthorized, code, string(b))
			assert.Equal(t, "invalid_token", errCode(b))
			assert.Equal(t, `DPoP error="invalid_token", algs="ES256"`, h.Get("WWW-Authenticate"))
		})
		t.Run("a dead bearer token keeps the Bearer challenge", func(t *testing.T) {
			e := e.in(t)
			code, b, h := e.do("POST", "/issuers/health/credential", "not-a-token", map[string]any{"credential_configuration_id": "vaccination-pass"}, "")
			assert.Equal(t, http.StatusUnauthorized, code, string(b))
			assert.Equal(t, `Bearer error="invalid_token"`, h.Get("WWW-Authenticate"))
		})
	})
}

// TestRequireDPoP: with RequireDPoP a token request without a proof is
// refused (and spends nothing), one with a proof gets a DPoP token, and
// a request without a token is challenged for DPoP only.
func TestRequireDPoP(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{config: func(c *Config) { c.RequireDPoP = true }})
		w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "citizen-req", vaccSubject))
		code, b, _ := w.tokenDPoP()
		assert.Equal(t, http.StatusBadRequest, code, string(b))
		assert.Equal(t, "invalid_dpop_proof", errCode(b))
		e.offerUntouched(t, w)

		key, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		code, b, typ := w.tokenDPoP(e.dpopProof(key, w.issuer+"/token", "", nil))
		require.Equal(t, http.StatusOK, code, string(b))
		assert.Equal(t, "DPoP", typ)
		body, _ := w.credBody()
		code, b, _ = w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, nil))
		assert.Equal(t, http.StatusOK, code, string(b))

		code, _, h := e.do("POST", "/issuers/health/credential", "", map[string]any{"credential_configuration_id": "vaccination-pass"}, "")
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, `DPoP algs="ES256"`, h.Get("WWW-Authenticate"))
	})
}

// TestDPoPProofSpentOnRefusal: a DPoP proof that checked out is used up
// even when its credential request is then refused (here for an unknown
// configuration, and for a key proof of the wrong audience), so that
// whoever saw it cannot send it again with a body of their own (RFC 9449
// §11.1).
func TestDPoPProofSpentOnRefusal(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		for name, bad := range map[string]func(w *wallet) map[string]any{
			"unknown configuration": func(w *wallet) map[string]any {
				body, _ := w.credBody()
				body["credential_configuration_id"] = "benefits-card"
				return body
			},
			"wrong aud": func(w *wallet) map[string]any {
				h, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				return map[string]any{"credential_configuration_id": w.configID,
					"proofs": map[string]any{"jwt": []string{w.proof(h, w.nonce(), func(_, c map[string]any) { c["aud"] = "https://elsewhere.example" })}}}
			},
		} {
			t.Run(name, func(t *testing.T) {
				w, key := e.dpopRedeemed("citizen-spent-" + strings.ReplaceAll(name, " ", "-"))
				before := e.jtiRows(t)
				proof := e.dpopProof(key, w.issuer+"/credential", w.token, nil)
				code, b, _ := w.credentialWith("DPoP", bad(w), proof)
				require.Equal(t, http.StatusBadRequest, code, string(b))
				assert.Equal(t, before+1, e.jtiRows(t), "the refused request used up its DPoP proof")

				body, _ := w.credBody()
				code, b, hdr := w.credentialWith("DPoP", body, proof)
				assert.Equal(t, http.StatusUnauthorized, code, string(b))
				assert.Contains(t, string(b), "invalid_dpop_proof")
				assert.Contains(t, hdr.Get("WWW-Authenticate"), `DPoP error="invalid_dpop_proof"`)

				body, _ = w.credBody()
				code, b, _ = w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, nil))
				assert.Equal(t, http.StatusOK, code, "a fresh proof still works: %s", b)
			})
		}
	})
}
