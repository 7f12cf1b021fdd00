package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/ssi-project/ssi/internal/errs"
)

// Status values registered by the draft (§7.1). 0x03 and 0x0C–0x0F are
// application specific.
const (
	Valid     uint8 = 0x00
	Invalid   uint8 = 0x01
	Suspended uint8 = 0x02
)

// DefaultMaxBytes caps the inflated size of a decoded list (4 MiB: 2^25
// one-bit entries, 2^22 eight-bit entries), so a zlib bomb costs at most
// this much memory.
const DefaultMaxBytes = 4 << 20

// Errors of list handling.
var (
	ErrInvalidList   = errs.E(errs.Invalid, "invalid_status_list", "the status list is malformed")
	ErrListTooLarge  = errs.E(errs.Invalid, "status_list_too_large", "the status list inflates beyond the size limit")
	ErrIndexRange    = errs.E(errs.Invalid, "status_index_out_of_range", "the status index is outside the list")
	ErrInvalidBits   = errs.E(errs.Invalid, "invalid_status_bits", "bits must be 1, 2, 4 or 8")
	ErrInvalidStatus = errs.E(errs.Invalid, "invalid_status_value", "the status value does not fit the list's bits")
)

// List is an uncompressed status list: entries of Bits() bits packed from
// the least significant bit of each byte (draft-20 §4.1). A List is not safe
// for concurrent mutation; callers that share one guard it.
type List struct {
	bits int
	data []byte
}

func validBits(bits int) bool { return bits == 1 || bits == 2 || bits == 4 || bits == 8 }

// New returns a list of at least size entries, all Valid. bits must be 1,
// 2, 4 or 8 (ErrInvalidBits); size must be positive and its byte array at
// most DefaultMaxBytes (ErrInvalidList). The byte array is rounded up to
// whole bytes, so Len may exceed size by less than one byte's worth.
func New(bits, size int) (*List, error) {
	if !validBits(bits) {
		return nil, ErrInvalidBits
	}
	if size <= 0 || size > DefaultMaxBytes*(8/bits) {
		return nil, ErrInvalidList.With("the list size is out of range", nil)
	}
	return &List{bits: bits, data: make([]byte, (size*bits+7)/8)}, nil
}

// FromBytes wraps an uncompressed byte array (copied) as a list.
func FromBytes(bits int, b []byte) (*List, error) {
	if !validBits(bits) {
		return nil, ErrInvalidBits
	}
	if len(b) == 0 {
		return nil, ErrInvalidList.With("the status list is empty", nil)
	}
	return &List{bits: bits, data: bytes.Clone(b)}, nil
}

// Bits returns the number of bits per entry.
func (l *List) Bits() int { return l.bits }

// Len returns the number of entries the byte array holds.
func (l *List) Len() int { return len(l.data) * 8 / l.bits }

// Bytes returns a copy of the uncompressed byte array.
func (l *List) Bytes() []byte { return bytes.Clone(l.data) }

// Get returns the status at idx. An idx outside [0, Len()) is ErrIndexRange:
// no statement can be made about such a token (draft-20 §8.3).
func (l *List) Get(idx int) (uint8, error) {
	if idx < 0 || idx >= l.Len() {
		return 0, ErrIndexRange
	}
	per := 8 / l.bits
	shift := uint(idx%per) * uint(l.bits)
	mask := byte(1<<l.bits - 1)
	return (l.data[idx/per] >> shift) & mask, nil
}

// Set stores v at idx. An idx out of range is ErrIndexRange; a v that does
// not fit in Bits() bits is ErrInvalidStatus.
func (l *List) Set(idx int, v uint8) error {
	if idx < 0 || idx >= l.Len() {
		return ErrIndexRange
	}
	mask := byte(1<<l.bits - 1)
	if v&^mask != 0 {
		return ErrInvalidStatus
	}
	per := 8 / l.bits
	shift := uint(idx%per) * uint(l.bits)
	b := &l.data[idx/per]
	*b = *b&^(mask<<shift) | v<<shift
	return nil
}

// Compress returns the ZLIB (RFC 1950) stream of the byte array, at the best
// compression level as the draft recommends.
func (l *List) Compress() ([]byte, error) {
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "compressing the status list", err)
	}
	if _, err := w.Write(l.data); err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "compressing the status list", err)
	}
	if err := w.Close(); err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "compressing the status list", err)
	}
	return buf.Bytes(), nil
}

// Encode returns the `lst` value: base64url (no padding) of Compress.
func (l *List) Encode() (string, error) {
	c, err := l.Compress()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(c), nil
}

// Decode parses a `lst` value with the given bits, inflating at most
// maxBytes (DefaultMaxBytes when maxBytes <= 0). Outcomes: ErrInvalidBits
// for bits outside {1,2,4,8}; ErrListTooLarge when the input or its
// inflation exceeds the cap (reading stops at the cap); ErrInvalidList for
// bad base64url, a bad zlib stream or checksum, trailing bytes after the
// stream, or an empty list. It never panics.
func Decode(bits int, lst string, maxBytes int) (*List, error) {
	if !validBits(bits) {
		return nil, ErrInvalidBits
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	// A zlib stream of n bytes is never much larger than n, so an encoded
	// value far over the cap is refused before decoding it.
	if base64.RawURLEncoding.DecodedLen(len(lst)) > maxBytes+1024 {
		return nil, ErrListTooLarge.With("the encoded status list is too long", nil)
	}
	comp, err := base64.RawURLEncoding.Strict().DecodeString(lst)
	if err != nil {
		return nil, ErrInvalidList.With("lst is not base64url without padding", err)
	}
	data, err := Inflate(comp, maxBytes)
	if err != nil {
		return nil, err
	}
	return &List{bits: bits, data: data}, nil
}

// Inflate decompresses a ZLIB stream of at most maxBytes inflated bytes; see
// Decode for the outcomes.
func Inflate(comp []byte, maxBytes int) ([]byte, error) {
	br := bytes.NewReader(comp)
	zr, err := zlib.NewReader(br)
	if err != nil {
		return nil, ErrInvalidList.With("the list is not a zlib stream", err)
	}
	defer zr.Close()
	return readCapped(zr, br, maxBytes)
}

// readCapped reads a decompressor to its end, stopping one byte past
// maxBytes, then checks that the compressed input was consumed exactly.
func readCapped(r io.Reader, src *bytes.Reader, maxBytes int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	if len(data) > maxBytes {
		return nil, ErrListTooLarge.With(fmt.Sprintf("the status list inflates beyond %d bytes", maxBytes), nil)
	}
	if err != nil {
		return nil, ErrInvalidList.With("the compressed stream is corrupt", err)
	}
	if src.Len() != 0 {
		return nil, ErrInvalidList.With("there are bytes after the compressed stream", nil)
	}
	if len(data) == 0 {
		return nil, ErrInvalidList.With("the status list is empty", nil)
	}
	return data, nil
}
