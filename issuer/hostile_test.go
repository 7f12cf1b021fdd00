package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// countRows counts the rows of an issuer table.
func countRows(t *testing.T, st *store.Store, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, store.Raw(st).QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table, nil, &n))
	return n
}

// countWhere counts the rows of table that match cond ($1, $2, … are args).
func countWhere(t *testing.T, st *store.Store, table, cond string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, store.Raw(st).QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table+" WHERE "+cond, args, &n))
	return n
}

// nonceStored reports whether the c_nonce n is still stored (not used up).
func (e *env) nonceStored(t *testing.T, n string) bool {
	t.Helper()
	return countWhere(t, e.st, "single_use", "kind = 'c_nonce' AND value_hash = $1", hash(n)) == 1
}

// assertNothingIssued checks that a refused credential request of w left
// no trace: w's access token still works (its offer is not completed),
// there is no credential record and no issuance audit for its offer, and
// each c_nonce of kept is still stored, unconsumed.
func (e *env) assertNothingIssued(t *testing.T, w *wallet, kept ...string) {
	t.Helper()
	o, err := e.st.OfferByToken(context.Background(), hash(w.token), e.svc.now())
	if assert.NoError(t, err, "the access token survives a refused request") {
		assert.Equal(t, store.OfferRedeemed, o.State)
		assert.Zero(t, countWhere(t, e.st, "credentials", "tenant_id = $1 AND subject_ref = $2", o.TenantID, o.SubjectRef), "no credential record")
		assert.Zero(t, countWhere(t, e.st, "audit", "action = 'credential.issue' AND target = $1", o.ID), "no issuance audit")
	}
	for _, n := range kept {
		assert.True(t, e.nonceStored(t, n), "the c_nonce is not used up")
	}
}

// redeemed returns a wallet holding an access token for a fresh offer.
func (e *env) redeemed(subjectRef string) *wallet {
	e.t.Helper()
	w := e.fetchOffer(e.createOffer("health", "vaccination-pass", subjectRef, vaccSubject))
	code, b := w.tokenWith(w.txCode)
	require.Equal(e.t, http.StatusOK, code, string(b))
	return w
}

func b64(v any) string {
	j, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(j)
}

