package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

// BenchmarkSignES256 measures the software signer; BenchmarkRawECDSASign is
// the bound it should match.
func BenchmarkSignES256(b *testing.B) {
	s, err := Generate(ES256)
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("payload"))
	for b.Loop() {
		if _, err := s.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawECDSASign(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("payload"))
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, k, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenES256 is the cost of opening one sealed ES256 key, which the
// holder pays for every presentation (each copy has its own key).
func BenchmarkOpenES256(b *testing.B) {
	var kek KEK
	s, err := Generate(ES256)
	if err != nil {
		b.Fatal(err)
	}
	blob, err := Seal(s, kek)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(blob, kek); err != nil {
			b.Fatal(err)
		}
	}
}
