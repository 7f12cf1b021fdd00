package dcc

import "github.com/ssi-project/ssi/internal/errs"

// Stable error codes, one per refusal (docs/passes.md lists them). The
// Base45 refusals keep internal/qr's codes (qr_base45_character,
// qr_base45_overflow, qr_invalid_base45). No detail quotes the input.
var (
	// ErrPrefix: the text does not start with "HC1:".
	ErrPrefix = errs.E(errs.Invalid, "dcc_wrong_prefix", "the text is not an EU DCC (no HC1: prefix)")
	// ErrTooLarge: the text or the inflated COSE message is over its cap.
	ErrTooLarge = errs.E(errs.Invalid, "dcc_too_large", "the EU DCC is too large")
	// ErrZlib: the Base45 payload is not one complete zlib stream.
	ErrZlib = errs.E(errs.Invalid, "dcc_bad_zlib", "the EU DCC does not inflate (zlib)")
	// ErrCBOR: the inflated bytes, or the signed payload, are not
	// well-formed CBOR (or break the decoder's limits: duplicate map keys,
	// nesting, sizes).
	ErrCBOR = errs.E(errs.Invalid, "dcc_bad_cbor", "the EU DCC is not well-formed CBOR")
	// ErrCOSE: well-formed CBOR that is not a COSE_Sign1 message (wrong
	// tag, shape or header parameters, no payload).
	ErrCOSE = errs.E(errs.Invalid, "dcc_bad_cose", "the EU DCC is not a valid COSE_Sign1 message")
	// ErrAlg: the protected header has no alg or one other than ES256
	// and PS256.
	ErrAlg = errs.E(errs.Invalid, "dcc_unsupported_alg", "the EU DCC is signed with an unsupported algorithm")
	// ErrClaims: the CWT lacks iss, iat, exp or hcert, or one has the
	// wrong type, or the hcert is not a DCC.
	ErrClaims = errs.E(errs.Invalid, "dcc_bad_claims", "the EU DCC's claims are malformed")
	// ErrUnknownKID: no kid in either header, or no trusted DSC has it.
	ErrUnknownKID = errs.E(errs.Invalid, "dcc_unknown_kid", "the EU DCC's signing certificate is not trusted")
	// ErrSignature: no trusted DSC with the kid verifies the signature.
	ErrSignature = errs.E(errs.Invalid, "dcc_bad_signature", "the EU DCC's signature does not verify")
	// ErrIssuedBeforeDSC: iat is before the DSC's notBefore.
	ErrIssuedBeforeDSC = errs.E(errs.Invalid, "dcc_iat_before_dsc", "the EU DCC was issued before its signing certificate was valid")
	// ErrNotYetValid: the verification time is before iat.
	ErrNotYetValid = errs.E(errs.Invalid, "dcc_not_yet_valid", "the EU DCC is not yet valid")
	// ErrExpired: the verification time is after exp.
	ErrExpired = errs.E(errs.Invalid, "dcc_expired", "the EU DCC has expired")
	// ErrExpiresAfterDSC: exp is after the DSC's notAfter.
	ErrExpiresAfterDSC = errs.E(errs.Invalid, "dcc_exp_after_dsc", "the EU DCC expires after its signing certificate")
	// ErrEntries: not exactly one vaccination, test or recovery entry.
	ErrEntries = errs.E(errs.Invalid, "dcc_entry_count", "the EU DCC must hold exactly one vaccination, test or recovery entry")
	// ErrKeyUsage: the DSC's extended key usage names certificate types
	// and not this one.
	ErrKeyUsage = errs.E(errs.Invalid, "dcc_key_usage", "the EU DCC's signing certificate may not sign this certificate type")
	// ErrTrust: a trust file is not PEM, DER or the JSON certificate list,
	// or an entry's kid is not its certificate's.
	ErrTrust = errs.E(errs.Invalid, "dcc_bad_trust_list", "the EU DCC trust list is malformed")
)