// TestHostileProofs covers D45 and D46: each bad proof gets its OpenID4VCI
// error code, and nothing is stored: no credential record, no issuance
// audit, the access token still works, and a proof refused before the
// record transaction leaves its c_nonce unconsumed.
func TestHostileProofs(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		holder, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		privJWK := func(h, _ map[string]any) {
			j := h["jwk"].(map[string]any)
			j["d"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}
		// A holder whose private scalar the test knows, so that a proof can
		// carry the key's own d: the only defect is the private part.
		ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		ecHolder, err := keys.FromPrivateKey(ecPriv)
		require.NoError(t, err)
		ecD, err := ecPriv.Bytes()
		require.NoError(t, err)
		ecJWK, err := jose.PublicJWK(ecHolder.Public())
		require.NoError(t, err)
		privDIDJWK := ecJWK.Map()
		privDIDJWK["d"] = base64.RawURLEncoding.EncodeToString(ecD)
		didKey, err := did.KeyDID(holder.Public())
		require.NoError(t, err)
		unsigned := func(alg string, w *wallet, n string) string {
			jwk, _ := jose.PublicJWK(holder.Public())
			return b64(map[string]any{"alg": alg, "typ": ProofTyp, "jwk": jwk.Map()}) + "." +
				b64(map[string]any{"aud": w.issuer, "iat": e.clock.Now().Unix(), "nonce": n})
		}
		cases := []struct {
			name string
			// make returns one proof; n is a fresh c_nonce of w; t is the
			// case's own subtest.
			make func(t *testing.T, w *wallet, n string) string
			want string
			// keepsNonce: the proof presents n and is refused before the
			// record transaction, so n must still be stored afterwards. It
			// is false for a proof that does not carry n: n is then stored
			// whatever the issuer does, and the check could not fail.
			keepsNonce bool
		}{
			{"D45 reused c_nonce", func(t *testing.T, w *wallet, n string) string {
				_, err := e.st.ConsumeSingleUse(context.Background(), "c_nonce", n, e.clock.Now())
				require.NoError(t, err)
				return w.proof(holder, n, nil)
			}, "invalid_nonce", false},
			{"D45 expired c_nonce", func(_ *testing.T, w *wallet, n string) string {
				e.clock.Add(6 * time.Minute)
				w.tokenAgain()
				return w.proof(holder, n, nil)
			}, "invalid_nonce", false},
			{"D45 unknown c_nonce", func(_ *testing.T, w *wallet, _ string) string { return w.proof(holder, "made-up-nonce", nil) }, "invalid_nonce", false},
			{"D45 proof without a nonce", func(_ *testing.T, w *wallet, _ string) string { return w.proof(holder, "", nil) }, "invalid_proof", false},
			{"D45 empty nonce", func(_ *testing.T, w *wallet, _ string) string {
				return w.proof(holder, "", func(_, c map[string]any) { c["nonce"] = "" })
			}, "invalid_proof", false},
			{"D45 nonce that is not a string", func(_ *testing.T, w *wallet, _ string) string {
				return w.proof(holder, "", func(_, c map[string]any) { c["nonce"] = 7 })
			}, "invalid_proof", false},
			{"D46 wrong aud", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(_, c map[string]any) { c["aud"] = "https://evil.example" })
			}, "invalid_proof", true},
			{"D46 aud of another tenant", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(_, c map[string]any) { c["aud"] = e.srv.URL + "/issuers/benefits" })
			}, "invalid_proof", true},
			{"D46 no aud", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(_, c map[string]any) { delete(c, "aud") })
			}, "invalid_proof", true},
			{"D46 wrong typ", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(h, _ map[string]any) { h["typ"] = "JWT" })
			}, "invalid_proof", true},
			{"D46 no typ", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(h, _ map[string]any) { delete(h, "typ") })
			}, "invalid_proof", true},
			{"D46 both kid and jwk", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(h, _ map[string]any) { h["kid"] = didKey + "#" + strings.TrimPrefix(didKey, "did:key:") })
			}, "invalid_proof", true},
			{"D46 private d in jwk", func(_ *testing.T, w *wallet, n string) string { return w.proof(holder, n, privJWK) }, "invalid_proof", true},
			{"D46 private d in jwk, the key's own", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(ecHolder, n, func(h, _ map[string]any) {
					h["jwk"].(map[string]any)["d"] = base64.RawURLEncoding.EncodeToString(ecD)
				})
			}, "invalid_proof", true},
			{"D46 private d in a did:jwk kid", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(ecHolder, n, func(h, _ map[string]any) {
					delete(h, "jwk")
					h["kid"] = "did:jwk:" + b64(privDIDJWK) + "#0"
				})
			}, "invalid_proof", true},
			{"D46 MAC alg", func(_ *testing.T, w *wallet, n string) string {
				in := unsigned("HS256", w, n)
				m := hmac.New(sha256.New, []byte("k"))
				m.Write([]byte(in))
				return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
			}, "invalid_proof", true},
			{"D46 alg none", func(_ *testing.T, w *wallet, n string) string { return unsigned("none", w, n) + "." }, "invalid_proof", true},
			{"D46 stale iat", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(_, c map[string]any) { c["iat"] = e.clock.Now().Add(-time.Hour).Unix() })
			}, "invalid_proof", true},
			{"D46 iat in the future", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(_, c map[string]any) { c["iat"] = e.clock.Now().Add(time.Hour).Unix() })
			}, "invalid_proof", true},
			{"D46 no iat", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(_, c map[string]any) { delete(c, "iat") })
			}, "invalid_proof", true},
			{"D46 bad signature", func(_ *testing.T, w *wallet, n string) string {
				p := w.proof(holder, n, nil)
				return p[:len(p)-4] + "AAAA"
			}, "invalid_proof", true},
			{"D46 not a JWS", func(_ *testing.T, _ *wallet, _ string) string { return "not.a.jws" }, "invalid_proof", false},
			{"D46 kid that is not a DID", func(_ *testing.T, w *wallet, n string) string {
				return w.proof(holder, n, func(h, _ map[string]any) { delete(h, "jwk"); h["kid"] = "key-1" })
			}, "invalid_proof", true},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := e.in(t)
				w := e.redeemed("citizen-" + c.name)
				n := w.nonce()
				p := c.make(t, w, n)
				code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": []string{p}}})
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, c.want, errCode(b), string(b))
				assert.Zero(t, countRows(t, st, "credentials"), "nothing stored on rejection")
				var kept []string
				if c.keepsNonce {
					kept = append(kept, n)
				}
				e.assertNothingIssued(t, w, kept...)
			})
		}

		t.Run("D46 kid as did:key is accepted", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("citizen-kid")
			p := w.proof(holder, w.nonce(), func(h, _ map[string]any) {
				delete(h, "jwk")
				h["kid"] = didKey + "#" + strings.TrimPrefix(didKey, "did:key:")
			})
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": []string{p}}})
			require.Equal(t, http.StatusOK, code, string(b))
		})
		t.Run("D46 kid as a public did:jwk is accepted", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("citizen-did-jwk")
			p := w.proof(ecHolder, w.nonce(), func(h, _ map[string]any) {
				delete(h, "jwk")
				h["kid"] = "did:jwk:" + b64(ecJWK.Map()) + "#0"
			})
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": []string{p}}})
			require.Equal(t, http.StatusOK, code, string(b))
		})
		t.Run("a batch proving one key twice", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("citizen-dup")
			n := w.nonce()
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
				"proofs": map[string]any{"jwt": []string{w.proof(holder, n, nil), w.proof(holder, n, nil)}}})
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_proof", errCode(b))
			e.assertNothingIssued(t, w, n)
		})
		t.Run("a batch with one bad proof", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("citizen-one-bad")
			n := w.nonce()
			h2, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
				"proofs": map[string]any{"jwt": []string{w.proof(holder, n, nil),
					w.proof(h2, n, func(_, c map[string]any) { c["aud"] = "https://evil.example" })}}})
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_proof", errCode(b))
			e.assertNothingIssued(t, w, n)
		})
		t.Run("no proofs", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("citizen-noproof")
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass"})
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_proof", errCode(b))
			e.assertNothingIssued(t, w)
		})
		t.Run("a batch over the configured size", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("citizen-big")
			n := w.nonce()
			var ps []string
			for range 11 {
				h, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				ps = append(ps, w.proof(h, n, nil))
			}
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": ps}})
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_credential_request", errCode(b))
			e.assertNothingIssued(t, w, n)
		})
	})
}

