package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys/keystest"
)

// RFC 8037 Appendix A.1 Ed25519 key and A.3 thumbprint.
const (
	rfc8037D     = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X     = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumb = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

func rfc8037Signer(t *testing.T) Signer {
	t.Helper()
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037D)
	require.NoError(t, err)
	s, err := FromPrivateKey(ed25519.NewKeyFromSeed(seed))
	require.NoError(t, err)
	return s
}

func TestThumbprintVectors(t *testing.T) {
	tests := []struct {
		name string
		jwk  JWK
		want string
	}{
		{
			// RFC 7638 §3.1: the RSA example key.
			name: "rfc7638 rsa",
			jwk: JWK{Kty: "RSA", E: "AQAB", Alg: "RS256", Kid: "2011-04-29",
				N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
			want: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
		},
		{
			// RFC 8037 §A.3: the Ed25519 example key.
			name: "rfc8037 ed25519",
			jwk:  JWK{Kty: "OKP", Crv: "Ed25519", X: rfc8037X},
			want: rfc8037Thumb,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.jwk.Thumbprint()
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSoftwareSignerRFC8037(t *testing.T) {
	s := rfc8037Signer(t)
	assert.Equal(t, EdDSA, s.Algorithm())
	assert.Equal(t, rfc8037Thumb, s.KeyID())
	j, err := JWKFromPublic(s.Public())
	require.NoError(t, err)
	assert.Equal(t, JWK{Kty: "OKP", Crv: "Ed25519", X: rfc8037X}, j)

	// RFC 8037 §A.4: EdDSA is deterministic, so the signature is the spec's.
	sig, err := s.Sign(nil, []byte("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"), crypto.Hash(0))
	require.NoError(t, err)
	assert.Equal(t, "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
		base64.RawURLEncoding.EncodeToString(sig))
}

func TestGenerateSignsAndVerifies(t *testing.T) {
	msg := []byte("header.payload")
	digest := sha256.Sum256(msg)
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			s, err := Generate(alg)
			require.NoError(t, err)
			assert.Equal(t, alg, s.Algorithm())
			want, err := Thumbprint(s.Public())
			require.NoError(t, err)
			assert.Equal(t, want, s.KeyID())
			assert.Len(t, s.KeyID(), 43)

			got, err := AlgorithmFor(s.Public())
			require.NoError(t, err)
			assert.Equal(t, alg, got)

			switch pub := s.Public().(type) {
			case *ecdsa.PublicKey:
				sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
				require.NoError(t, err)
				assert.True(t, ecdsa.VerifyASN1(pub, digest[:], sig))
				// A wrong hash or a message instead of a digest is refused.
				_, err = s.Sign(rand.Reader, msg, crypto.SHA256)
				assert.Equal(t, "bad_sign_request", errs.CodeOf(err))
				_, err = s.Sign(rand.Reader, digest[:], crypto.SHA384)
				assert.Equal(t, "bad_sign_request", errs.CodeOf(err))
			case ed25519.PublicKey:
				sig, err := s.Sign(nil, msg, crypto.Hash(0))
				require.NoError(t, err)
				assert.True(t, ed25519.Verify(pub, msg, sig))
				_, err = s.Sign(nil, digest[:], crypto.SHA256)
				assert.Equal(t, "bad_sign_request", errs.CodeOf(err))
			default:
				t.Fatalf("unexpected public key type %T", pub)
			}
			_, err = s.Sign(nil, digest[:], nil)
			assert.Equal(t, "bad_sign_request", errs.CodeOf(err))
		})
	}
	_, err := Generate("HS256")
	assert.Equal(t, "unsupported_alg", errs.CodeOf(err))
	_, err = Generate("none")
	assert.Equal(t, "unsupported_alg", errs.CodeOf(err))
}

func TestFromPrivateKeyRefusesOtherCurves(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, err = FromPrivateKey(k)
	assert.Equal(t, "unsupported_alg", errs.CodeOf(err))
	_, err = FromPrivateKey("not a key")
	assert.Equal(t, "unsupported_alg", errs.CodeOf(err))
	_, err = FromPrivateKey(ed25519.PrivateKey(make([]byte, 12)))
	assert.Equal(t, "invalid_key", errs.CodeOf(err))
}

func TestJWKRoundTripAndValidation(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for name, pub := range map[string]crypto.PublicKey{"p256": &p256.PublicKey, "p384": &p384.PublicKey, "ed25519": edPub} {
		t.Run(name, func(t *testing.T) {
			j, err := JWKFromPublic(pub)
			require.NoError(t, err)
			got, err := j.PublicKey()
			require.NoError(t, err)
			assert.True(t, got.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub))
		})
	}

	good, err := JWKFromPublic(&p256.PublicKey)
	require.NoError(t, err)
	offCurve := good
	yb, _ := base64.RawURLEncoding.DecodeString(good.Y)
	yb[31] ^= 1
	offCurve.Y = base64.RawURLEncoding.EncodeToString(yb)
	padded := good
	padded.X += "="
	short := good
	short.X = good.X[:40]
	tests := []struct {
		name string
		jwk  JWK
		code string
	}{
		{"off-curve P-256 point", offCurve, "invalid_key"},
		{"padded base64", padded, "invalid_key"},
		{"short coordinate", short, "invalid_key"},
		{"secp256k1", func() JWK { j := good; j.Crv = "secp256k1"; return j }(), "unsupported_alg"},
		{"oct key", JWK{Kty: "oct"}, "unsupported_alg"},
		{"X25519", JWK{Kty: "OKP", Crv: "X25519", X: rfc8037X}, "unsupported_alg"},
		{"ed25519 identity point", JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(append([]byte{1}, make([]byte, 31)...))}, "invalid_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.jwk.PublicKey()
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

func TestParseJWK(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code string
	}{
		{"public ed25519 with extra members", `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","use":"sig","key_ops":["verify"]}`, ""},
		{"private part", `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","d":"` + rfc8037D + `"}`, "private_jwk"},
		{"duplicate member", `{"kty":"OKP","kty":"EC"}`, "malformed_json"},
		{"case-variant kty is not kty", `{"KTY":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`, "invalid_key"},
		{"x not a string", `{"kty":"OKP","crv":"Ed25519","x":["` + rfc8037X + `"]}`, "invalid_key"},
		{"not an object", `[1,2]`, "invalid_type"},
		{"null", `null`, "invalid_key"},
		{"truncated", `{"kty":`, "malformed_json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := ParseJWK([]byte(tc.in))
			if tc.code == "" {
				require.NoError(t, err)
				tp, err := j.Thumbprint()
				require.NoError(t, err)
				assert.Equal(t, rfc8037Thumb, tp)
				return
			}
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

// TestJWKRefusesPrivateMembers holds the one rule for every JWK ssi reads:
// any private member, whatever its value, is private_jwk, through
// ParseJWK, JWKFromMap and a JWK decoded inside a larger document (by
// value and by pointer), wherever the member stands in the object.
func TestJWKRefusesPrivateMembers(t *testing.T) {
	pub := `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`
	for _, pm := range keystest.PrivateMembers {
		t.Run(pm.Name, func(t *testing.T) {
			for _, in := range []string{keystest.With(pub, pm.JSON, true), keystest.With(pub, pm.JSON, false)} {
				_, err := ParseJWK([]byte(in))
				assert.Equal(t, "private_jwk", errs.CodeOf(err), in)

				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(in), &m))
				_, err = JWKFromMap(m)
				assert.Equal(t, "private_jwk", errs.CodeOf(err), in)

				var doc struct {
					Key    JWK  `json:"key"`
					KeyPtr *JWK `json:"key_ptr"`
				}
				err = jsonx.Unmarshal([]byte(`{"key":`+in+`}`), &doc, false)
				assert.ErrorIs(t, err, ErrPrivateJWK, in)
				err = jsonx.Unmarshal([]byte(`{"key_ptr":`+in+`}`), &doc, false)
				assert.ErrorIs(t, err, ErrPrivateJWK, in)
			}
		})
	}
	// A symmetric key alone, with no public part at all.
	_, err := ParseJWK([]byte(`{"kty":"oct","k":"c2VjcmV0"}`))
	assert.Equal(t, "private_jwk", errs.CodeOf(err))

	for _, pm := range keystest.NotPrivateMembers {
		t.Run(pm.Name, func(t *testing.T) {
			j, err := ParseJWK([]byte(keystest.With(pub, pm.JSON, true)))
			require.NoError(t, err)
			assert.Equal(t, JWK{Kty: "OKP", Crv: "Ed25519", X: rfc8037X}, j)
		})
	}
}

// TestJWKDecodesInDocuments: a JWK field of a larger document decodes
// through ParseJWK (member checks included) and marshals back to the same
// members in the same order.
func TestJWKDecodesInDocuments(t *testing.T) {
	var doc struct {
		Key    JWK  `json:"key"`
		KeyPtr *JWK `json:"key_ptr"`
	}
	in := `{"key":{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","use":"sig","key_ops":["verify"]},"key_ptr":null}`
	require.NoError(t, jsonx.Unmarshal([]byte(in), &doc, false))
	assert.Equal(t, JWK{Kty: "OKP", Crv: "Ed25519", X: rfc8037X, Use: "sig"}, doc.Key)
	assert.Nil(t, doc.KeyPtr)
	out, err := json.Marshal(doc.Key)
	require.NoError(t, err)
	assert.Equal(t, `{"kty":"OKP","crv":"Ed25519","x":"`+rfc8037X+`","use":"sig"}`, string(out))

	for name, in := range map[string]string{
		"kty not a string": `{"key":{"kty":1,"crv":"Ed25519","x":"` + rfc8037X + `"}}`,
		"no kty":           `{"key":{"crv":"Ed25519","x":"` + rfc8037X + `"}}`,
		"kid not a string": `{"key":{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","kid":7}}`,
		"null":             `{"key":null}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := jsonx.Unmarshal([]byte(in), &doc, false)
			assert.Equal(t, "invalid_type", errs.CodeOf(err))
			assert.ErrorIs(t, err, ErrInvalidKey)
		})
	}
	err = jsonx.Unmarshal([]byte(`{"key":"OKP"}`), &doc, false)
	assert.Equal(t, "invalid_type", errs.CodeOf(err), "a JWK that is not an object")
}

func TestParseECPublicKey(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	u, err := k.PublicKey.Bytes()
	require.NoError(t, err)
	c := elliptic.MarshalCompressed(elliptic.P256(), k.X, k.Y)
	got, err := ParseECPublicKey(elliptic.P256(), c)
	require.NoError(t, err)
	assert.True(t, got.Equal(&k.PublicKey))
	got, err = ParseECPublicKey(elliptic.P256(), u)
	require.NoError(t, err)
	assert.True(t, got.Equal(&k.PublicKey))

	// x = 1 has no y on P-256 (1 - 3 + b is a quadratic non-residue mod p), so the
	// compressed point is off the curve.
	noY := make([]byte, 33)
	noY[0], noY[32] = 2, 1
	bad := map[string][]byte{
		"empty":             nil,
		"prefix 0x05":       append([]byte{5}, c[1:]...),
		"truncated":         c[:32],
		"off-curve x":       noY,
		"uncompressed flip": append(append([]byte{}, u[:64]...), u[64]^1),
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseECPublicKey(elliptic.P256(), in)
			assert.Equal(t, "invalid_key", errs.CodeOf(err))
		})
	}
}

// Small-order Ed25519 encodings, from libsodium's ge25519_has_small_order
// blocklist (the 8-torsion points and their non-canonical twins).
var smallOrder = []string{
	"0000000000000000000000000000000000000000000000000000000000000000", // (0,0)... y=0: order 4
	"0100000000000000000000000000000000000000000000000000000000000000", // identity, order 1
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p-1, order 2
	"0000000000000000000000000000000000000000000000000000000000000080", // y=0 with sign bit, order 4
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8, other sign
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8, other sign
}

func TestEd25519SmallOrderRejected(t *testing.T) {
	for _, h := range smallOrder {
		t.Run(h[:8], func(t *testing.T) {
			b, err := hex.DecodeString(h)
			require.NoError(t, err)
			_, _, onCurve := edDecode(b)
			require.True(t, onCurve, "the vector must be a curve point, so the refusal is about its order")
			_, err = ParseEd25519PublicKey(b)
			assert.Equal(t, "invalid_key", errs.CodeOf(err))
		})
	}
}

func TestEd25519NonCanonicalAndValid(t *testing.T) {
	// y = p+1 (non-canonical 1) and y = p (non-canonical 0).
	for _, h := range []string{
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		b, err := hex.DecodeString(h)
		require.NoError(t, err)
		_, err = ParseEd25519PublicKey(b)
		assert.Equal(t, "invalid_key", errs.CodeOf(err), h)
	}
	_, err := ParseEd25519PublicKey(make([]byte, 31))
	assert.Equal(t, "invalid_key", errs.CodeOf(err))

	x, err := base64.RawURLEncoding.DecodeString(rfc8037X)
	require.NoError(t, err)
	pub, err := ParseEd25519PublicKey(x)
	require.NoError(t, err)
	assert.Equal(t, ed25519.PublicKey(x), pub)
	for range 20 {
		p, _, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		_, err = ParseEd25519PublicKey(p)
		assert.NoError(t, err)
	}
}
