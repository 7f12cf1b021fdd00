package qr

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/ssi-project/ssi/internal/sdjwt"
)

// The envelope, version 1 (docs/offline-qr.md is its specification):
//
//	text   = Prefix Base45( rawDEFLATE( frame ) )
//	frame  = flags  uvarint(n)  part(issuer header) part(issuer payload)
//	         part(issuer signature)  n × part(disclosure)
//	         [ part(KB header) part(KB payload) part(KB signature) ]
//	part   = uvarint(len ≥ 1)  the base64url-decoded bytes
//	flags  = 0x00 (no KB-JWT) or 0x01 (a KB-JWT follows)
//
// uvarints are unsigned LEB128 in their shortest form.
const (
	// Prefix starts every version-1 envelope text. It is in the QR
	// alphanumeric set, like the Base45 that follows.
	Prefix = prefixName + "1:"
	// MaxTextSize is the most characters a QR code holds in alphanumeric
	// mode (version 40, level L); no longer text is ever decoded.
	MaxTextSize = 4296
	// MaxFramedSize caps the framed presentation, before deflate when
	// encoding and as inflated when decoding. The longest text carries
	// 2,860 deflated bytes, which real presentations inflate to less than
	// twice as many; 32 KiB is over ten times that, and inflating stops
	// there.
	MaxFramedSize = 32 << 10
)

const (
	prefixName = "SSI"
	flagKB     = 0x01
	// maxVarint is the longest uvarint a part length below MaxFramedSize
	// needs (3 bytes reach 2^21).
	maxVarint = 3
)

var b64 = base64.RawURLEncoding.Strict()

// EncodeEnvelope returns the version-1 envelope text of the compact SD-JWT
// or SD-JWT+KB s (issuer-signed JWT ~ disclosures ~ [KB-JWT]).
//
// DecodeEnvelope of the result returns s byte for byte. To guarantee that,
// EncodeEnvelope refuses every part whose base64url text does not come
// back unchanged from decoding and re-encoding (padding, line breaks,
// non-zero trailing bits, characters outside the alphabet):
// qr_non_canonical_base64url. A string that is not an SD-JWT shape is
// sdjwt's malformed_sd_jwt or malformed_disclosure, more than
// sdjwt.MaxDisclosures disclosures too_many_disclosures, an input over
// sdjwt.DefaultMaxSize jose's token_too_large, a frame over
// MaxFramedSize qr_envelope_too_large, and a text over MaxTextSize
// qr_text_too_long: it never returns a text that DecodeEnvelope refuses.
func EncodeEnvelope(s string) (string, error) {
	framed, err := frame(s)
	if err != nil {
		return "", err
	}
	text := Prefix + base45Encode(deflate(framed))
	if len(text) > MaxTextSize {
		return "", ErrTextTooLong
	}
	return text, nil
}

// DecodeEnvelope returns the compact SD-JWT or SD-JWT+KB carried by the
// envelope text, byte-exact as it was given to EncodeEnvelope. It checks,
// in order: the length (qr_text_too_long, before anything is allocated),
// the prefix (qr_unknown_prefix; another version of ours is
// qr_unsupported_version), Base45 (qr_invalid_base45), the DEFLATE stream
// (qr_invalid_deflate: corrupt, incomplete or followed by more bytes),
// the inflated size (qr_envelope_too_large, inflation stops at
// MaxFramedSize), and the framing (qr_malformed_envelope, or
// too_many_disclosures over sdjwt.MaxDisclosures).
//
// The text is taken as is: a scanner's trailing CR or LF is the caller's
// to strip (a space is a Base45 character). The result is only
// well-formed, not verified: the caller verifies it with internal/sdjwt
// like any presentation.
func DecodeEnvelope(text string) (string, error) {
	if len(text) > MaxTextSize {
		return "", ErrTextTooLong
	}
	body, ok := strings.CutPrefix(text, Prefix)
	if !ok {
		if isOurPrefix(text) {
			return "", ErrUnsupportedVersion
		}
		return "", ErrUnknownPrefix
	}
	deflated, err := base45Decode(body)
	if err != nil {
		return "", err
	}
	framed, err := inflate(deflated)
	if err != nil {
		return "", err
	}
	return unframe(framed)
}

// isOurPrefix reports whether text starts with "SSI", one or more digits
// and ":": a version of this envelope other than the one Prefix names.
func isOurPrefix(text string) bool {
	rest, ok := strings.CutPrefix(text, prefixName)
	if !ok {
		return false
	}
	digits := 0
	for digits < len(rest) && digits < 9 && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	return digits > 0 && digits < len(rest) && rest[digits] == ':'
}

