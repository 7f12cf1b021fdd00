// Package inflate decompresses untrusted zlib (RFC 1950) and raw DEFLATE
// (RFC 1951) streams with a cap on the output: the EU DCC's zlib and the
// SMART Health Card's raw DEFLATE. It reuses inflaters (a new one
// allocates its 32 KiB window, which costs more than inflating a pass),
// sizes the output once from the input, and insists on exactly one
// complete stream with nothing after it.
//
// Its errors are plain sentinels for the caller to map to its own codes;
// it must never inflate past the cap, read the clock, or import HTTP or
// SQL (it builds for GOOS=js GOARCH=wasm).
package inflate

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"io"
	"sync"
)

var (
	// ErrTooLarge: the stream inflates past the limit.
	ErrTooLarge = errors.New("the stream inflates past the limit")
	// ErrCorrupt: not one complete stream (bad header, bad data, a bad
	// checksum, truncation), or bytes after it.
	ErrCorrupt = errors.New("not one complete compressed stream")
)

var zlibReaders, flateReaders sync.Pool

// Zlib inflates one zlib stream of at most limit bytes.
func Zlib(b []byte, limit int) ([]byte, error) {
	src := bytes.NewReader(b)
	r, ok := zlibReaders.Get().(io.ReadCloser)
	if ok {
		if err := r.(zlib.Resetter).Reset(src, nil); err != nil {
			zlibReaders.Put(r)
			return nil, errors.Join(ErrCorrupt, err)
		}
	} else {
		var err error
		if r, err = zlib.NewReader(src); err != nil {
			return nil, errors.Join(ErrCorrupt, err)
		}
	}
	defer zlibReaders.Put(r)
	return read(r, src, len(b), limit)
}

// Raw inflates one raw DEFLATE stream of at most limit bytes.
func Raw(b []byte, limit int) ([]byte, error) {
	src := bytes.NewReader(b)
	r, ok := flateReaders.Get().(io.ReadCloser)
	if ok {
		if err := r.(flate.Resetter).Reset(src, nil); err != nil {
			return nil, errors.Join(ErrCorrupt, err)
		}
	} else {
		r = flate.NewReader(src)
	}
	defer flateReaders.Put(r)
	return read(r, src, len(b), limit)
}

// read reads r to its end into one buffer sized for a typical ratio, up
// to limit bytes, and checks that src (an io.ByteReader, so the inflater
// reads no byte past its stream) has nothing left.
func read(r io.ReadCloser, src *bytes.Reader, n, limit int) ([]byte, error) {
	out := make([]byte, 0, min(3*n+512, limit+1))
	for {
		if len(out) == cap(out) {
			if len(out) > limit {
				return nil, ErrTooLarge
			}
			out = append(out, 0)[:len(out)] // let append pick the growth
		}
		k, err := r.Read(out[len(out):min(cap(out), limit+1)])
		out = out[:len(out)+k]
		if len(out) > limit {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errors.Join(ErrCorrupt, err)
		}
	}
	if err := r.Close(); err != nil { // zlib: the checksum
		return nil, errors.Join(ErrCorrupt, err)
	}
	if src.Len() != 0 {
		return nil, ErrCorrupt
	}
	return out, nil
}
