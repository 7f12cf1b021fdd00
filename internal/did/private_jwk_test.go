package did

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/keys/keystest"
)

const edJWK = `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`

// TestPrivateJWKRefusedByEveryDIDPath holds did:jwk, a DID document's
// publicKeyJwk (parsed alone and fetched over did:web) to keys.JWKFromMap's
// rule: a JWK with any private member is refused, wherever it stands.
func TestPrivateJWKRefusedByEveryDIDPath(t *testing.T) {
	f := newWebFixture(t)
	web := webDID(f.srv)
	var served string
	f.mux.HandleFunc("/.well-known/did.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", MediaTypeDIDJSON)
		fmt.Fprint(w, served)
	})
	router := NewRouter().Handle("jwk", JWKResolver{}).Handle("web", f.resolver(t, true))
	doc := func(did, jwk string) string {
		return `{"id":"` + did + `","verificationMethod":[{"id":"#k1","type":"JsonWebKey2020","controller":"` + did +
			`","publicKeyJwk":` + jwk + `}],"assertionMethod":["#k1"]}`
	}

	for _, pm := range keystest.PrivateMembers {
		t.Run(pm.Name, func(t *testing.T) {
			for _, last := range []bool{true, false} {
				jwk := keystest.With(edJWK, pm.JSON, last)

				res, err := router.Resolve(context.Background(), "did:jwk:"+base64.RawURLEncoding.EncodeToString([]byte(jwk)), ResolveOptions{})
				assert.Equal(t, "invalid_did", errs.CodeOf(err), "did:jwk %s", jwk)
				assert.True(t, errors.Is(err, keys.ErrPrivateJWK), "did:jwk %s: the cause is private_jwk: %v", jwk, err)
				require.NotNil(t, res)
				assert.Nil(t, res.Document)

				_, err = ParseDocument([]byte(doc("did:x:1", jwk)))
				assert.Equal(t, "invalid_did_document", errs.CodeOf(err), "document %s", jwk)

				served = doc(web, jwk)
				res, err = router.Resolve(context.Background(), web, ResolveOptions{})
				assert.Equal(t, "invalid_did_document", errs.CodeOf(err), "did:web %s", jwk)
				if res != nil {
					assert.Nil(t, res.Document)
				}
			}
		})
	}

	// Look-alikes are not private members: the key resolves.
	for _, pm := range keystest.NotPrivateMembers {
		t.Run(pm.Name, func(t *testing.T) {
			jwk := keystest.With(edJWK, pm.JSON, true)
			d := "did:jwk:" + base64.RawURLEncoding.EncodeToString([]byte(jwk))
			_, alg, err := ResolveKey(context.Background(), router, d+"#0", AssertionMethod)
			require.NoError(t, err)
			assert.Equal(t, keys.EdDSA, alg)

			served = doc(web, jwk)
			_, alg, err = ResolveKey(context.Background(), router, web+"#k1", AssertionMethod)
			require.NoError(t, err)
			assert.Equal(t, keys.EdDSA, alg)
		})
	}
}
