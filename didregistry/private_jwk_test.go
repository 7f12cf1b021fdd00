package didregistry

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys/keystest"
)

// TestKeyInputRefusesPrivateJWK holds the registry's key input (a create
// operation's verificationMethod, an update's addVerificationMethod) and
// its did:jwk resolver to keys.JWKFromMap's rule, over HTTP: a JWK with any
// private member is 400 and nothing is stored.
func TestKeyInputRefusesPrivateJWK(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	ctl := newSigner(t)
	didStr := e.createDID(ctl)

	vm, err := VMFor("sign-1", newSigner(t), PurposeAssertionMethod)
	require.NoError(t, err)
	withMember := func(member string, last bool) VMInput {
		in := vm
		in.PublicKeyJwk = []byte(keystest.With(string(vm.PublicKeyJwk), member, last))
		return in
	}
	for _, pm := range keystest.PrivateMembers {
		t.Run(pm.Name, func(t *testing.T) {
			for _, last := range []bool{true, false} {
				tok, newDID, err := SignCreate(newSigner(t), "ctl-1", []VMInput{withMember(pm.JSON, last)}, nil)
				require.NoError(t, err)
				code, body, _ := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
				assert.Equal(t, http.StatusBadRequest, code, string(body))
				assert.Equal(t, "invalid_operation", problemCode(body))
				code, _, _ = e.resolve(newDID, "")
				assert.Equal(t, http.StatusNotFound, code, "a refused create stores nothing")

				op := Operation{Op: "update", DID: didStr, Version: 2, AddVerificationMethod: []VMInput{withMember(pm.JSON, last)}}
				opTok, err := SignOp(ctl, "ctl-1", op)
				require.NoError(t, err)
				code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "health", map[string]string{"operation": opTok})
				assert.Equal(t, http.StatusBadRequest, code, string(body))
				assert.Equal(t, "invalid_operation", problemCode(body))

				jwkDID := "did:jwk:" + base64.RawURLEncoding.EncodeToString([]byte(keystest.With(string(vm.PublicKeyJwk), pm.JSON, last)))
				code, body, _ = e.do(http.MethodGet, "/1.0/identifiers/"+jwkDID, "", nil)
				assert.Equal(t, http.StatusBadRequest, code, string(body))
				assert.Equal(t, "invalid_did", problemCode(body))
			}
		})
	}
	code, r, _ := e.resolve(didStr, "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "1", r.Metadata.VersionID, "no refused update changed the DID")

	// A look-alike member is ignored, and the stored key is only the key.
	tok, newDID, err := SignCreate(newSigner(t), "ctl-1", []VMInput{withMember(keystest.NotPrivateMembers[0].JSON, true)}, nil)
	require.NoError(t, err)
	code, body, _ := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
	require.Equal(t, http.StatusCreated, code, string(body))
	code, _, body = e.resolve(newDID, "")
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, string(body), `"D"`)
}