// tokenAgain gets a new access token after the clock moved past the old
// one, by redeeming a new offer for the same wallet.
func (w *wallet) tokenAgain() {
	w.e.t.Helper()
	nw := w.e.redeemed("citizen-again-" + randomID())
	w.token, w.code = nw.token, nw.code
}

// TestHostileGrants covers D47, and the access token's single use.
func TestHostileGrants(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		t.Run("D47 code used twice", func(t *testing.T) {
			e := e.in(t)
			v := e.createOffer("health", "vaccination-pass", "c1", vaccSubject)
			w := e.fetchOffer(v)
			code, _ := w.tokenWith(w.txCode)
			require.Equal(t, http.StatusOK, code)
			first := w.token
			code, b := w.tokenWith(w.txCode)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b))
			o, err := st.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Equal(t, store.OfferRedeemed, o.State)
			assert.Equal(t, hash(first), o.TokenHash, "the second use issued no new token")
			assert.Equal(t, 1, o.Attempts, "a used code counts no more attempts")
		})
		t.Run("D47 five wrong tx_codes then the right one", func(t *testing.T) {
			e := e.in(t)
			v := e.createOffer("health", "vaccination-pass", "c2", vaccSubject)
			w := e.fetchOffer(v)
			right, err := strconv.Atoi(w.txCode)
			require.NoError(t, err)
			codes := 1 // the number of tx_codes of TxCodeLength digits
			for range TxCodeLength {
				codes *= 10
			}
			for i := range 5 { // SECURITY-CASES D47: five wrong tx_codes
				wrong := fmt.Sprintf("%0*d", TxCodeLength, (right+1+i)%codes) // never the right one
				code, b := w.tokenWith(wrong)
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, "invalid_grant", errCode(b))
			}
			code, b := w.tokenWith(w.txCode)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b), "the code is dead")
			o, err := st.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Equal(t, store.OfferOffered, o.State, "never redeemed")
			assert.Nil(t, o.TokenHash, "no access token was issued")
			assert.Equal(t, 5, o.Attempts)
		})
		t.Run("D47 a code past its 10 minutes", func(t *testing.T) {
			e := e.in(t)
			v := e.createOffer("health", "vaccination-pass", "c3", vaccSubject)
			w := e.fetchOffer(v)
			e.clock.Add(10*time.Minute + time.Second)
			code, b := w.tokenWith(w.txCode)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b))
			o, err := st.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Nil(t, o.TokenHash, "no access token was issued")
		})
		t.Run("a missing tx_code", func(t *testing.T) {
			// OpenID4VCI §6.3: invalid_request; it still spends an attempt,
			// so leaving the tx_code out is no way around the limit of 5.
			e := e.in(t)
			v := e.createOffer("health", "vaccination-pass", "c4", vaccSubject)
			w := e.fetchOffer(v)
			code, b := w.tokenWith("")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_request", errCode(b))
			o, err := st.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Equal(t, 1, o.Attempts, "the attempt is counted")
			assert.Nil(t, o.TokenHash, "no access token was issued")
			for range 4 {
				code, _ = w.tokenWith("")
				assert.Equal(t, http.StatusBadRequest, code)
			}
			code, b = w.tokenWith(w.txCode)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b), "5 empty tx_codes kill the code too")
		})
		t.Run("authorization_details in the token request", func(t *testing.T) {
			e := e.in(t)
			v := e.createOffer("health", "vaccination-pass", "c4b", vaccSubject)
			w := e.fetchOffer(v)
			form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {w.code}, "tx_code": {w.txCode},
				"authorization_details": {`[{"type":"openid_credential","credential_configuration_id":"vaccination-pass"}]`}}.Encode()
			code, b, _ := e.do("POST", w.path("/token"), "", form, "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_request", errCode(b))
			o, err := st.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Nil(t, o.TokenHash, "no access token was issued")
			assert.Zero(t, o.Attempts, "refused before the code is looked at")
		})
		t.Run("another tenant's code", func(t *testing.T) {
			e := e.in(t)
			v := e.createOffer("health", "vaccination-pass", "c5", vaccSubject)
			w := e.fetchOffer(v)
			form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {w.code}, "tx_code": {w.txCode}}.Encode()
			code, b, _ := e.do("POST", "/issuers/benefits/token", "", form, "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b))
			o, err := st.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Equal(t, store.OfferOffered, o.State, "not redeemed")
			assert.Nil(t, o.TokenHash, "no access token was issued")
			assert.Zero(t, o.Attempts, "no attempt of the code is spent at another tenant's endpoint")
		})
		t.Run("wrong grant type and repeated parameters", func(t *testing.T) {
			e := e.in(t)
			code, b, _ := e.do("POST", "/issuers/health/token", "", "grant_type=authorization_code&code=x", "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "unsupported_grant_type", errCode(b))
			code, b, _ = e.do("POST", "/issuers/health/token", "", "grant_type=a&grant_type=b", "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_request", errCode(b))
		})
		t.Run("an access token is single use", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("c6")
			require.Len(t, w.batch(1), 1)
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
				"proofs": map[string]any{"jwt": []string{w.proof(w.holders[0], w.nonce(), nil)}}})
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Equal(t, "invalid_token", errCode(b))
		})
		t.Run("no access token", func(t *testing.T) {
			e := e.in(t)
			code, b, h := e.do("POST", "/issuers/health/credential", "", map[string]any{"credential_configuration_id": "vaccination-pass"}, "")
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Equal(t, "invalid_token", errCode(b))
			// RFC 6750 §3.1, RFC 9449 §7.1: no error code in the challenge
			// when the request carried no credentials; both schemes offered.
			assert.Equal(t, `Bearer, DPoP algs="ES256"`, h.Get("WWW-Authenticate"))
		})
		t.Run("a dead access token is reported before a bad body", func(t *testing.T) {
			e := e.in(t)
			for name, body := range map[string]any{
				"malformed JSON":             "{not json",
				"no configuration named":     map[string]any{"proofs": map[string]any{"jwt": []string{"x"}}},
				"encryption asked for":       map[string]any{"credential_configuration_id": "vaccination-pass", "credential_response_encryption": map[string]any{}},
				"credential_identifier form": map[string]any{"credential_identifier": "x"},
			} {
				code, b, h := e.do("POST", "/issuers/health/credential", "not-a-token", body, "application/json")
				assert.Equal(t, http.StatusUnauthorized, code, name)
				assert.Equal(t, "invalid_token", errCode(b), name)
				assert.Contains(t, h.Get("WWW-Authenticate"), `error="invalid_token"`, name)
			}
			w := e.redeemed("c7")
			code, b, _ := e.do("POST", w.path("/credential"), w.token, "{not json", "application/json")
			assert.Equal(t, http.StatusBadRequest, code, "a live token: the body's error")
			assert.Equal(t, "invalid_credential_request", errCode(b))
		})
	})
}

