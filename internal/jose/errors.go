package jose

import (
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
)

// Stable error codes (SECURITY-CASES.md, section A). Compare with errors.Is.
// Each code has one definition in the module (internal/errs's
// TestErrorCodesAreUnique): unsupported_alg is keys' sentinel, raised here
// with the JOSE wording, and a private JWK is keys.ErrPrivateJWK.
var (
	ErrTooLarge         = errs.E(errs.TooLarge, "token_too_large", "the token is over the size limit")
	ErrMalformed        = errs.E(errs.Invalid, "malformed_jws", "the token is not a compact JWS")
	ErrUnsupportedAlg   = keys.ErrUnsupportedAlg.With("the signing algorithm is not accepted", nil)
	ErrUnsupportedCrit  = errs.E(errs.Invalid, "unsupported_crit", "the crit header is not acceptable")
	ErrWrongTyp         = errs.E(errs.Invalid, "wrong_typ", "the token type is not the expected one")
	ErrUntrustedKey     = errs.E(errs.Unauthorized, "untrusted_key", "keys embedded in the header are not trusted")
	ErrUnknownKey       = errs.E(errs.Unauthorized, "unknown_key", "the signing key is not known")
	ErrInvalidSignature = errs.E(errs.Unauthorized, "invalid_signature", "the signature does not verify")
	ErrInvalidClaim     = errs.E(errs.Invalid, "invalid_claim", "a claim has an invalid value")
	ErrExpired          = errs.E(errs.Unauthorized, "expired", "the token has expired")
	ErrNotYetValid      = errs.E(errs.Unauthorized, "not_yet_valid", "the token is not valid yet")
	ErrInvalidJWK       = errs.E(errs.Invalid, "invalid_jwk", "the JWK is not an acceptable public key")

	// ErrInvalidNonce: a JWT's nonce is not one the verifier issued, or
	// was used: the OpenID4VCI key proof's c_nonce (an OpenID4VCI code,
	// 400 at the credential endpoint) and the SD-JWT KB-JWT's nonce
	// (SECURITY-CASES C35). jose checks no nonce itself; the code lives
	// here, in the JWT layer both import, so that it has one kind.
	ErrInvalidNonce = errs.E(errs.Invalid, "invalid_nonce", "the nonce is not the expected one")
)
