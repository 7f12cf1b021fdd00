package statuslist

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/keys"
)

// benchList is a 2-bit list of 2^20 entries with 1 % of entries revoked or
// suspended at random positions (the shape of a production list).
func benchList(b *testing.B) *List {
	b.Helper()
	l, err := New(2, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range (1 << 20) / 100 {
		if err := l.Set(r.IntN(1<<20), uint8(1+r.IntN(2))); err != nil {
			b.Fatal(err)
		}
	}
	return l
}

func BenchmarkEncode2Bit1M(b *testing.B) {
	l := benchList(b)
	for b.Loop() {
		if _, err := l.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode2Bit1M(b *testing.B) {
	lst, err := benchList(b).Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(1 << 18)
	for b.Loop() {
		if _, err := Decode(2, lst, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	l := benchList(b)
	i := 0
	for b.Loop() {
		if _, err := l.Get(i & (1<<20 - 1)); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

func BenchmarkRejectBomb(b *testing.B) {
	lst := bombLst(b)
	for b.Loop() {
		if _, err := Decode(1, lst, 0); err == nil {
			b.Fatal("bomb accepted")
		}
	}
}

// BenchmarkVerifyToken verifies a signed ES256 Status List Token carrying
// the 2^20-entry list, with the key resolved from its did:key.
func BenchmarkVerifyToken(b *testing.B) {
	f := newIssuer(b, keys.ES256)
	tok, err := Sign(f.signer, f.kid, Token{Subject: listURI, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour), List: benchList(b)})
	if err != nil {
		b.Fatal(err)
	}
	o := f.opts()
	for b.Loop() {
		if _, err := Verify(tok, o); err != nil {
			b.Fatal(err)
		}
	}
}
