package jose

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys/keystest"
)

// TestHeaderJWKRefusesPrivateMembers: a proof-of-possession header jwk
// (the OpenID4VCI key proof, DPoP) with any private member is
// private_jwk, even when the proof's signature verifies with the public
// part; a look-alike member is ignored.
func TestHeaderJWKRefusesPrivateMembers(t *testing.T) {
	s := newES256(t)
	j, err := PublicJWK(s.Public())
	require.NoError(t, err)
	jwkJSON := `{"kty":"EC","crv":"P-256","x":"` + j.X + `","y":"` + j.Y + `"}`
	for _, typ := range []string{"openid4vci-proof+jwt", "dpop+jwt"} {
		opts := VerifyOptions{Typ: []string{typ}, HeaderJWKIsHolderKey: true}
		header := func(jwk string) string { return `{"alg":"ES256","typ":"` + typ + `","jwk":` + jwk + `}` }
		for _, pm := range keystest.PrivateMembers {
			t.Run(typ+"/"+pm.Name, func(t *testing.T) {
				for _, last := range []bool{true, false} {
					_, err := Verify(forge(t, s, header(keystest.With(jwkJSON, pm.JSON, last)), `{}`), opts)
					assert.Equal(t, "private_jwk", errs.CodeOf(err))
				}
			})
		}
		for _, pm := range keystest.NotPrivateMembers {
			t.Run(typ+"/"+pm.Name, func(t *testing.T) {
				got, err := Verify(forge(t, s, header(keystest.With(jwkJSON, pm.JSON, true)), `{}`), opts)
				require.NoError(t, err)
				assert.Equal(t, j, got.HeaderJWK)
			})
		}
	}
}
