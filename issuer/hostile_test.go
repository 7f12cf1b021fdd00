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

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
)

// countRows counts the rows of an issuer table.
func countRows(t *testing.T, st *store.Store, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, st.RawQueryRow(context.Background(), "SELECT COUNT(*) FROM "+table, nil, &n))
	return n
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
// error code, and nothing is stored.
func TestHostileProofs(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		holder, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		privJWK := func(h, _ map[string]any) {
			j := h["jwk"].(map[string]any)
			j["d"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}
		didKey, err := did.KeyDID(holder.Public())
		require.NoError(t, err)
		cases := []struct {
			name string
			make func(w *wallet) string // returns one proof
			want string
		}{
			{"D45 reused c_nonce", func(w *wallet) string {
				n := w.nonce()
				_, err := e.st.ConsumeSingleUse(context.Background(), "c_nonce", n, e.clock.Now())
				require.NoError(t, err)
				return w.proof(holder, n, nil)
			}, "invalid_nonce"},
			{"D45 expired c_nonce", func(w *wallet) string {
				n := w.nonce()
				e.clock.Add(6 * time.Minute)
				w.tokenAgain()
				return w.proof(holder, n, nil)
			}, "invalid_nonce"},
			{"D45 unknown c_nonce", func(w *wallet) string { return w.proof(holder, "made-up-nonce", nil) }, "invalid_nonce"},
			{"D45 proof without a nonce", func(w *wallet) string { return w.proof(holder, "", nil) }, "invalid_proof"},
			{"D46 wrong aud", func(w *wallet) string {
				return w.proof(holder, w.nonce(), func(_, c map[string]any) { c["aud"] = "https://evil.example" })
			}, "invalid_proof"},
			{"D46 aud of another tenant", func(w *wallet) string {
				return w.proof(holder, w.nonce(), func(_, c map[string]any) { c["aud"] = e.srv.URL + "/issuers/benefits" })
			}, "invalid_proof"},
			{"D46 wrong typ", func(w *wallet) string {
				return w.proof(holder, w.nonce(), func(h, _ map[string]any) { h["typ"] = "JWT" })
			}, "invalid_proof"},
			{"D46 both kid and jwk", func(w *wallet) string {
				return w.proof(holder, w.nonce(), func(h, _ map[string]any) { h["kid"] = didKey + "#" + strings.TrimPrefix(didKey, "did:key:") })
			}, "invalid_proof"},
			{"D46 private d in jwk", func(w *wallet) string { return w.proof(holder, w.nonce(), privJWK) }, "invalid_proof"},
			{"D46 MAC alg", func(w *wallet) string {
				jwk, _ := jose.PublicJWK(holder.Public())
				in := b64(map[string]any{"alg": "HS256", "typ": ProofTyp, "jwk": jwk.Map()}) + "." +
					b64(map[string]any{"aud": w.issuer, "iat": e.clock.Now().Unix(), "nonce": w.nonce()})
				m := hmac.New(sha256.New, []byte("k"))
				m.Write([]byte(in))
				return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
			}, "invalid_proof"},
			{"D46 stale iat", func(w *wallet) string {
				return w.proof(holder, w.nonce(), func(_, c map[string]any) { c["iat"] = e.clock.Now().Add(-time.Hour).Unix() })
			}, "invalid_proof"},
			{"D46 iat in the future", func(w *wallet) string {
				return w.proof(holder, w.nonce(), func(_, c map[string]any) { c["iat"] = e.clock.Now().Add(time.Hour).Unix() })
			}, "invalid_proof"},
			{"D46 bad signature", func(w *wallet) string {
				p := w.proof(holder, w.nonce(), nil)
				return p[:len(p)-4] + "AAAA"
			}, "invalid_proof"},
			{"D46 not a JWS", func(w *wallet) string { return "not.a.jws" }, "invalid_proof"},
			{"D46 kid that is not a DID", func(w *wallet) string {
				return w.proof(holder, w.nonce(), func(h, _ map[string]any) { delete(h, "jwk"); h["kid"] = "key-1" })
			}, "invalid_proof"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				w := e.redeemed("citizen-" + c.name)
				p := c.make(w)
				code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": []string{p}}})
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, c.want, errCode(b), string(b))
				assert.Zero(t, countRows(t, st, "credentials"), "nothing stored on rejection")
			})
		}

		t.Run("D46 kid as did:key is accepted", func(t *testing.T) {
			w := e.redeemed("citizen-kid")
			p := w.proof(holder, w.nonce(), func(h, _ map[string]any) {
				delete(h, "jwk")
				h["kid"] = didKey + "#" + strings.TrimPrefix(didKey, "did:key:")
			})
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": []string{p}}})
			require.Equal(t, http.StatusOK, code, string(b))
		})
		t.Run("a batch proving one key twice", func(t *testing.T) {
			w := e.redeemed("citizen-dup")
			n := w.nonce()
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
				"proofs": map[string]any{"jwt": []string{w.proof(holder, n, nil), w.proof(holder, n, nil)}}})
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_proof", errCode(b))
		})
		t.Run("no proofs", func(t *testing.T) {
			w := e.redeemed("citizen-noproof")
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass"})
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_proof", errCode(b))
		})
		t.Run("a batch over the configured size", func(t *testing.T) {
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
			w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "c1", vaccSubject))
			code, _ := w.tokenWith(w.txCode)
			require.Equal(t, http.StatusOK, code)
			code, b := w.tokenWith(w.txCode)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b))
		})
		t.Run("D47 five wrong tx_codes then the right one", func(t *testing.T) {
			w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "c2", vaccSubject))
			for i := range 5 {
				code, b := w.tokenWith("000000"[:5] + string(rune('0'+i)))
				if w.txCode == "00000"+string(rune('0'+i)) {
					t.Skip("the random tx_code collided with a wrong guess")
				}
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, "invalid_grant", errCode(b))
			}
			code, b := w.tokenWith(w.txCode)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b), "the code is dead")
		})
		t.Run("D47 a code past its 10 minutes", func(t *testing.T) {
			w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "c3", vaccSubject))
			e.clock.Add(10*time.Minute + time.Second)
			code, b := w.tokenWith(w.txCode)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b))
		})
		t.Run("a missing tx_code", func(t *testing.T) {
			w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "c4", vaccSubject))
			code, b := w.tokenWith("")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b))
		})
		t.Run("another tenant's code", func(t *testing.T) {
			w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "c5", vaccSubject))
			form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {w.code}, "tx_code": {w.txCode}}.Encode()
			code, b, _ := e.do("POST", "/issuers/benefits/token", "", form, "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_grant", errCode(b))
		})
		t.Run("wrong grant type and repeated parameters", func(t *testing.T) {
			code, b, _ := e.do("POST", "/issuers/health/token", "", "grant_type=authorization_code&code=x", "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "unsupported_grant_type", errCode(b))
			code, b, _ = e.do("POST", "/issuers/health/token", "", "grant_type=a&grant_type=b", "application/x-www-form-urlencoded")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "invalid_request", errCode(b))
		})
		t.Run("an access token is single use", func(t *testing.T) {
			w := e.redeemed("c6")
			require.Len(t, w.batch(1), 1)
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
				"proofs": map[string]any{"jwt": []string{w.proof(w.holders[0], w.nonce(), nil)}}})
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Equal(t, "invalid_token", errCode(b))
		})
		t.Run("no access token", func(t *testing.T) {
			code, b, h := e.do("POST", "/issuers/health/credential", "", map[string]any{"credential_configuration_id": "vaccination-pass"}, "")
			assert.Equal(t, http.StatusUnauthorized, code)
			assert.Equal(t, "invalid_token", errCode(b))
			assert.Contains(t, h.Get("WWW-Authenticate"), "invalid_token")
		})
	})
}