// frame splits s into its parts, decodes each, and frames them.
func frame(s string) ([]byte, error) {
	p, err := sdjwt.Split(s, 0)
	if err != nil {
		return nil, err
	}
	issuer, err := jwsParts(p.IssuerJWT)
	if err != nil {
		return nil, err
	}
	parts := append(issuer, p.Disclosures...)
	flags := byte(0)
	if p.KBJWT != "" {
		kb, err := jwsParts(p.KBJWT)
		if err != nil {
			return nil, err
		}
		parts = append(parts, kb...)
		flags = flagKB
	}
	out := make([]byte, 0, len(s))
	out = append(out, flags)
	out = binary.AppendUvarint(out, uint64(len(p.Disclosures)))
	for _, part := range parts {
		n := b64.DecodedLen(len(part))
		out = binary.AppendUvarint(out, uint64(n))
		if len(out)+n > MaxFramedSize {
			return nil, ErrEnvelopeTooLarge
		}
		at := len(out)
		out = slices.Grow(out, n)[:at+n]
		if k, err := b64.Decode(out[at:], []byte(part)); err != nil || k != n || b64.EncodeToString(out[at:]) != part {
			return nil, ErrNonCanonical
		}
	}
	return out, nil
}

// jwsParts splits a compact JWS into its three base64url parts, none
// empty.
func jwsParts(jws string) ([]string, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return nil, sdjwt.ErrMalformed.With("a JWT of the SD-JWT is not a compact JWS with three non-empty parts", nil)
	}
	return parts, nil
}

// deflate compresses b as raw DEFLATE at the best compression, with the
// preset dictionary.
func deflate(b []byte) []byte {
	var buf bytes.Buffer
	// Nothing here fails: the level is valid and a bytes.Buffer takes
	// every write.
	w, _ := flate.NewWriterDict(&buf, flate.BestCompression, dictionary)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// inflate decompresses one complete raw DEFLATE stream made with the
// preset dictionary, reading at most
// MaxFramedSize+1 bytes of output, and refuses bytes after its end.
func inflate(b []byte) ([]byte, error) {
	src := bytes.NewReader(b) // an io.ByteReader: flate reads no byte past the stream
	r := flate.NewReaderDict(src, dictionary)
	out, err := io.ReadAll(io.LimitReader(r, MaxFramedSize+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrInvalidDeflate.With("the DEFLATE stream is incomplete", nil)
		}
		return nil, ErrInvalidDeflate.With("the DEFLATE stream is corrupt", nil)
	}
	if len(out) > MaxFramedSize {
		return nil, ErrEnvelopeTooLarge
	}
	if src.Len() != 0 {
		return nil, ErrInvalidDeflate.With("bytes follow the DEFLATE stream", nil)
	}
	return out, nil
}

// unframe parses a frame and rebuilds the compact string from it.
func unframe(f []byte) (string, error) {
	if len(f) == 0 || f[0]&^flagKB != 0 {
		return "", ErrMalformedEnvelope.With("the flags byte is missing or has reserved bits set", nil)
	}
	kb := f[0]&flagKB != 0
	f = f[1:]
	n, err := uvarint(&f)
	if err != nil {
		return "", err
	}
	if n > sdjwt.MaxDisclosures {
		return "", errTooManyDisclosures
	}
	count := 3 + int(n)
	if kb {
		count += 3
	}
	// The compact text is 4/3 of the frame plus the separators.
	var sb strings.Builder
	sb.Grow(len(f)/3*4 + 4*count)
	for i := range count {
		size, err := uvarint(&f)
		if err != nil {
			return "", err
		}
		if size == 0 || size > uint64(len(f)) {
			return "", ErrMalformedEnvelope.With("a part is empty or runs past the end", nil)
		}
		switch {
		case i == 1 || i == 2 || (kb && (i == count-2 || i == count-1)):
			sb.WriteByte('.')
		case i > 0:
			sb.WriteByte('~')
		}
		sb.WriteString(b64.EncodeToString(f[:size]))
		f = f[size:]
	}
	if len(f) != 0 {
		return "", ErrMalformedEnvelope.With("bytes follow the last part", nil)
	}
	if !kb {
		sb.WriteByte('~')
	}
	return sb.String(), nil
}

// uvarint reads a shortest-form uvarint of at most maxVarint bytes from
// the front of *f.
func uvarint(f *[]byte) (uint64, error) {
	v, k := binary.Uvarint(*f)
	if k <= 0 || k > maxVarint {
		return 0, ErrMalformedEnvelope.With("a length is truncated or too long", nil)
	}
	if k > 1 && (*f)[k-1] == 0 {
		return 0, ErrMalformedEnvelope.With("a length is not in its shortest form", nil)
	}
	*f = (*f)[k:]
	return v, nil
}
