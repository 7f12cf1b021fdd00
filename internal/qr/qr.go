package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	goqr "github.com/piglig/go-qr"

	"github.com/ssi-project/ssi/internal/errs"
)

// Level is a QR error-correction level (ISO/IEC 18004): about 7 % (L),
// 15 % (M), 25 % (Q) or 30 % (H) of the codewords can be restored.
type Level int

// The four levels.
const (
	L Level = iota
	M
	Q
	H
)

func (l Level) String() string {
	if l >= L && l <= H {
		return "LMQH"[l : l+1]
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// Mode is the mode of a symbol's single segment.
type Mode int

const (
	// Byte holds any bytes, 8 bits a character.
	Byte Mode = iota
	// Alphanumeric holds 0-9 A-Z space $ % * + - . / : only, 5.5 bits a
	// character: the mode of the offline envelope (Base45 uses exactly
	// this set).
	Alphanumeric
)

// Rendering: the size of one module in the PNG, in pixels, and the quiet
// zone around the symbol, in modules (ISO/IEC 18004 asks for 4).
const (
	ModulePixels = 6
	QuietZone    = 4
)

// Symbol is an encoded QR code: one segment of the mode asked for, at
// exactly the level asked for (never raised), in the smallest version
// that holds it.
type Symbol struct {
	code  *goqr.QrCode
	level Level
}

// Encode encodes text as one segment of mode at level. Text that
// Alphanumeric mode cannot hold is qr_not_alphanumeric; text that fits no
// version up to 40 is qr_data_too_long.
func Encode(text string, mode Mode, level Level) (*Symbol, error) {
	if level < L || level > H {
		return nil, errs.E(errs.Internal, "internal", "unknown QR error-correction level")
	}
	var seg *goqr.QrSegment
	var err error
	switch mode {
	case Byte:
		seg, err = goqr.MakeBytes([]byte(text))
	case Alphanumeric:
		seg, err = goqr.MakeAlphanumeric(text)
	default:
		return nil, errs.E(errs.Internal, "internal", "unknown QR mode")
	}
	if errors.Is(err, goqr.ErrUnencodableChar) {
		return nil, ErrNotAlphanumeric
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "encoding a QR segment", err)
	}
	// Levels are in the same order in go-qr; the level is not boosted, so
	// the version reported is the one for the level asked for.
	code, err := goqr.EncodeSegments([]*goqr.QrSegment{seg}, goqr.Ecc(level), goqr.MinVersion, goqr.MaxVersion, -1, false)
	if errors.Is(err, goqr.ErrDataTooLong) {
		return nil, ErrDataTooLong
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "encoding a QR code", err)
	}
	return &Symbol{code: code, level: level}, nil
}

// EncodeURI encodes a link (a credential offer, an authorization request)
// as one byte segment at level Q, the choice for links shown on a screen
// or printed: the URIs are short, so the symbol stays small with a quarter
// of it restorable.
func EncodeURI(uri string) (*Symbol, error) { return Encode(uri, Byte, Q) }

// EncodeOffline encodes an envelope text (EncodeEnvelope) as one
// alphanumeric segment at level L, the level whose version the offline
// budget (version 22) is measured at.
func EncodeOffline(text string) (*Symbol, error) { return Encode(text, Alphanumeric, L) }

// OfflineVersion returns the version of the QR code that holds the
// envelope text in one alphanumeric segment at level, with Encode's
// errors.
func OfflineVersion(text string, level Level) (int, error) {
	s, err := Encode(text, Alphanumeric, level)
	if err != nil {
		return 0, err
	}
	return s.Version(), nil
}

// Version is the symbol's version, 1 to 40.
func (s *Symbol) Version() int { return (s.code.Size() - 17) / 4 }

// Level is the symbol's error-correction level.
func (s *Symbol) Level() Level { return s.level }

// Size is the symbol's side in modules, without the quiet zone.
func (s *Symbol) Size() int { return s.code.Size() }

// Dark reports whether the module at (x, y) is dark; outside the symbol
// it is light.
func (s *Symbol) Dark(x, y int) bool { return s.code.Module(x, y) }

// Image renders the symbol in grey, ModulePixels a module, with the quiet
// zone.
func (s *Symbol) Image() *image.Gray {
	side := (s.Size() + 2*QuietZone) * ModulePixels
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := range s.Size() {
		for x := range s.Size() {
			if !s.Dark(x, y) {
				continue
			}
			for dy := range ModulePixels {
				for dx := range ModulePixels {
					img.SetGray((x+QuietZone)*ModulePixels+dx, (y+QuietZone)*ModulePixels+dy, color.Gray{})
				}
			}
		}
	}
	return img
}

// PNG renders the symbol as a PNG (Image).
func (s *Symbol) PNG() ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, s.Image()); err != nil {
		return nil, fmt.Errorf("encoding QR PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG renders the symbol as an SVG whose user unit is one module,
// with the quiet zone.
func (s *Symbol) SVG() string {
	side := s.Size() + 2*QuietZone
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, side, side, side, side)
	for y := range s.Size() {
		for x := range s.Size() {
			if s.Dark(x, y) {
				fmt.Fprintf(&svg, "M%d %dh1v1h-1z", x+QuietZone, y+QuietZone)
			}
		}
	}
	svg.WriteString(`"/></svg>`)
	return svg.String()
}
