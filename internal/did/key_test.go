package did

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"os"
	"testing"

	"github.com/mr-tron/base58"
	"github.com/multiformats/go-multibase"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
)

type keyVectors struct {
	Source  string `json:"source"`
	Ed25519 []struct {
		DID             string `json:"did"`
		Seed            string `json:"seed"`
		PublicKeyBase58 string `json:"publicKeyBase58"`
	} `json:"ed25519"`
	NIST []struct {
		DID          string   `json:"did"`
		PublicKeyJwk keys.JWK `json:"publicKeyJwk"`
	} `json:"nist"`
	Unsupported []struct {
		DID  string `json:"did"`
		Note string `json:"note"`
	} `json:"unsupported"`
}

func loadKeyVectors(t *testing.T) keyVectors {
	t.Helper()
	data, err := os.ReadFile("testdata/didkey-vectors.json")
	require.NoError(t, err)
	var v keyVectors
	require.NoError(t, jsonx.Unmarshal(data, &v, true))
	require.NotEmpty(t, v.Ed25519)
	require.NotEmpty(t, v.NIST)
	return v
}

func TestDIDKeyVectorsEd25519(t *testing.T) {
	for _, v := range loadKeyVectors(t).Ed25519 {
		t.Run(v.DID, func(t *testing.T) {
			seed, err := hex.DecodeString(v.Seed)
			require.NoError(t, err)
			pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
			want, err := base58.Decode(v.PublicKeyBase58)
			require.NoError(t, err)
			require.Equal(t, want, []byte(pub))

			got, err := KeyDID(pub)
			require.NoError(t, err)
			assert.Equal(t, v.DID, got)

			res, err := KeyResolver{}.Resolve(context.Background(), v.DID, ResolveOptions{})
			require.NoError(t, err)
			k, alg, err := res.Document.PublicKey(v.DID+"#"+v.DID[len("did:key:"):], AssertionMethod)
			require.NoError(t, err)
			assert.Equal(t, keys.EdDSA, alg)
			assert.Equal(t, pub, k)
		})
	}
	// The acceptance vector, named explicitly.
	got, err := KeyDID(ed25519.NewKeyFromSeed(make([]byte, 32)).Public())
	require.NoError(t, err)
	assert.Equal(t, "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", got)
}

func TestDIDKeyVectorsNIST(t *testing.T) {
	v := loadKeyVectors(t)
	require.Equal(t, "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv", v.NIST[0].DID)
	for _, n := range v.NIST {
		t.Run(n.DID, func(t *testing.T) {
			pub, err := n.PublicKeyJwk.PublicKey()
			require.NoError(t, err)
			got, err := KeyDID(pub)
			require.NoError(t, err)
			assert.Equal(t, n.DID, got)

			res, err := KeyResolver{}.Resolve(context.Background(), n.DID, ResolveOptions{})
			require.NoError(t, err)
			vm := res.Document.VerificationMethod[0]
			require.NotNil(t, vm.PublicKeyJwk)
			assert.Equal(t, n.PublicKeyJwk, *vm.PublicKeyJwk)
			k, alg, err := res.Document.PublicKey("#"+n.DID[len("did:key:"):], AssertionMethod)
			require.NoError(t, err)
			assert.True(t, k.(*ecdsa.PublicKey).Equal(pub))
			want := map[string]string{"P-256": keys.ES256, "P-384": keys.ES384}[n.PublicKeyJwk.Crv]
			assert.Equal(t, want, alg)
		})
	}
	for _, u := range v.Unsupported {
		t.Run(u.Note, func(t *testing.T) {
			_, err := KeyResolver{}.Resolve(context.Background(), u.DID, ResolveOptions{})
			assert.Equal(t, "invalid_did", errs.CodeOf(err))
		})
	}
}

func multikey(code uint64, raw []byte) string {
	s, err := multibase.Encode(multibase.Base58BTC, append(binary.AppendUvarint(nil, code), raw...))
	if err != nil {
		panic(err)
	}
	return "did:key:" + s
}

// TestDIDKeyRejects covers SECURITY-CASES E56 for did:key and the
// malformed encodings around it.
func TestDIDKeyRejects(t *testing.T) {
	small, err := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	require.NoError(t, err)
	identity := append([]byte{1}, make([]byte, 31)...)
	offCurveP256 := make([]byte, 33)
	offCurveP256[0], offCurveP256[32] = 2, 1 // x = 1 has no y on P-256
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	uncompressed, err := k.PublicKey.Bytes()
	require.NoError(t, err)

	tests := map[string]string{
		"ed25519 small order (order 8)":   multikey(0xed, small),
		"ed25519 identity":                multikey(0xed, identity),
		"ed25519 non-canonical y = p":     multikey(0xed, mustHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
		"ed25519 short":                   multikey(0xed, make([]byte, 31)),
		"p-256 off curve":                 multikey(0x1200, offCurveP256),
		"p-256 uncompressed not allowed":  multikey(0x1200, uncompressed),
		"p-256 bad prefix byte":           multikey(0x1200, append([]byte{5}, offCurveP256[1:]...)),
		"x25519 is not a signing key":     multikey(0xec, make([]byte, 32)),
		"secp256k1 unsupported":           multikey(0xe7, append([]byte{2}, make([]byte, 32)...)),
		"non-minimal varint for ed25519":  "did:key:z" + base58.Encode(append([]byte{0xed, 0x81, 0x00}, make([]byte, 32)...)),
		"truncated varint":                "did:key:z" + base58.Encode([]byte{0x80}),
		"base64 multibase, not base58btc": "did:key:m7QE",
		"not base58 (0OIl)":               "did:key:z6Mk0OIl",
		"empty key":                       "did:key:z",
		"very long":                       "did:key:z" + base58.Encode(make([]byte, 400)),
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := KeyResolver{}.Resolve(context.Background(), d, ResolveOptions{})
			assert.Nil(t, res)
			assert.Equal(t, "invalid_did", errs.CodeOf(err))
		})
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEncodeMultikeyRoundTrip(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for i := 0; i < 10; i++ { // both parities of y
		p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		mk, err := EncodeMultikey(&p256.PublicKey)
		require.NoError(t, err)
		assert.Equal(t, "zDn", mk[:3])
		got, err := DecodeMultikey(mk)
		require.NoError(t, err)
		assert.True(t, got.(*ecdsa.PublicKey).Equal(&p256.PublicKey))
	}
	mk, err := EncodeMultikey(&p384.PublicKey)
	require.NoError(t, err)
	assert.Equal(t, "z82", mk[:3])
	got, err := DecodeMultikey(mk)
	require.NoError(t, err)
	assert.True(t, got.(*ecdsa.PublicKey).Equal(&p384.PublicKey))
	mk, err = EncodeMultikey(edPub)
	require.NoError(t, err)
	assert.Equal(t, "z6Mk", mk[:4])

	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)
	_, err = EncodeMultikey(&p521.PublicKey)
	assert.Equal(t, "unsupported_alg", errs.CodeOf(err))
}
