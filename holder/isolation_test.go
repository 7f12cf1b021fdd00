package holder

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
)

// TestOtherAccountsResourcesAnswer404 is acceptance 3's isolation: on
// every wallet route that names a resource, another account's credential,
// receipt or presentation answers 404, never 403, and is left as it was.
// The routes are read from the router, so a new one is covered too.
func TestOtherAccountsResourcesAnswer404(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		ada := e.signUp("ada", "correct horse battery")
		bob := e.signUp("bob", "correct horse battery")
		ctx := context.Background()
		a, err := e.svc.Authenticate(ctx, ada)
		require.NoError(t, err)

		// Ada's credential, a receipt and a consent, made as the service
		// makes them.
		sg, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		k, err := e.svc.cloudKey(a, sg)
		require.NoError(t, err)
		sealed, err := keys.SealData(a.dataKey, []byte(`{"sd_jwt":"x","claims":{"given_name":"Ada"}}`), copyContext(a.ID, "cred-1", 0))
		require.NoError(t, err)
		require.NoError(t, st.PutHolderCredential(ctx, store.HolderCredential{AccountID: a.ID, ID: "cred-1", Issuer: "https://issuer.example",
			ConfigID: "c", VCT: "v", Display: "{}", KeyMode: KeyCloud, Status: "valid", Keys: []store.HolderKey{k},
			Copies: []store.HolderCopy{{N: 0, KeyID: k.ID, Sealed: sealed}}}))
		exp := e.clock.Now().Add(time.Minute)
		require.NoError(t, e.svc.putFlow(ctx, a, "flow-r", "receive", "prepared", exp, receiveState{}))
		require.NoError(t, e.svc.putFlow(ctx, a, "flow-p", "present", "pending", exp, presentState{}))
		require.NoError(t, e.svc.putFlow(ctx, a, "flow-o", "offline", "prepared", exp, offlineState{}))
		ids := map[string]string{"/credentials/": "cred-1", "/offers/": "flow-r", "/presentations/": "flow-p", "/offline-qr/": "flow-o"}

		r := chi.NewRouter()
		Routes(r, e.svc)
		var walked int
		require.NoError(t, chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if !strings.Contains(route, "{id}") {
				return nil
			}
			walked++
			path := route
			for prefix, id := range ids {
				if strings.Contains(route, prefix+"{id}") {
					path = strings.Replace(route, "{id}", id, 1)
				}
			}
			require.NotContains(t, path, "{id}", "a resource route the test does not know: %s", route)
			t.Run(method+" "+route, func(t *testing.T) {
				res := e.do(method, path, bob, map[string]any{})
				assert.Equal(t, http.StatusNotFound, res.code, string(res.body))
				assert.Equal(t, "wallet_not_found", res.errCode())
			})
			return nil
		}))
		assert.GreaterOrEqual(t, walked, 8, "the walk found the resource routes")

		// Ada's resources are untouched.
		c, err := e.svc.Credential(ctx, a, "cred-1")
		require.NoError(t, err)
		assert.Equal(t, 1, c.Unused)
		tx, err := st.GetHolderTransaction(ctx, a.ID, "present", "flow-p")
		require.NoError(t, err)
		assert.Equal(t, "pending", tx.Status)
	})
}
