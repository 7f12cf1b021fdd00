package issuer

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/keys/keystest"
	"github.com/ssi-project/ssi/internal/store"
)

// withJWKMember returns a mutate function that adds member (raw JSON, as
// keystest lists it) to the header's jwk.
func withJWKMember(t *testing.T, member string) func(h, c map[string]any) {
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte("{"+member+"}"), &m))
	return func(h, _ map[string]any) {
		for k, v := range m {
			h["jwk"].(map[string]any)[k] = v
		}
	}
}

// TestHeaderJWKPrivateMembers holds the two header jwks the issuer reads,
// the OpenID4VCI key proof's and the DPoP proof's, to keys.JWKFromMap's
// rule over HTTP: any private member, whatever its value, is refused with
// the endpoint's code, and nothing is issued, spent or stored.
func TestHeaderJWKPrivateMembers(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{config: func(c *Config) { c.RatePerClient = 1000 }})
		holder, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		for _, pm := range keystest.PrivateMembers {
			t.Run(pm.Name, func(t *testing.T) {
				e := e.in(t)
				mutate := withJWKMember(t, pm.JSON)

				// The key proof at the credential endpoint: 400 invalid_proof.
				w := e.redeemed("citizen-" + randomID())
				n := w.nonce()
				code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
					"proofs": map[string]any{"jwt": []string{w.proof(holder, n, mutate)}}})
				assert.Equal(t, http.StatusBadRequest, code, string(b))
				assert.Equal(t, "invalid_proof", errCode(b))
				e.assertNothingIssued(t, w, n)

				// DPoP at the token endpoint: 400 invalid_dpop_proof, the
				// offer untouched, no jti stored.
				key, err := keys.Generate(keys.ES256)
				require.NoError(t, err)
				w = e.fetchOffer(e.createOffer("health", "vaccination-pass", "citizen-"+randomID(), vaccSubject))
				before := e.jtiRows(t)
				code, b, _ = w.tokenDPoP(e.dpopProof(key, w.issuer+"/token", "", mutate))
				assert.Equal(t, http.StatusBadRequest, code, string(b))
				assert.Equal(t, "invalid_dpop_proof", errCode(b))
				assert.Equal(t, before, e.jtiRows(t), "no jti stored for a refused proof")
				e.offerUntouched(t, w)

				// DPoP at the credential endpoint: 401 invalid_dpop_proof.
				w, key = e.dpopRedeemed("citizen-" + randomID())
				body, n := w.credBody()
				code, b, _ = w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, mutate))
				assert.Equal(t, http.StatusUnauthorized, code, string(b))
				assert.Equal(t, "invalid_dpop_proof", errCode(b))
				e.assertNothingIssued(t, w, n)
			})
		}
		for _, pm := range keystest.NotPrivateMembers {
			t.Run(pm.Name, func(t *testing.T) {
				e := e.in(t)
				w, key := e.dpopRedeemed("citizen-" + randomID())
				n := w.nonce()
				body := map[string]any{"credential_configuration_id": "vaccination-pass",
					"proofs": map[string]any{"jwt": []string{w.proof(holder, n, withJWKMember(t, pm.JSON))}}}
				code, b, _ := w.credentialWith("DPoP", body, e.dpopProof(key, w.issuer+"/credential", w.token, withJWKMember(t, pm.JSON)))
				assert.Equal(t, http.StatusOK, code, "a look-alike member is ignored: %s", b)
			})
		}
	})
}
