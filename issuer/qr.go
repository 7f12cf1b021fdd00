package issuer

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// QR is an offer URI as a QR code, in both image formats the admin API
// returns.
type QR struct {
	PNG []byte
	SVG string
}

// qrModule is the size of one module in the PNG, in pixels; qrQuiet is
// the quiet zone, in modules (ISO/IEC 18004 asks for 4).
const (
	qrModule = 6
	qrQuiet  = 4
)

// matrixWriter captures the module matrix of a QR code.
type matrixWriter struct{ dark [][]bool }

func (m *matrixWriter) Write(mat qrcode.Matrix) error {
	m.dark = make([][]bool, mat.Height())
	for y := range m.dark {
		m.dark[y] = make([]bool, mat.Width())
	}
	mat.Iterate(qrcode.IterDirection_ROW, func(x, y int, v qrcode.QRValue) {
		m.dark[y][x] = v.IsSet()
	})
	return nil
}

func (m *matrixWriter) Close() error { return nil }

// EncodeQR renders text as a QR code (byte mode, error correction chosen
// by the library) in PNG and SVG.
func EncodeQR(text string) (*QR, error) {
	q, err := qrcode.New(text)
	if err != nil {
		return nil, fmt.Errorf("encoding QR code: %w", err)
	}
	var mw matrixWriter
	if err := q.Save(&mw); err != nil {
		return nil, fmt.Errorf("encoding QR code: %w", err)
	}
	n := len(mw.dark)
	side := n + 2*qrQuiet

	img := image.NewGray(image.Rect(0, 0, side*qrModule, side*qrModule))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, side, side, side, side)
	for y, row := range mw.dark {
		for x, dark := range row {
			if !dark {
				continue
			}
			fmt.Fprintf(&svg, "M%d %dh1v1h-1z", x+qrQuiet, y+qrQuiet)
			for dy := range qrModule {
				for dx := range qrModule {
					img.SetGray((x+qrQuiet)*qrModule+dx, (y+qrQuiet)*qrModule+dy, color.Gray{})
				}
			}
		}
	}
	svg.WriteString(`"/></svg>`)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding QR PNG: %w", err)
	}
	return &QR{PNG: buf.Bytes(), SVG: svg.String()}, nil
}
