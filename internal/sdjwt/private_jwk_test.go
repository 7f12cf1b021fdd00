package sdjwt

import (
	"crypto"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys/keystest"
)

// TestCnfJWKRefusesPrivateMembers: a cnf.jwk with any private member is
// private_jwk, both when an issuer is asked to sign it and when a verifier
// reads it from a credential whose signature is valid; a look-alike member
// is ignored.
func TestCnfJWKRefusesPrivateMembers(t *testing.T) {
	e := newEnv(t)
	v := e.verifier()
	j := e.holder.JWK()
	cnf := `{"kty":"EC","crv":"P-256","x":"` + j.X + `","y":"` + j.Y + `"}`
	payload := func(jwk string) string {
		return `{"iss":"` + testIssuer + `","vct":"urn:x","iat":1799999000,"exp":1900000000,"cnf":{"jwk":` + jwk + `}}`
	}
	for _, pm := range keystest.PrivateMembers {
		t.Run(pm.Name, func(t *testing.T) {
			for _, last := range []bool{true, false} {
				jwk := keystest.With(cnf, pm.JSON, last)
				out, err := (&Issuer{Signer: e.issuer}).Issue(Request{Claims: []byte(payload(jwk))})
				assertCode(t, "private_jwk", err, "issuing %s", jwk)
				assert.Nil(t, out)

				res, err := v.Verify(e.signJWT(t, payload(jwk), nil)+"~", Options{})
				assertCode(t, "private_jwk", err, "verifying %s", jwk)
				assert.Nil(t, res)
			}
		})
	}
	for _, pm := range keystest.NotPrivateMembers {
		t.Run(pm.Name, func(t *testing.T) {
			res, err := v.Verify(e.signJWT(t, payload(keystest.With(cnf, pm.JSON, true)), nil)+"~", Options{})
			require.NoError(t, err)
			require.NotNil(t, res.HolderKey)
			assert.True(t, e.holder.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(res.HolderKey.Key))
		})
	}
}
