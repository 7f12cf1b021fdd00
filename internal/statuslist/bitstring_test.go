package statuslist

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

// specEncodedList is the encodedList of the BitstringStatusListCredential
// example in W3C Bitstring Status List v1.0 (§2.2): 16 KB of zeros.
const specEncodedList = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"

func TestBitstringSpecExample(t *testing.T) {
	b, err := DecodeBitstring(specEncodedList, 1, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, 131072, b.Len())
	for _, idx := range []int{0, 94567, 131071} {
		v, err := b.Get(idx)
		require.NoError(t, err)
		assert.Equal(t, uint8(0), v)
	}
	_, err = b.Get(131072)
	assert.Equal(t, "status_index_out_of_range", errs.CodeOf(err))
}

// TestBitstringBitOrder checks the left-most-bit-first layout, the opposite
// of the Token Status List, for 1-, 2- and 3-bit entries.
func TestBitstringBitOrder(t *testing.T) {
	raw := make([]byte, 16<<10)
	raw[0] = 0b1000_0000 // index 0 (1-bit) is the top bit
	raw[1] = 0b0000_0001 // index 15 (1-bit)
	raw[2] = 0b1110_0100
	enc, err := EncodeBitstring(raw)
	require.NoError(t, err)

	tests := []struct {
		size, min int
		want      map[int]uint8
	}{
		{1, 0, map[int]uint8{0: 1, 1: 0, 7: 0, 15: 1, 16: 1, 17: 1, 18: 1, 19: 0, 21: 1}},
		{2, 1, map[int]uint8{0: 0b10, 1: 0, 7: 0b01, 8: 0b11, 9: 0b10, 10: 0b01, 11: 0}},
		{3, 1, map[int]uint8{0: 0b100, 4: 0, 5: 0b111, 6: 0b100, 7: 0b100}}, // bits 100 000 000 000 000 111 100 100
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.size), func(t *testing.T) {
			b, err := DecodeBitstring(enc, tc.size, tc.min, 0)
			require.NoError(t, err)
			for idx, want := range tc.want {
				got, err := b.Get(idx)
				require.NoError(t, err)
				assert.Equal(t, want, got, "index %d", idx)
			}
		})
	}
}

func TestBitstringRejects(t *testing.T) {
	short, err := EncodeBitstring(make([]byte, 1024))
	require.NoError(t, err)
	tests := []struct {
		name, in string
		size     int
		code     string
	}{
		{"shorter than 131072 entries", short, 1, "status_list_too_short"},
		{"2-bit list of 16 KB is 65536 entries", specEncodedList, 2, "status_list_too_short"},
		{"statusSize 0", specEncodedList, 0, "invalid_status_bits"},
		{"statusSize 9", specEncodedList, 9, "invalid_status_bits"},
		{"no multibase prefix", specEncodedList[1:], 1, "invalid_status_list"},
		{"base58 multibase", "z" + specEncodedList[1:], 1, "invalid_status_list"},
		{"zlib instead of gzip", "u" + "eNrbuRgAAhcBXQ", 1, "invalid_status_list"},
		{"truncated", specEncodedList[:30], 1, "invalid_status_list"},
		{"gzip bomb", mustBitstring(t, make([]byte, 8<<20)), 1, "status_list_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBitstring(tc.in, tc.size, 0, 0)
			assert.Nil(t, b)
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

func mustBitstring(t *testing.T, raw []byte) string {
	t.Helper()
	s, err := EncodeBitstring(raw)
	require.NoError(t, err)
	return s
}
