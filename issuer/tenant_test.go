package issuer

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// TestAnotherTenantsEndpointSpendsNothing: a pre-authorized code sent to
// another tenant's token endpoint is invalid_grant there, and spends
// neither the code's attempts nor its per-code rate budget at its own
// tenant (here one request a minute), so its holder is not locked out.
func TestAnotherTenantsEndpointSpendsNothing(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{config: func(c *Config) { c.RatePerCode = 1 }})
		v := e.createOffer("health", "vaccination-pass", "c1", vaccSubject)
		w := e.fetchOffer(v)
		form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {w.code}, "tx_code": {w.txCode}}.Encode()
		code, b, _ := e.do("POST", "/issuers/benefits/token", "", form, "application/x-www-form-urlencoded")
		require.Equal(t, http.StatusBadRequest, code, string(b))
		assert.Equal(t, "invalid_grant", errCode(b))
		o, err := st.GetOffer(context.Background(), v.ID)
		require.NoError(t, err)
		assert.Zero(t, o.Attempts)
		code, b = w.tokenWith(w.txCode)
		assert.Equal(t, http.StatusOK, code, "the holder's own request is within its budget: %s", b)
	})
}
