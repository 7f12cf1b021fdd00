package qr

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

// TestBase45RFC9285Vectors: the examples of RFC 9285 §4.3 and §4.4.
func TestBase45RFC9285Vectors(t *testing.T) {
	for _, v := range []struct{ raw, enc string }{
		{"", ""},
		{"AB", "BB8"},                  // §4.3 example 1
		{"Hello!!", "%69 VD92EX0"},     // §4.3 example 2 (odd length: a final pair)
		{"base-45", "UJCLQE7W581"},     // §4.3 example 3
		{"ietf!", "QED8WEX0"},          // §4.4 decoding example
		{"\xff\xff", "FGW"},            // the largest triplet, 65535
		{"\xff", "U5"},                 // the largest pair, 255
		{"\x00\x00\x00", "000" + "00"}, // zeros are not dropped
	} {
		assert.Equal(t, v.enc, base45Encode([]byte(v.raw)), "encode %q", v.raw)
		got, err := base45Decode(v.enc)
		require.NoError(t, err, "decode %q", v.enc)
		assert.Equal(t, []byte(v.raw), got, "decode %q", v.enc)
		assert.Len(t, v.enc, base45EncodedLen(len(v.raw)))
	}
}

// TestBase45Refusals: everything RFC 9285 §4 says a decoder must refuse,
// each with the code of its class (a character outside the alphabet, a
// group over its range, a dangling character), and each errors.Is
// ErrInvalidBase45.
func TestBase45Refusals(t *testing.T) {
	const (
		character = "qr_base45_character"
		overflow  = "qr_base45_overflow"
		dangling  = "qr_invalid_base45"
	)
	for _, c := range []struct{ name, in, code string }{
		{"a triplet of 65536", "GGW", overflow}, // 16 + 16·45 + 32·45² (minvws/base45-go gives 00 00)
		{"the largest triplet value", ":::", overflow},
		{"a pair of 256", "V5", overflow},          // 31 + 5·45
		{"the largest pair value", "::", overflow}, // 2024 (minvws/base45-go gives e8)
		{"a dangling character", "A", dangling},
		{"a dangling character after a triplet", "BB8A", dangling},
		{"lower case", "bb8", character},
		{"a line feed", "BB8\n", dangling},
		{"a line feed in a triplet", "BB\n", character},
		{"a NUL", "BB\x00", character},
		{"a non-ASCII byte", "BB\xc3\xa9", dangling},
		{"a non-ASCII byte in a triplet", "B\xc3\xa9", character},
		{"an equals sign", "BB=", character},
		{"a bad character in the final pair", "BB8B_", character},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := base45Decode(c.in)
			require.Error(t, err)
			assert.Equal(t, c.code, errs.CodeOf(err))
			assert.ErrorIs(t, err, ErrInvalidBase45)
			assert.Equal(t, errs.Invalid, errs.KindOf(err))
		})
	}
}

// TestBase45RoundTrip: random bytes of every length up to 300 come back,
// and their text is in the QR alphanumeric set.
func TestBase45RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		enc := base45Encode(b)
		require.Len(t, enc, base45EncodedLen(n))
		for i := range len(enc) {
			require.GreaterOrEqual(t, bytes.IndexByte([]byte(base45Alphabet), enc[i]), 0)
		}
		got, err := base45Decode(enc)
		require.NoError(t, err)
		require.Equal(t, b, got)
	}
}
