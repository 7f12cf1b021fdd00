package shc

import "github.com/ssi-project/ssi/internal/errs"

// Stable error codes, one per refusal (docs/passes.md lists them). No
// detail quotes the input.
var (
	// ErrPrefix: the text does not start with "shc:/".
	ErrPrefix = errs.E(errs.Invalid, "shc_wrong_prefix", "the text is not a SMART Health Card (no shc:/ prefix)")
	// ErrChunked: the deprecated multi-QR form shc:/C/N/….
	ErrChunked = errs.E(errs.Invalid, "shc_chunked", "chunked SMART Health Card QR codes (shc:/C/N/…) are not accepted")
	// ErrNumeric: an odd number of digits, a non-digit, or a pair over 77.
	ErrNumeric = errs.E(errs.Invalid, "shc_bad_numeric", "the SMART Health Card's numeric text is malformed")
	// ErrTooLarge: the text, or the inflated payload, is over its cap.
	ErrTooLarge = errs.E(errs.Invalid, "shc_too_large", "the SMART Health Card is too large")
	// ErrJWS: not a compact JWS: three base64url parts, a JSON header, a
	// 64-byte signature.
	ErrJWS = errs.E(errs.Invalid, "shc_malformed_jws", "the SMART Health Card is not a well-formed compact JWS")
	// ErrHeader: alg other than ES256, zip other than DEF, no kid, or a
	// crit.
	ErrHeader = errs.E(errs.Invalid, "shc_unsupported_header", "the SMART Health Card's JWS header is not ES256 with zip DEF and a kid")
	// ErrDeflate: the payload is not one complete raw DEFLATE stream.
	ErrDeflate = errs.E(errs.Invalid, "shc_bad_deflate", "the SMART Health Card's payload does not inflate")
	// ErrPayload: the inflated payload is not the JSON of a health card
	// (iss, nbf, vc with a FHIR bundle holding a Patient).
	ErrPayload = errs.E(errs.Invalid, "shc_bad_payload", "the SMART Health Card's payload is malformed")
	// ErrUnknownIssuer: the iss is not a trusted issuer.
	ErrUnknownIssuer = errs.E(errs.Invalid, "shc_unknown_issuer", "the SMART Health Card's issuer is not trusted")
	// ErrUnknownKey: the issuer is trusted but has no key with the kid.
	ErrUnknownKey = errs.E(errs.Invalid, "shc_unknown_key", "the SMART Health Card's key is not one of its issuer's")
	// ErrSignature: the signature does not verify with the issuer's key.
	ErrSignature = errs.E(errs.Invalid, "shc_bad_signature", "the SMART Health Card's signature does not verify")
	// ErrNotYetValid: the verification time is before nbf.
	ErrNotYetValid = errs.E(errs.Invalid, "shc_not_yet_valid", "the SMART Health Card is not yet valid")
	// ErrExpired: the verification time is after exp.
	ErrExpired = errs.E(errs.Invalid, "shc_expired", "the SMART Health Card has expired")
	// ErrRevoked: the card's rid is on its key's revocation list.
	ErrRevoked = errs.E(errs.Invalid, "shc_revoked", "the SMART Health Card has been revoked")
	// ErrNoCRL: the key has a crlVersion and the trust holds no list for
	// it, or only an older one, so revocation cannot be checked.
	ErrNoCRL = errs.E(errs.Invalid, "shc_crl_unavailable", "the SMART Health Card's revocation list is not available")
	// ErrTrust: a directory, JWKS or CRL file is malformed.
	ErrTrust = errs.E(errs.Invalid, "shc_bad_trust", "the SMART Health Card trust configuration is malformed")
)
