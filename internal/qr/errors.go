package qr

import (
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// Stable error codes, one per refusal class (docs/offline-qr.md lists
// them). A disclosure count over sdjwt.MaxDisclosures keeps sdjwt's
// too_many_disclosures, so the verifier reports it the same way online and
// offline. No detail quotes the input.
var (
	// ErrUnknownPrefix: the text is not an offline presentation at all.
	ErrUnknownPrefix = errs.E(errs.Invalid, "qr_unknown_prefix", "the QR code is not an ssi offline presentation")
	// ErrUnsupportedVersion: the prefix is ours, with a version this
	// decoder does not read.
	ErrUnsupportedVersion = errs.E(errs.Invalid, "qr_unsupported_version", "the offline presentation uses an unsupported envelope version")
	// ErrTextTooLong: longer than any QR code holds in alphanumeric mode.
	ErrTextTooLong = errs.E(errs.Invalid, "qr_text_too_long", "the offline presentation is longer than a QR code holds")
	// ErrInvalidBase45: not valid Base45 (RFC 9285 §4). A dangling
	// character has this code; a character outside the alphabet and a
	// group over its range have their own (below), with this one as
	// their cause, so errors.Is(err, ErrInvalidBase45) holds for all.
	ErrInvalidBase45 = errs.E(errs.Invalid, "qr_invalid_base45", "the offline presentation is not valid Base45")
	// ErrBase45Character: a character outside the Base45 alphabet (its
	// cause is ErrInvalidBase45, the class).
	ErrBase45Character = errs.E(errs.Invalid, "qr_base45_character", "the text has a character outside the Base45 alphabet")
	// ErrBase45Overflow: a triplet over 65535 or a final pair over 255
	// (its cause is ErrInvalidBase45, the class).
	ErrBase45Overflow = errs.E(errs.Invalid, "qr_base45_overflow", "a Base45 group is over its range")
	// ErrInvalidDeflate: not one complete raw DEFLATE stream.
	ErrInvalidDeflate = errs.E(errs.Invalid, "qr_invalid_deflate", "the offline presentation does not inflate")
	// ErrEnvelopeTooLarge: the framed presentation is over MaxFramedSize,
	// as sent (encoding) or as inflated (decoding, where the inflation
	// stops at the cap).
	ErrEnvelopeTooLarge = errs.E(errs.Invalid, "qr_envelope_too_large", "the offline presentation is too large")
	// ErrMalformedEnvelope: the framing is broken (flags, lengths,
	// truncation, empty parts, trailing bytes).
	ErrMalformedEnvelope = errs.E(errs.Invalid, "qr_malformed_envelope", "the offline presentation is malformed")
	// ErrNonCanonical: a part of the SD-JWT is base64url that decodes but
	// does not re-encode to the same text (padding, line breaks, non-zero
	// trailing bits), so the envelope could not give it back byte-exact.
	ErrNonCanonical = errs.E(errs.Invalid, "qr_non_canonical_base64url", "a part of the SD-JWT is not canonical unpadded base64url")
	// ErrNotAlphanumeric: text for an alphanumeric QR segment has a
	// character outside 0-9 A-Z space $ % * + - . / :.
	ErrNotAlphanumeric = errs.E(errs.Invalid, "qr_not_alphanumeric", "the text has a character that QR alphanumeric mode cannot hold")
	// ErrDataTooLong: the text does not fit a version-40 symbol at the
	// level asked for.
	ErrDataTooLong = errs.E(errs.Invalid, "qr_data_too_long", "the text does not fit in a QR code")
)

// errTooManyDisclosures is sdjwt's sentinel (one code, one sentinel).
var errTooManyDisclosures = sdjwt.ErrTooManyDisclosures
