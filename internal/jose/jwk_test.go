package jose

import (
	"crypto"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
)

const crypto256 = crypto.SHA256

// RFC 9901 Appendix A.5 issuer key.
const rfcIssuerJWK = `{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}`

// holderKeyJSON reads a holder key from JSON as a header or cnf.jwk is
// read: decoded as claims, then HolderKey.
func holderKeyJSON(data string) (keys.JWK, PublicKey, error) {
	c, err := ParseClaims([]byte(data))
	if err != nil {
		return keys.JWK{}, PublicKey{}, err
	}
	return HolderKey(c)
}

func TestJWKRoundTrip(t *testing.T) {
	for _, s := range []testSigner{newES256(t), newEdDSA(t)} {
		t.Run(s.alg, func(t *testing.T) {
			j, err := PublicJWK(s.Public())
			require.NoError(t, err)
			pub, err := j.PublicKey()
			require.NoError(t, err)
			assert.True(t, pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(s.Public()))
			back, hk, err := HolderKey(j.Map())
			require.NoError(t, err)
			assert.Equal(t, j, back)
			assert.Equal(t, s.alg, hk.Alg)
		})
	}
	j, pub, err := holderKeyJSON(rfcIssuerJWK)
	require.NoError(t, err)
	require.NotNil(t, pub.Key)
	assert.Equal(t, keys.ES256, pub.Alg)
	back, err := PublicJWK(pub.Key)
	require.NoError(t, err)
	assert.Equal(t, j, back)
}

func TestHolderKeyRejects(t *testing.T) {
	cases := []struct{ name, jwk, code string }{
		{"private_d", `{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8","d":"AA"}`, "private_jwk"},
		{"symmetric_k", `{"kty":"oct","k":"c2VjcmV0"}`, "private_jwk"},
		{"okp_private_d", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`, "private_jwk"},
		{"off_curve", `{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk9"}`, "invalid_jwk"},
		{"p384", `{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}`, "invalid_jwk"},
		{"rsa", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`, "invalid_jwk"},
		{"short_x", `{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`, "invalid_jwk"},
		{"x_not_string", `{"kty":"OKP","crv":"Ed25519","x":5}`, "invalid_jwk"},
		{"no_kty", `{"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "invalid_jwk"},
		{"duplicate_member", `{"kty":"OKP","kty":"EC"}`, "malformed_json"},
		{"not_object", `[1]`, "malformed_json"},
		{"ed25519_small_order_identity", `{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, "invalid_jwk"},
		{"okp_with_y", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","y":"AA"}`, "invalid_jwk"},
		{"padded_base64", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="}`, "invalid_jwk"},
		{"alg_of_other_key_type", `{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "invalid_jwk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := holderKeyJSON(tc.jwk)
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

// TestHolderKeyKeepsOnlyTheKey: optional members do not travel into the
// holder key (cnf.jwk, the DPoP jkt are about the key alone).
func TestHolderKeyKeepsOnlyTheKey(t *testing.T) {
	j, _, err := holderKeyJSON(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"EdDSA","kid":"k1","use":"sig","D":"an unknown member"}`)
	require.NoError(t, err)
	assert.Equal(t, keys.JWK{Kty: "OKP", Crv: "Ed25519", X: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}, j)
}

// TestThumbprintRFC8037 checks the Ed25519 thumbprint vector of RFC 8037 A.3.
func TestThumbprintRFC8037(t *testing.T) {
	j, _, err := holderKeyJSON(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`)
	require.NoError(t, err)
	tp, err := j.Thumbprint()
	require.NoError(t, err)
	assert.Equal(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", tp)
}
