package webtest

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"os"
)

// WriteY4M writes a Y4M video (YUV4MPEG2, 4:2:0, full-range BT.601, as
// Chromium's fake capture device reads it, 10 frames a second) of frames
// identical frames of width × height pixels (even numbers): img scaled by
// a whole factor (nearest neighbour, so that QR modules stay sharp) to fit
// 80 % of the frame, centred on white. Chromium loops the file, so the
// camera shows img for as long as the test runs.
func WriteY4M(path string, img image.Image, width, height, frames int) error {
	if frames < 1 {
		return fmt.Errorf("y4m: frames must be at least 1")
	}
	seq := make([]image.Image, frames)
	for i := range seq {
		seq[i] = img
	}
	return WriteY4MFrames(path, seq, width, height)
}

// WriteY4MFrames is WriteY4M with one image a frame; a nil image is a
// blank (white) frame, so that a test can show the camera nothing first
// and then a QR code, and time what follows its entering the frame.
func WriteY4MFrames(path string, frames []image.Image, width, height int) error {
	if width <= 0 || height <= 0 || width%2 != 0 || height%2 != 0 || len(frames) < 1 {
		return fmt.Errorf("y4m: width and height must be positive and even, frames at least 1")
	}
	planes := map[image.Image][]byte{}
	for _, img := range frames {
		if _, ok := planes[img]; ok {
			continue
		}
		y, err := lumaPlane(img, width, height)
		if err != nil {
			return err
		}
		planes[img] = y
	}
	chroma := make([]byte, width/2*height/2)
	for i := range chroma {
		chroma[i] = 128 // no colour
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", width, height)
	for _, img := range frames {
		w.WriteString("FRAME\n")
		w.Write(planes[img])
		w.Write(chroma) // U
		w.Write(chroma) // V
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lumaPlane is the Y plane of one frame: img (nil: nothing) scaled and
// centred on white.
func lumaPlane(img image.Image, width, height int) ([]byte, error) {
	y := make([]byte, width*height)
	for i := range y {
		y[i] = 255
	}
	if img == nil {
		return y, nil
	}
	src := img.Bounds()
	scale := min(width*8/10/max(src.Dx(), 1), height*8/10/max(src.Dy(), 1))
	if scale < 1 {
		return nil, fmt.Errorf("y4m: a %dx%d image does not fit a %dx%d frame", src.Dx(), src.Dy(), width, height)
	}
	ox, oy := (width-src.Dx()*scale)/2, (height-src.Dy()*scale)/2
	for py := 0; py < src.Dy()*scale; py++ {
		for px := 0; px < src.Dx()*scale; px++ {
			g := color.GrayModel.Convert(img.At(src.Min.X+px/scale, src.Min.Y+py/scale)).(color.Gray)
			y[(oy+py)*width+ox+px] = g.Y
		}
	}
	return y, nil
}

// SymbolImage renders a QR symbol of size × size modules (dark reports a
// module) at px pixels a module with the 4-module quiet zone, for a
// camera frame whose resolution the test chooses.
func SymbolImage(size int, dark func(x, y int) bool, px int) *image.Gray {
	side := (size + 8) * px
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := range size {
		for x := range size {
			if !dark(x, y) {
				continue
			}
			for dy := range px {
				for dx := range px {
					img.Pix[((y+4)*px+dy)*side+(x+4)*px+dx] = 0
				}
			}
		}
	}
	return img
}
