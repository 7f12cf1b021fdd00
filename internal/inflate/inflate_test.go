package inflate_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/ssi-project/ssi/internal/inflate"
	"github.com/ssi-project/ssi/internal/inflate/inflatetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRoundTripsAndRefusals: both formats give back every size up to the
// limit exactly (with the pool reused between calls), and refuse one byte
// more, corrupt or truncated streams, a bad zlib checksum, and trailing
// bytes.
func TestRoundTripsAndRefusals(t *testing.T) {
	const limit = 10000
	for name, c := range map[string]struct {
		compress func(testing.TB, []byte) []byte
		inflate  func([]byte, int) ([]byte, error)
	}{"zlib": {inflatetest.Zlib, inflate.Zlib}, "raw": {inflatetest.Raw, inflate.Raw}} {
		t.Run(name, func(t *testing.T) {
			for _, n := range []int{0, 1, 511, 512, 513, 4096, limit - 1, limit} {
				in := make([]byte, n)
				_, _ = rand.Read(in[:n/2]) // half random, half zeros
				out, err := c.inflate(c.compress(t, in), limit)
				require.NoError(t, err, n)
				assert.Equal(t, in, out)
			}
			_, err := c.inflate(c.compress(t, make([]byte, limit+1)), limit)
			assert.ErrorIs(t, err, inflate.ErrTooLarge)
			good := c.compress(t, []byte("hello, hello, hello"))
			for what, b := range map[string][]byte{
				"truncated":      good[:len(good)-3],
				"trailing bytes": append(append([]byte{}, good...), 0),
				"garbage":        []byte("not compressed at all"),
				"empty":          nil,
			} {
				_, err := c.inflate(b, limit)
				assert.ErrorIs(t, err, inflate.ErrCorrupt, what)
				assert.False(t, errors.Is(err, inflate.ErrTooLarge), what)
			}
		})
	}
	z := inflatetest.Zlib(t, []byte("checksum"))
	z[len(z)-1] ^= 1
	_, err := inflate.Zlib(z, limit)
	assert.ErrorIs(t, err, inflate.ErrCorrupt)
}