// TestHostileRequests covers D48 and D49.
func TestHostileRequests(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		t.Run("D48 unknown configuration", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("c1")
			h, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			for _, id := range []string{"nope", "benefits-eligibility", ""} {
				n := w.nonce()
				for _, p := range []string{"x", w.proof(h, n, nil)} {
					code, b := w.credential(map[string]any{"credential_configuration_id": id,
						"proofs": map[string]any{"jwt": []string{p}}})
					assert.Equal(t, http.StatusBadRequest, code)
					want := "unknown_credential_configuration"
					if id == "" {
						want = "invalid_credential_request" // no configuration named at all
					}
					assert.Equal(t, want, errCode(b), "configuration %q", id)
				}
				e.assertNothingIssued(t, w, n)
			}
			assert.Zero(t, countRows(t, st, "credentials"))
		})
		t.Run("requests this issuer must refuse, not ignore", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("c1b")
			h, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			n := w.nonce()
			proofs := map[string]any{"jwt": []string{w.proof(h, n, nil)}}
			for name, c := range map[string]struct {
				body map[string]any
				want string
			}{
				// §8.3: an encrypted response is a MUST once asked for.
				"encryption": {map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": proofs,
					"credential_response_encryption": map[string]any{"jwk": map[string]any{"kty": "EC"}, "enc": "A128GCM"}},
					"invalid_encryption_parameters"},
				// §8.2: the two identifiers are mutually exclusive.
				"both identifiers": {map[string]any{"credential_configuration_id": "vaccination-pass", "credential_identifier": "x",
					"proofs": proofs}, "invalid_credential_request"},
			} {
				code, b := w.credential(c.body)
				assert.Equal(t, http.StatusBadRequest, code, name)
				assert.Equal(t, c.want, errCode(b), name)
			}
			e.assertNothingIssued(t, w, n)
		})
		t.Run("D48 unknown configuration in an offer", func(t *testing.T) {
			e := e.in(t)
			offers := countRows(t, st, "credential_offers")
			audits := countWhere(t, st, "audit", "action = 'credential_offer.create'")
			for _, id := range []string{"benefits-eligibility", "nope"} {
				code, b, _ := e.do("POST", "/issuer/v1/offers", e.keys["health/all"], map[string]any{
					"credential_configuration_id": id, "subject_ref": "x", "subject_data": vaccSubject}, "")
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, "unknown_credential_configuration", errCode(b))
			}
			assert.Equal(t, offers, countRows(t, st, "credential_offers"), "no offer stored")
			assert.Equal(t, audits, countWhere(t, st, "audit", "action = 'credential_offer.create'"), "no offer audited")
		})
		t.Run("subject data that fails the schema", func(t *testing.T) {
			e := e.in(t)
			before := countRows(t, st, "credential_offers")
			for _, subj := range []any{
				map[string]any{"given_name": "Ada"},
				map[string]any{"given_name": "Ada", "family_name": "L", "birth_date": "10/12/1950", "vaccinations": []any{}},
				map[string]any{"given_name": "Ada", "family_name": "L", "birth_date": "1950-12-10",
					"vaccinations": []any{map[string]any{"date": "2026-01-01", "vaccine": "x"}}, "age_over_18": true},
				map[string]any{"given_name": "Ada", "family_name": "L", "birth_date": "1950-12-10",
					"vaccinations": []any{map[string]any{"date": "2026-01-01", "vaccine": "x"}}, "status": "valid"},
				"not an object",
			} {
				code, b, _ := e.do("POST", "/issuer/v1/offers", e.keys["health/all"], map[string]any{
					"credential_configuration_id": "vaccination-pass", "subject_ref": "x", "subject_data": subj}, "")
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, "invalid_subject_data", errCode(b))
			}
			assert.Equal(t, before, countRows(t, st, "credential_offers"), "nothing stored on rejection")
		})
		t.Run("D48 another tenant's credential is 404", func(t *testing.T) {
			e := e.in(t)
			creds := e.issue("health", "vaccination-pass", "c2", vaccSubject, 1)
			require.Len(t, creds, 1)
			recs, err := st.ListCredentials(context.Background(), "health", "c2", 0)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			seq := func() int64 {
				l, err := st.GetStatusList(context.Background(), recs[0].ListID)
				require.NoError(t, err)
				return l.ChangeSeq
			}
			before := seq()
			for _, a := range []string{ActionRevoke, ActionSuspend, ActionUnsuspend} {
				code, b, _ := e.do("POST", "/issuer/v1/credentials/"+recs[0].ID+"/"+a, e.keys["benefits/all"], map[string]any{"reason": "x"}, "")
				assert.Equal(t, http.StatusNotFound, code, a)
				assert.Equal(t, "credential_not_found", errCode(b), a)
			}
			code, b, _ := e.do("GET", "/issuer/v1/credentials?subject_ref=c2", e.keys["benefits/all"], nil, "")
			require.Equal(t, http.StatusOK, code)
			assert.JSONEq(t, `{"credentials":[]}`, string(b))
			got, err := st.GetCredential(context.Background(), "health", recs[0].ID)
			require.NoError(t, err)
			assert.Equal(t, StatusValid, got.Status, "nothing changed")
			assert.Equal(t, before, seq(), "no status change counted on the list")
			assert.Zero(t, countWhere(t, st, "audit", "target = $1", recs[0].ID), "no status action audited in either tenant")
		})
		t.Run("D48 another tenant's offer is 404", func(t *testing.T) {
			e := e.in(t)
			v := e.createOffer("health", "vaccination-pass", "c2b", vaccSubject)
			u, err := url.Parse(v.OfferURI)
			require.NoError(t, err)
			ref := strings.TrimPrefix(u.Query().Get("credential_offer_uri"), e.srv.URL)
			require.True(t, strings.HasPrefix(ref, "/issuers/health/offers/"))
			code, b, _ := e.do("GET", strings.Replace(ref, "/issuers/health/", "/issuers/benefits/", 1), "", nil, "")
			assert.Equal(t, http.StatusNotFound, code)
			assert.Equal(t, "offer_not_found", errCode(b))
			o, err := st.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Equal(t, store.OfferOffered, o.State)
			assert.Zero(t, o.Attempts, "serving an offer counts no attempt")
		})
		t.Run("D49 client-supplied status, idx and iss are ignored", func(t *testing.T) {
			e := e.in(t)
			w := e.redeemed("c3")
			h, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			p := w.proof(h, w.nonce(), func(_, c map[string]any) { c["iss"] = "did:example:evil"; c["status"] = "x" })
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
				"proofs": map[string]any{"jwt": []string{p}}, "iss": "did:example:evil", "idx": 0,
				"status": map[string]any{"status_list": map[string]any{"idx": 0, "uri": "https://evil.example/list"}}})
			require.Equal(t, http.StatusOK, code, string(b))
			creds := credentialsOf(t, b)
			require.Len(t, creds, 1)
			r := e.coreVerify(creds[0], sdjwt.ProfileSDJWTVC)
			assert.Equal(t, e.dids["health"], r.Claims["iss"])
			assert.True(t, strings.HasPrefix(r.Status.URI, e.srv.URL+"/status/"))
			recs, err := st.ListCredentials(context.Background(), "health", "c3", 0)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			assert.Equal(t, uint64(recs[0].Index), r.Status.Index, "the server chose the index")
			assert.Equal(t, e.srv.URL+"/status/"+recs[0].ListID, r.Status.URI, "the server chose the list")
			assert.NotContains(t, r.Claims, "idx", "no client member reaches the claims")
		})
	})
}

// lookupsDown fails every access-token look-up as a store outage would.
type lookupsDown struct{ Store }

func (lookupsDown) OffersByTokens(context.Context, [][]byte, time.Time) (map[string]store.CredentialOffer, error) {
	return nil, store.ErrUnavailable.With("forced", nil)
}

// TestMalformedRequestWithTheStoreDown: the token check that runs before a
// bad body's error cannot turn that final 400 into a 503 to retry.
func TestMalformedRequestWithTheStoreDown(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{wrap: func(s Store) Store { return lookupsDown{s} }})
	code, b, _ := e.do("POST", "/issuers/health/credential", "some-token", "{not json", "application/json")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, "invalid_credential_request", errCode(b))
	code, b, _ = e.do("POST", "/issuers/health/credential", "some-token",
		map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": []string{"x"}}}, "")
	assert.Equal(t, http.StatusServiceUnavailable, code, "a well-formed request does need its token looked up")
	assert.Equal(t, "store_unavailable", errCode(b))
}
