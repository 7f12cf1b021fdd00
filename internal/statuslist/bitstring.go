package statuslist

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"

	"github.com/ssi-project/ssi/internal/errs"
)

// MinBitstringEntries is the herd-privacy minimum of the W3C Bitstring
// Status List (131,072 entries, 16 KB at one bit per entry).
const MinBitstringEntries = 131072

// ErrListTooShort is a W3C bitstring with fewer entries than the minimum
// (STATUS_LIST_LENGTH_ERROR).
var ErrListTooShort = errs.E(errs.Invalid, "status_list_too_short", "the status list is shorter than the privacy minimum")

// Bitstring is a decoded W3C Bitstring Status List (`encodedList` of a
// BitstringStatusListCredential). Unlike the Token Status List, index 0 is
// the left-most (most significant) bit of the first byte, and an entry of
// statusSize bits starts at bit idx*statusSize, read most significant bit
// first. This is a reader only: ssi issues Token Status Lists.
type Bitstring struct {
	size int
	data []byte
}

// DecodeBitstring decodes an encodedList: multibase base64url without
// padding ("u" prefix) of a single GZIP member, inflating at most maxBytes
// (DefaultMaxBytes when <= 0). statusSize must be 1 to 8 (ErrInvalidBits).
// A list with fewer than minEntries entries (MinBitstringEntries when <= 0)
// is ErrListTooShort; a bomb is ErrListTooLarge; any other malformation is
// ErrInvalidList. The proof of the credential around it is the caller's to
// verify.
func DecodeBitstring(encodedList string, statusSize, minEntries, maxBytes int) (*Bitstring, error) {
	if statusSize < 1 || statusSize > 8 {
		return nil, ErrInvalidBits.With("statusSize must be 1 to 8", nil)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if minEntries <= 0 {
		minEntries = MinBitstringEntries
	}
	rest, ok := bytes.CutPrefix([]byte(encodedList), []byte("u"))
	if !ok {
		return nil, ErrInvalidList.With("encodedList is not multibase base64url", nil)
	}
	if base64.RawURLEncoding.DecodedLen(len(rest)) > maxBytes+1024 {
		return nil, ErrListTooLarge.With("the encoded status list is too long", nil)
	}
	comp := make([]byte, base64.RawURLEncoding.DecodedLen(len(rest)))
	n, err := base64.RawURLEncoding.Strict().Decode(comp, rest)
	if err != nil {
		return nil, ErrInvalidList.With("encodedList is not base64url without padding", err)
	}
	br := bytes.NewReader(comp[:n])
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, ErrInvalidList.With("encodedList is not GZIP", err)
	}
	defer zr.Close()
	zr.Multistream(false)
	data, err := readCapped(zr, br, maxBytes)
	if err != nil {
		return nil, err
	}
	b := &Bitstring{size: statusSize, data: data}
	if b.Len() < minEntries {
		return nil, ErrListTooShort
	}
	return b, nil
}

// Len returns the number of entries.
func (b *Bitstring) Len() int { return len(b.data) * 8 / b.size }

// StatusSize returns the number of bits per entry.
func (b *Bitstring) StatusSize() int { return b.size }

// Get returns the status at idx (RANGE_ERROR → ErrIndexRange).
func (b *Bitstring) Get(idx int) (uint8, error) {
	if idx < 0 || idx >= b.Len() {
		return 0, ErrIndexRange
	}
	var v uint8
	for p := idx * b.size; p < (idx+1)*b.size; p++ {
		v = v<<1 | (b.data[p/8]>>(7-p%8))&1
	}
	return v, nil
}

// EncodeBitstring is the inverse of DecodeBitstring for an uncompressed
// bitstring, for tests and tools.
func EncodeBitstring(raw []byte) (string, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "compressing the bitstring", err)
	}
	if _, err := w.Write(raw); err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "compressing the bitstring", err)
	}
	if err := w.Close(); err != nil {
		return "", errs.Wrap(errs.Internal, "internal", "compressing the bitstring", err)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}
