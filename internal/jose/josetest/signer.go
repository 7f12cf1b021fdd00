// Package josetest provides software signers for tests of packages that
// sign JOSE objects. It must never be imported by non-test code: its keys
// live in memory only and are generated per test.
package josetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// Signer is an in-memory keys.Signer.
type Signer struct {
	crypto.Signer
	alg string
	kid string
	jwk keys.JWK
}

// Algorithm returns the one JOSE alg of the key.
func (s *Signer) Algorithm() string { return s.alg }

// KeyID returns the RFC 7638 thumbprint of the public key.
func (s *Signer) KeyID() string { return s.kid }

// JWK returns the public JWK.
func (s *Signer) JWK() keys.JWK { return s.jwk }

// PublicKey returns the verification key bound to its alg.
func (s *Signer) PublicKey() jose.PublicKey { return jose.PublicKey{Key: s.Public(), Alg: s.alg} }

// New returns a fresh signer for alg (keys.ES256 or keys.EdDSA).
func New(tb testing.TB, alg string) *Signer {
	tb.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case keys.ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case keys.EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("josetest: unsupported alg %q", alg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return FromKey(tb, k, alg)
}

// FromKey wraps an existing private key.
func FromKey(tb testing.TB, k crypto.Signer, alg string) *Signer {
	tb.Helper()
	j, err := jose.PublicJWK(k.Public())
	if err != nil {
		tb.Fatal(err)
	}
	kid, err := j.Thumbprint()
	if err != nil {
		tb.Fatal(err)
	}
	return &Signer{Signer: k, alg: alg, kid: kid, jwk: j}
}