// TestHostileRequests covers D48 and D49.
func TestHostileRequests(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		t.Run("D48 unknown configuration", func(t *testing.T) {
			w := e.redeemed("c1")
			for _, id := range []string{"nope", "benefits-eligibility"} {
				code, b := w.credential(map[string]any{"credential_configuration_id": id,
					"proofs": map[string]any{"jwt": []string{"x"}}})
				assert.Equal(t, http.StatusBadRequest, code)
				assert.Equal(t, "unknown_credential_configuration", errCode(b))
			}
			assert.Zero(t, countRows(t, st, "credentials"))
		})
		t.Run("D48 unknown configuration in an offer", func(t *testing.T) {
			code, b, _ := e.do("POST", "/issuer/v1/offers", e.keys["health/all"], map[string]any{
				"credential_configuration_id": "benefits-eligibility", "subject_ref": "x", "subject_data": vaccSubject}, "")
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Equal(t, "unknown_credential_configuration", errCode(b))
		})
		t.Run("subject data that fails the schema", func(t *testing.T) {
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
			creds := e.issue("health", "vaccination-pass", "c2", vaccSubject, 1)
			require.Len(t, creds, 1)
			recs, err := st.ListCredentials(context.Background(), "health", "c2", 0)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			code, b, _ := e.do("POST", "/issuer/v1/credentials/"+recs[0].ID+"/revoke", e.keys["benefits/all"], map[string]any{"reason": "x"}, "")
			assert.Equal(t, http.StatusNotFound, code)
			assert.Equal(t, "credential_not_found", errCode(b))
			code, b, _ = e.do("GET", "/issuer/v1/credentials?subject_ref=c2", e.keys["benefits/all"], nil, "")
			require.Equal(t, http.StatusOK, code)
			assert.JSONEq(t, `{"credentials":[]}`, string(b))
		})
		t.Run("D49 client-supplied status, idx and iss are ignored", func(t *testing.T) {
			w := e.redeemed("c3")
			h, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			p := w.proof(h, w.nonce(), func(_, c map[string]any) { c["iss"] = "did:example:evil"; c["status"] = "x" })
			code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
				"proofs": map[string]any{"jwt": []string{p}}, "iss": "did:example:evil", "idx": 0,
				"status": map[string]any{"status_list": map[string]any{"idx": 0, "uri": "https://evil.example/list"}}})
			require.Equal(t, http.StatusOK, code, string(b))
			var out struct{ Credentials []struct{ Credential string } }
			require.NoError(t, json.Unmarshal(b, &out))
			r := e.coreVerify(out.Credentials[0].Credential, sdjwt.ProfileSDJWTVC)
			assert.Equal(t, e.dids["health"], r.Claims["iss"])
			assert.True(t, strings.HasPrefix(r.Status.URI, e.srv.URL+"/status/"))
			recs, err := st.ListCredentials(context.Background(), "health", "c3", 0)
			require.NoError(t, err)
			require.Len(t, recs, 1)
			assert.Equal(t, uint64(recs[0].Index), r.Status.Index, "the server chose the index")
		})
	})
}
