package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"math/big"

	"github.com/ssi-project/ssi/internal/errs"
)

// ErrBadSignRequest is returned by a software signer asked to sign with the
// wrong hash or digest length for its algorithm.
var ErrBadSignRequest = errs.E(errs.Internal, "bad_sign_request", "the signing request does not match the key's algorithm")

// software is an in-memory ES256 or EdDSA key. Its private material never
// leaves the process except through Seal.
type software struct {
	alg  string
	kid  string
	priv crypto.Signer // *ecdsa.PrivateKey (P-256) or ed25519.PrivateKey
}

var _ Signer = (*software)(nil)

// Generate makes a new software key for alg ("ES256" or "EdDSA") from
// crypto/rand. Any other alg is ErrUnsupportedAlg.
func Generate(alg string) (Signer, error) {
	switch alg {
	case ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, "key_generation_failed", "the key could not be generated", err)
		}
		return newSoftware(k)
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, "key_generation_failed", "the key could not be generated", err)
		}
		return newSoftware(k)
	default:
		return nil, ErrUnsupportedAlg
	}
}

// FromPrivateKey wraps an existing private key (*ecdsa.PrivateKey on P-256,
// or ed25519.PrivateKey) as a software Signer. It exists for imports and
// test vectors; new keys come from Generate.
func FromPrivateKey(priv crypto.PrivateKey) (Signer, error) {
	return newSoftware(priv)
}

func newSoftware(priv crypto.PrivateKey) (*software, error) {
	s := &software{}
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, ErrUnsupportedAlg.With("only P-256 EC keys can sign", nil)
		}
		s.alg, s.priv = ES256, k
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return nil, ErrInvalidKey.With("the Ed25519 private key has the wrong length", nil)
		}
		s.alg, s.priv = EdDSA, k
	default:
		return nil, ErrUnsupportedAlg
	}
	kid, err := Thumbprint(s.priv.Public())
	if err != nil {
		return nil, err
	}
	s.kid = kid
	return s, nil
}

func (s *software) Algorithm() string        { return s.alg }
func (s *software) KeyID() string            { return s.kid }
func (s *software) Public() crypto.PublicKey { return s.priv.Public() }

// Sign implements crypto.Signer. ES256 takes a 32-byte SHA-256 digest with
// opts.HashFunc() == crypto.SHA256 and returns ASN.1 DER; EdDSA takes the
// whole message with crypto.Hash(0). Anything else is ErrBadSignRequest, so a
// caller can never make the key sign with another hash than its alg's.
func (s *software) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, ErrBadSignRequest.With("no signer options", nil)
	}
	switch k := s.priv.(type) {
	case *ecdsa.PrivateKey:
		if opts.HashFunc() != crypto.SHA256 || len(digest) != 32 {
			return nil, ErrBadSignRequest
		}
		if r == nil {
			r = rand.Reader
		}
		return ecdsa.SignASN1(r, k, digest)
	case ed25519.PrivateKey:
		if opts.HashFunc() != crypto.Hash(0) {
			return nil, ErrBadSignRequest
		}
		return ed25519.Sign(k, digest), nil
	}
	return nil, errors.New("keys: unreachable key type")
}

// privateBytes is the compact private encoding sealed at rest: the P-256
// scalar (32 bytes) or the Ed25519 seed (32 bytes).
func (s *software) privateBytes() ([]byte, error) {
	switch k := s.priv.(type) {
	case *ecdsa.PrivateKey:
		return k.Bytes()
	case ed25519.PrivateKey:
		return append([]byte(nil), k.Seed()...), nil
	}
	return nil, errors.New("keys: unreachable key type")
}

// publicBytes is the public half that Seal keeps beside privateBytes: the
// uncompressed P-256 point or the Ed25519 public key.
func (s *software) publicBytes() ([]byte, error) {
	switch k := s.priv.(type) {
	case *ecdsa.PrivateKey:
		return k.PublicKey.Bytes()
	case ed25519.PrivateKey:
		return append([]byte(nil), k.Public().(ed25519.PublicKey)...), nil
	}
	return nil, errors.New("keys: unreachable key type")
}

// keyPairFromBytes is the inverse of privateBytes followed by publicBytes.
// The pair comes out of an authenticated envelope, so the public half is
// taken as it is (checked to be a point of the curve) rather than derived
// again from the private one.
func keyPairFromBytes(alg string, b []byte) (*software, error) {
	switch alg {
	case ES256:
		if len(b) != 32+65 {
			return nil, ErrInvalidKey.With("the P-256 key pair has the wrong length", nil)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b[32:])
		if err != nil {
			return nil, ErrInvalidKey.With("the P-256 public key is invalid", err)
		}
		d := new(big.Int).SetBytes(b[:32])
		if d.Sign() == 0 || d.Cmp(elliptic.P256().Params().N) >= 0 {
			return nil, ErrInvalidKey.With("the P-256 private key is invalid", nil)
		}
		return newSoftware(&ecdsa.PrivateKey{PublicKey: *pub, D: d})
	case EdDSA:
		if len(b) != ed25519.SeedSize+ed25519.PublicKeySize {
			return nil, ErrInvalidKey.With("the Ed25519 key pair has the wrong length", nil)
		}
		return newSoftware(ed25519.PrivateKey(append([]byte(nil), b...)))
	}
	return nil, ErrUnsupportedAlg
}

// privateFromBytes is the inverse of privateBytes (version 1 envelopes).
func privateFromBytes(alg string, b []byte) (*software, error) {
	switch alg {
	case ES256:
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
		if err != nil {
			return nil, ErrInvalidKey.With("the P-256 private key is invalid", err)
		}
		return newSoftware(k)
	case EdDSA:
		if len(b) != ed25519.SeedSize {
			return nil, ErrInvalidKey.With("the Ed25519 seed has the wrong length", nil)
		}
		return newSoftware(ed25519.NewKeyFromSeed(b))
	}
	return nil, ErrUnsupportedAlg
}
