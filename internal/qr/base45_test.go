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
// each qr_invalid_base45.
func TestBase45Refusals(t *testing.T) {
	for _, c := range []struct{ name, in string }{
		{"a triplet of 65536", "GGW"}, // 16 + 16·45 + 32·45² (minvws/base45-go gives 00 00)
		{"the largest triplet value", ":::"},
		{"a pair of 256", "V5"},          // 31 + 5·45
		{"the largest pair value", "::"}, // 2024 (minvws/base45-go gives e8)
		{"a dangling character", "A"},
		{"a dangling character after a triplet", "BB8A"},
		{"lower case", "bb8"},
		{"a line feed", "BB8\n"},
		{"a NUL", "BB\x00"},
		{"a non-ASCII byte", "BB\xc3\xa9"},
		{"an equals sign", "BB="},
		{"a bad character in the final pair", "BB8B_"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := base45Decode(c.in)
			require.Error(t, err)
			assert.Equal(t, "qr_invalid_base45", errs.CodeOf(err))
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
