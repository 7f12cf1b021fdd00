package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"testing"

	"github.com/ssi-project/ssi/internal/keys"
	"github.com/stretchr/testify/require"
)

// testSigner is a software keys.Signer for tests: a real crypto.Signer plus
// the alg and the RFC 7638 thumbprint as kid.
type testSigner struct {
	crypto.Signer
	alg string
	kid string
}

func (s testSigner) Algorithm() string { return s.alg }
func (s testSigner) KeyID() string     { return s.kid }
func (s testSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.Signer.Sign(r, d, o)
}

func newES256(t testing.TB) testSigner {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	kid, err := keys.Thumbprint(&k.PublicKey)
	require.NoError(t, err)
	return testSigner{Signer: k, alg: keys.ES256, kid: kid}
}

func newEdDSA(t testing.TB) testSigner {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	kid, err := keys.Thumbprint(k.Public())
	require.NoError(t, err)
	return testSigner{Signer: k, alg: keys.EdDSA, kid: kid}
}

// lookupFor returns a KeyLookup that knows exactly the signer's key.
func lookupFor(s testSigner) KeyLookup {
	return func(h *Header, _ []byte) (PublicKey, error) {
		if h.Kid != s.kid {
			return PublicKey{}, ErrUnknownKey
		}
		return PublicKey{Key: s.Public(), Alg: s.alg}, nil
	}
}
