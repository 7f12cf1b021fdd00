package sdjwt

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
)

// TestIssuerKeyClaims: the lookup that gets the claims sees the unverified
// payload (iat, vct) before the signature, replaces IssuerKey, and its
// refusal keeps its code; a wrong typ is refused before it is called.
func TestIssuerKeyClaims(t *testing.T) {
	e := newEnv(t)
	issued := e.issue(t, e.vcClaims(t), vcDisclose)
	v := e.verifier()
	v.IssuerKey = nil
	var gotIss string
	var gotIat bool
	v.IssuerKeyClaims = func(iss string, c jose.Claims, _ *jose.Header) (jose.PublicKey, error) {
		gotIss = iss
		_, gotIat, _ = c.NumericDate("iat")
		return e.issuer.PublicKey(), nil
	}
	_, err := v.Verify(issued, Options{FromIssuer: true})
	require.NoError(t, err)
	assert.NotEmpty(t, gotIss)
	assert.True(t, gotIat)

	refused := errs.E(errs.Unauthorized, "test_lookup_refused", "refused by the lookup")
	v.IssuerKeyClaims = func(string, jose.Claims, *jose.Header) (jose.PublicKey, error) { return jose.PublicKey{}, refused }
	_, err = v.Verify(issued, Options{FromIssuer: true})
	assert.True(t, errors.Is(err, refused))

	called := false
	v.IssuerKeyClaims = func(string, jose.Claims, *jose.Header) (jose.PublicKey, error) {
		called = true
		return e.issuer.PublicKey(), nil
	}
	v.Typ = []string{"other+jwt"}
	_, err = v.Verify(issued, Options{FromIssuer: true})
	assert.Equal(t, "wrong_typ", errs.CodeOf(err))
	assert.False(t, called, "the lookup runs after the header checks")
}
