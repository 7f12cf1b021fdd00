package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func newKEK(t *testing.T) KEK {
	t.Helper()
	var k KEK
	_, err := rand.Read(k[:])
	require.NoError(t, err)
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	kek := newKEK(t)
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			s, err := Generate(alg)
			require.NoError(t, err)
			blob, err := Seal(s, kek)
			require.NoError(t, err)
			got, err := Open(blob, kek)
			require.NoError(t, err)
			assert.Equal(t, s.KeyID(), got.KeyID())
			assert.Equal(t, s.Algorithm(), got.Algorithm())
			assert.True(t, got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(s.Public()))

			// The opened key signs, and the original key's verifier accepts.
			digest := sha256.Sum256([]byte("m"))
			in, opts := digest[:], crypto.SignerOpts(crypto.SHA256)
			if alg == EdDSA {
				in, opts = []byte("m"), crypto.Hash(0)
			}
			sig, err := got.Sign(rand.Reader, in, opts)
			require.NoError(t, err)
			if alg == EdDSA {
				assert.True(t, ed25519.Verify(s.Public().(ed25519.PublicKey), in, sig))
			} else {
				assert.True(t, ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), in, sig))
			}

			// The private key never appears in clear in the blob.
			priv, err := s.(*software).privateBytes()
			require.NoError(t, err)
			assert.NotContains(t, string(blob), string(priv))

			// Two seals of the same key differ (fresh nonce).
			blob2, err := Seal(s, kek)
			require.NoError(t, err)
			assert.NotEqual(t, blob, blob2)
		})
	}
}

// sealV1 seals s in the version 1 envelope (the private part alone), as
// keys sealed before version 2 are stored.
func sealV1(t *testing.T, s Signer, kek KEK) []byte {
	t.Helper()
	sw := s.(*software)
	priv, err := sw.privateBytes()
	require.NoError(t, err)
	header := append([]byte(sealMagic), 1, byte(len(sw.alg)))
	header = append(append(header, sw.alg...), byte(len(sw.kid)))
	header = append(header, sw.kid...)
	aead, err := newAEAD(kek)
	require.NoError(t, err)
	nonce := make([]byte, aead.NonceSize())
	_, err = rand.Read(nonce)
	require.NoError(t, err)
	return aead.Seal(append(append([]byte(nil), header...), nonce...), nonce, priv, header)
}

// TestOpenVersion1 holds Open to the keys sealed before version 2: they
// open to the same key, which signs for the original public key, and a
// version 1 blob is never read as version 2 (or the reverse).
func TestOpenVersion1(t *testing.T) {
	kek := newKEK(t)
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			s, err := Generate(alg)
			require.NoError(t, err)
			v1 := sealV1(t, s, kek)
			got, err := Open(v1, kek)
			require.NoError(t, err)
			assert.Equal(t, s.KeyID(), got.KeyID())
			assert.True(t, got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(s.Public()))

			v2, err := Seal(s, kek)
			require.NoError(t, err)
			assert.Equal(t, byte(2), v2[len(sealMagic)])
			_, err = Open(append([]byte("SSIK\x02"), v1[5:]...), kek)
			assert.Equal(t, "sealed_key_invalid", errs.CodeOf(err))
		})
	}
}

func TestOpenRejects(t *testing.T) {
	kek := newKEK(t)
	es, err := Generate(ES256)
	require.NoError(t, err)
	ed, err := Generate(EdDSA)
	require.NoError(t, err)
	esBlob, err := Seal(es, kek)
	require.NoError(t, err)
	edBlob, err := Seal(ed, kek)
	require.NoError(t, err)

	hdr := func(b []byte) int { return 4 + 1 + 1 + int(b[5]) + 1 + int(b[6+int(b[5])]) }
	// swapped: the ES256 header (alg+kid) on the EdDSA ciphertext.
	swapped := append(append([]byte{}, esBlob[:hdr(esBlob)]...), edBlob[hdr(edBlob):]...)
	// relabelled: the header's kid replaced by another key's kid, same length.
	relabelled := append([]byte{}, esBlob...)
	esKidAt := 4 + 1 + 1 + len(ES256) + 1
	other, err := Generate(ES256)
	require.NoError(t, err)
	copy(relabelled[esKidAt:], other.KeyID())

	tests := map[string]struct {
		blob []byte
		kek  KEK
	}{
		"wrong kek":          {esBlob, newKEK(t)},
		"swapped ciphertext": {swapped, kek},
		"relabelled kid":     {relabelled, kek},
		"unknown version":    {append([]byte("SSIK\x03"), esBlob[5:]...), kek},
		"relabelled version": {append([]byte("SSIK\x01"), esBlob[5:]...), kek},
		"no magic":           {esBlob[4:], kek},
		"truncated header":   {esBlob[:9], kek},
		"truncated tag":      {esBlob[:len(esBlob)-1], kek},
		"empty":              {nil, kek},
	}
	for i := range esBlob {
		b := append([]byte{}, esBlob...)
		b[i] ^= 0x01
		tests["bit flip at "+strings.Repeat("0", 3-len(itoa(i)))+itoa(i)] = struct {
			blob []byte
			kek  KEK
		}{b, kek}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := Open(tc.blob, tc.kek)
			assert.Nil(t, s)
			assert.Equal(t, "sealed_key_invalid", errs.CodeOf(err))
		})
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

type kmsLike struct{ Signer }

func TestSealRefusesForeignSigner(t *testing.T) {
	s, err := Generate(ES256)
	require.NoError(t, err)
	_, err = Seal(kmsLike{s}, newKEK(t))
	assert.Equal(t, "key_not_exportable", errs.CodeOf(err))
}

func TestParseKEK(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	var want KEK
	copy(want[:], raw)
	good := map[string]string{
		"std base64":          base64.StdEncoding.EncodeToString(raw),
		"raw url base64":      base64.RawURLEncoding.EncodeToString(raw),
		"hex":                 hex.EncodeToString(raw),
		"base64 with newline": base64.StdEncoding.EncodeToString(raw) + "\n",
	}
	for name, in := range good {
		t.Run(name, func(t *testing.T) {
			got, err := ParseKEK(in)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	bad := map[string]string{
		"empty":    "",
		"16 bytes": base64.StdEncoding.EncodeToString(raw[:16]),
		"33 bytes": base64.StdEncoding.EncodeToString(append(raw, 1)),
		"garbage":  "not a key at all!",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseKEK(in)
			assert.Equal(t, "invalid_kek", errs.CodeOf(err))
		})
	}
}
