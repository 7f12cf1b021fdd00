package jose

import "github.com/ssi-project/ssi/internal/errs"

// Stable error codes (SECURITY-CASES.md, section A). Compare with errors.Is.
var (
	ErrTooLarge         = errs.E(errs.TooLarge, "token_too_large", "the token is over the size limit")
	ErrMalformed        = errs.E(errs.Invalid, "malformed_jws", "the token is not a compact JWS")
	ErrUnsupportedAlg   = errs.E(errs.Invalid, "unsupported_alg", "the signing algorithm is not accepted")
	ErrUnsupportedCrit  = errs.E(errs.Invalid, "unsupported_crit", "the crit header is not acceptable")
	ErrWrongTyp         = errs.E(errs.Invalid, "wrong_typ", "the token type is not the expected one")
	ErrUntrustedKey     = errs.E(errs.Unauthorized, "untrusted_key", "keys embedded in the header are not trusted")
	ErrUnknownKey       = errs.E(errs.Unauthorized, "unknown_key", "the signing key is not known")
	ErrInvalidSignature = errs.E(errs.Unauthorized, "invalid_signature", "the signature does not verify")
	ErrInvalidClaim     = errs.E(errs.Invalid, "invalid_claim", "a claim has an invalid value")
	ErrExpired          = errs.E(errs.Unauthorized, "expired", "the token has expired")
	ErrNotYetValid      = errs.E(errs.Unauthorized, "not_yet_valid", "the token is not valid yet")
	ErrInvalidJWK       = errs.E(errs.Invalid, "invalid_jwk", "the JWK is not an acceptable public key")
	ErrPrivateJWK       = errs.E(errs.Invalid, "private_jwk", "the JWK contains private key material")
)
