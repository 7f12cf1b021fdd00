package qr

import (
	"bytes"
	"fmt"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

// scan decodes a rendered PNG with gozxing, an independent decoder (a
// port of ZXing). The image is a clean rendering, so it is decoded as a
// pure barcode: gozxing's finder-pattern detector misplaces the alignment
// pattern of some version 10+ symbols of random content (about one run
// in ten failed with NotFoundException on a correct symbol), which says
// nothing about the symbol.
func scan(t *testing.T, b []byte) *gozxing.Result {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	require.NoError(t, err)
	return res
}

// bits reads n bits from b starting at bit off.
func bits(b []byte, off, n int) int {
	v := 0
	for i := off; i < off+n; i++ {
		v = v<<1 | int(b[i/8]>>(7-i%8)&1)
	}
	return v
}

// TestOfflineQRScansBack: the reference presentation's envelope, encoded
// by EncodeOffline and rendered as a PNG, scans back to the same text,
// which decodes to the same presentation. gozxing's raw data codewords
// show one alphanumeric segment (mode 0010, the whole text counted, then
// the terminator) at level L, in the version OfflineVersion reports.
func TestOfflineQRScansBack(t *testing.T) {
	r := newReference(t)
	p, _ := r.present(t, referenceReveal)
	text, err := EncodeEnvelope(p)
	require.NoError(t, err)
	sym, err := EncodeOffline(text)
	require.NoError(t, err)
	v, err := OfflineVersion(text, L)
	require.NoError(t, err)
	assert.Equal(t, v, sym.Version())
	assert.Equal(t, L, sym.Level())
	require.GreaterOrEqual(t, v, 10, "the bit layout below is that of versions 10-26")
	require.LessOrEqual(t, v, 26)

	b, err := sym.PNG()
	require.NoError(t, err)
	res := scan(t, b)
	require.Equal(t, text, res.GetText())
	assert.Equal(t, "L", res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL])
	assert.NotContains(t, res.GetResultMetadata(), gozxing.ResultMetadataType_BYTE_SEGMENTS)
	raw := res.GetRawBytes()
	assert.Equal(t, 0b0010, bits(raw, 0, 4), "alphanumeric mode")
	assert.Equal(t, len(text), bits(raw, 4, 11), "one segment holds the whole text")
	end := 4 + 11 + len(text)/2*11 + len(text)%2*6
	assert.Equal(t, 0, bits(raw, end, 4), "the terminator follows: no second segment")

	back, err := DecodeEnvelope(res.GetText())
	require.NoError(t, err)
	assert.Equal(t, p, back)
}

// TestURIQRScansBack: a credential-offer link as EncodeURI encodes it (one
// byte segment, level Q) scans back, in PNG; the SVG draws the same
// modules.
func TestURIQRScansBack(t *testing.T) {
	uri := "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fhealth.example.gov%2Fissuers%2Fhealth%2Foffers%2F3f2a9c1e7b5d4a60"
	sym, err := EncodeURI(uri)
	require.NoError(t, err)
	b, err := sym.PNG()
	require.NoError(t, err)
	res := scan(t, b)
	assert.Equal(t, uri, res.GetText())
	assert.Equal(t, "Q", res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL])
	assert.Equal(t, 0b0100, bits(res.GetRawBytes(), 0, 4), "byte mode")

	// The SVG draws exactly the modules the (scanned) PNG shows.
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	side := sym.Size() + 2*QuietZone
	require.Equal(t, side*ModulePixels, img.Bounds().Dx())
	svg := sym.SVG()
	assert.True(t, strings.HasPrefix(svg, fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d"`, side, side)))
	drawn := map[[2]int]bool{}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		drawn[[2]int{x, y}] = true
	}
	mismatches, dark := 0, 0
	for y := range side {
		for x := range side {
			r, _, _, _ := img.At(x*ModulePixels+ModulePixels/2, y*ModulePixels+ModulePixels/2).RGBA()
			if r == 0 {
				dark++
			}
			if (r == 0) != drawn[[2]int{x, y}] {
				mismatches++
			}
		}
	}
	assert.Zero(t, mismatches)
	assert.Equal(t, dark, len(drawn))
}

// TestOfflineVersionCapacities: the versions match the alphanumeric
// capacities of ISO/IEC 18004 Table 7 at their boundaries, and the level is
// never raised (a text that fits version 1 at level H still reports L).
func TestOfflineVersionCapacities(t *testing.T) {
	for _, c := range []struct {
		level    Level
		capacity int // characters
		version  int
	}{
		{L, 25, 1}, {M, 20, 1}, {Q, 16, 1}, {H, 10, 1},
		{L, 1460, 22}, {M, 1134, 22},
		{L, 4296, 40}, {M, 3391, 40},
	} {
		v, err := OfflineVersion(strings.Repeat("A", c.capacity), c.level)
		require.NoError(t, err)
		assert.Equal(t, c.version, v, "%d characters at %s", c.capacity, c.level)
		if c.version < 40 {
			v, err = OfflineVersion(strings.Repeat("A", c.capacity+1), c.level)
			require.NoError(t, err)
			assert.Equal(t, c.version+1, v, "%d characters at %s", c.capacity+1, c.level)
		}
	}
	sym, err := Encode("A", Alphanumeric, L)
	require.NoError(t, err)
	assert.Equal(t, L, sym.Level())
	res := scan(t, mustPNG(t, sym))
	assert.Equal(t, "L", res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL], "not boosted")
}

func mustPNG(t *testing.T, s *Symbol) []byte {
	t.Helper()
	b, err := s.PNG()
	require.NoError(t, err)
	return b
}

// TestEncodeRefuses: text an alphanumeric segment cannot hold, and text
// no version holds, with their codes.
func TestEncodeRefuses(t *testing.T) {
	for _, c := range []struct {
		name, text string
		mode       Mode
		level      Level
		code       string
	}{
		{"lower case in alphanumeric mode", "SSI1:abc", Alphanumeric, L, "qr_not_alphanumeric"},
		{"a line feed in alphanumeric mode", "SSI1:ABC\n", Alphanumeric, L, "qr_not_alphanumeric"},
		{"one character over version 40-L", strings.Repeat("A", 4297), Alphanumeric, L, "qr_data_too_long"},
		{"one byte over version 40-Q", strings.Repeat("a", 1664), Byte, Q, "qr_data_too_long"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encode(c.text, c.mode, c.level)
			require.Error(t, err)
			assert.Equal(t, c.code, errs.CodeOf(err))
		})
	}
	_, err := Encode("x", Byte, Level(7))
	assert.Equal(t, errs.Internal, errs.KindOf(err))
	_, err = Encode("x", Mode(7), L)
	assert.Equal(t, errs.Internal, errs.KindOf(err))
}
