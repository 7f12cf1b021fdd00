// Package inflatetest compresses test data the way the passes' issuers do
// (best compression), for the tests of internal/inflate, internal/dcc and
// internal/shc. It is imported only from tests.
package inflatetest

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"io"
	"testing"
)

// Zlib returns b as a zlib stream (the EU DCC's compression).
func Zlib(t testing.TB, b []byte) []byte {
	t.Helper()
	return compress(t, b, func(w io.Writer) (io.WriteCloser, error) { return zlib.NewWriterLevel(w, zlib.BestCompression) })
}

// Raw returns b as a raw DEFLATE stream (the SMART Health Card's).
func Raw(t testing.TB, b []byte) []byte {
	t.Helper()
	return compress(t, b, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
}

func compress(t testing.TB, b []byte, newWriter func(io.Writer) (io.WriteCloser, error)) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
