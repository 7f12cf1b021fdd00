package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
)

type vector struct {
	Name     string           `json:"name"`
	Source   string           `json:"source"`
	Bits     int              `json:"bits"`
	Size     int              `json:"size"`
	Lst      string           `json:"lst"`
	Statuses map[string]uint8 `json:"statuses"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.json")
	require.NoError(t, err)
	var f struct {
		Source  string   `json:"source"`
		Vectors []vector `json:"vectors"`
	}
	require.NoError(t, jsonx.Unmarshal(data, &f, true))
	require.Len(t, f.Vectors, 6)
	return f.Vectors
}

// TestVectors decodes every draft-20 vector and compares the decoded list,
// entry by entry, with the listed statuses (0 elsewhere). It then checks our
// own encoding round-trips to the same list; compressed bytes are never
// compared, since they differ between zlib implementations.
func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			l, err := Decode(v.Bits, v.Lst, 0)
			require.NoError(t, err)
			assert.Equal(t, v.Bits, l.Bits())
			require.GreaterOrEqual(t, l.Len(), v.Size)
			want := make(map[int]uint8, len(v.Statuses))
			for k, s := range v.Statuses {
				i, err := strconv.Atoi(k)
				require.NoError(t, err)
				want[i] = s
			}
			mismatches := 0
			for i := 0; i < l.Len(); i++ {
				got, err := l.Get(i)
				require.NoError(t, err)
				if got != want[i] {
					mismatches++
					if mismatches < 5 {
						t.Errorf("status[%d] = %d, want %d", i, got, want[i])
					}
				}
			}
			assert.Zero(t, mismatches)

			// Build the same list from the listed statuses and round-trip it.
			built, err := New(v.Bits, v.Size)
			require.NoError(t, err)
			for i, s := range want {
				require.NoError(t, built.Set(i, s))
			}
			assert.Equal(t, l.Bytes(), built.Bytes())
			enc, err := built.Encode()
			require.NoError(t, err)
			back, err := Decode(v.Bits, enc, 0)
			require.NoError(t, err)
			assert.Equal(t, built.Bytes(), back.Bytes())
		})
	}
}

// TestSpecByteArrays checks the §4.1 figures: the byte arrays 0xB9 0xA3
// (1-bit) and 0xC9 0x44 0xF9 (2-bit).
func TestSpecByteArrays(t *testing.T) {
	vs := loadVectors(t)
	for i, want := range [][]byte{{0xb9, 0xa3}, {0xc9, 0x44, 0xf9}} {
		l, err := Decode(vs[i].Bits, vs[i].Lst, 0)
		require.NoError(t, err)
		assert.Equal(t, want, l.Bytes(), vs[i].Name)
	}
}

func TestSetGet(t *testing.T) {
	for _, bits := range []int{1, 2, 4, 8} {
		t.Run(strconv.Itoa(bits), func(t *testing.T) {
			l, err := New(bits, 1000)
			require.NoError(t, err)
			max := uint8(1<<bits - 1)
			for i := 0; i < l.Len(); i++ {
				require.NoError(t, l.Set(i, uint8(i*7)&max))
			}
			for i := 0; i < l.Len(); i++ {
				got, err := l.Get(i)
				require.NoError(t, err)
				require.Equal(t, uint8(i*7)&max, got, "index %d", i)
			}
			// Overwriting one entry leaves its neighbours alone.
			require.NoError(t, l.Set(5, 0))
			got, _ := l.Get(4)
			assert.Equal(t, uint8(4*7)&max, got)
			got, _ = l.Get(6)
			assert.Equal(t, uint8(6*7)&max, got)

			if bits < 8 {
				assert.Equal(t, "invalid_status_value", errs.CodeOf(l.Set(0, max+1)))
			}
		})
	}
}

// TestIndexOutOfRange covers SECURITY-CASES E51.
func TestIndexOutOfRange(t *testing.T) {
	l, err := New(2, 12)
	require.NoError(t, err)
	require.Equal(t, 12, l.Len())
	for _, idx := range []int{-1, 12, 13, 1 << 30, int(^uint(0) >> 1)} {
		t.Run(strconv.Itoa(idx), func(t *testing.T) {
			_, err := l.Get(idx)
			assert.Equal(t, "status_index_out_of_range", errs.CodeOf(err))
			assert.Equal(t, "status_index_out_of_range", errs.CodeOf(l.Set(idx, 1)))
		})
	}
	_, err = l.Get(11)
	assert.NoError(t, err)
}

func zlibOf(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// TestDecodeRejects covers SECURITY-CASES E52 and the malformed inputs
// around it.
func TestDecodeRejects(t *testing.T) {
	good := base64.RawURLEncoding.EncodeToString(zlibOf(t, []byte{0xb9, 0xa3}))
	bomb := bombLst(t)
	corrupt := zlibOf(t, []byte{1, 2, 3, 4})
	corrupt[len(corrupt)-1] ^= 0xff // Adler-32 mismatch
	var rawDeflate bytes.Buffer     // a raw DEFLATE stream without the zlib header
	tests := []struct {
		name string
		bits int
		lst  string
		max  int
		code string
	}{
		{"bits 0", 0, good, 0, "invalid_status_bits"},
		{"bits 3", 3, good, 0, "invalid_status_bits"},
		{"bits 16", 16, good, 0, "invalid_status_bits"},
		{"bits -1", -1, good, 0, "invalid_status_bits"},
		{"zlib bomb at the default cap", 1, bomb, 0, "status_list_too_large"},
		{"inflated one byte over a small cap", 1, good, 1, "status_list_too_large"},
		{"encoded value far over the cap", 1, strings.Repeat("A", 4096), 16, "status_list_too_large"},
		{"padded base64", 1, good + "==", 0, "invalid_status_list"},
		{"std alphabet", 1, "eNrbuRgAAhcBXQ+/", 0, "invalid_status_list"},
		{"not zlib", 1, base64.RawURLEncoding.EncodeToString([]byte("hello world")), 0, "invalid_status_list"},
		{"raw deflate", 1, base64.RawURLEncoding.EncodeToString(rawDeflate.Bytes()), 0, "invalid_status_list"},
		{"bad checksum", 1, base64.RawURLEncoding.EncodeToString(corrupt), 0, "invalid_status_list"},
		{"truncated stream", 1, good[:len(good)-4], 0, "invalid_status_list"},
		{"trailing bytes", 1, base64.RawURLEncoding.EncodeToString(append(zlibOf(t, []byte{1}), 0)), 0, "invalid_status_list"},
		{"empty list", 1, base64.RawURLEncoding.EncodeToString(zlibOf(t, nil)), 0, "invalid_status_list"},
		{"empty string", 1, "", 0, "invalid_status_list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Decode(tc.bits, tc.lst, tc.max)
			assert.Nil(t, l)
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

// bombLst is testdata/bomb-128MiB-zeros.zlib (zlib, best compression, of
// 128 MiB of zero bytes; 130 KB), base64url-encoded.
func bombLst(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/bomb-128MiB-zeros.zlib")
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestZlibBombMemoryBounded checks that the decoder stops a 128 MiB bomb at
// the 4 MiB cap: it allocates well under 50 MB in total while rejecting it
// (SECURITY-CASES A19/E52).
func TestZlibBombMemoryBounded(t *testing.T) {
	lst := bombLst(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	l, err := Decode(1, lst, 0)
	runtime.ReadMemStats(&after)
	assert.Nil(t, l)
	assert.Equal(t, "status_list_too_large", errs.CodeOf(err))
	grown := int64(after.TotalAlloc - before.TotalAlloc)
	assert.Less(t, grown, int64(50<<20), "allocated %d bytes while rejecting the bomb", grown)
	t.Logf("allocated %d bytes rejecting a 128 MiB bomb", grown)
}

func TestNewAndFromBytes(t *testing.T) {
	_, err := New(3, 10)
	assert.Equal(t, "invalid_status_bits", errs.CodeOf(err))
	_, err = New(1, 0)
	assert.Equal(t, "invalid_status_list", errs.CodeOf(err))
	_, err = New(8, DefaultMaxBytes+1)
	assert.Equal(t, "invalid_status_list", errs.CodeOf(err))
	l, err := New(1, 131072)
	require.NoError(t, err)
	assert.Equal(t, 131072, l.Len())
	l, err = New(2, 13) // rounds up to whole bytes
	require.NoError(t, err)
	assert.Equal(t, 16, l.Len())

	src := []byte{0xb9, 0xa3}
	l, err = FromBytes(1, src)
	require.NoError(t, err)
	src[0] = 0
	got, _ := l.Get(0)
	assert.Equal(t, uint8(1), got, "FromBytes must copy its input")
	_, err = FromBytes(1, nil)
	assert.Equal(t, "invalid_status_list", errs.CodeOf(err))
	_, err = FromBytes(5, src)
	assert.Equal(t, "invalid_status_bits", errs.CodeOf(err))
}
