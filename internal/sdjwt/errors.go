package sdjwt

import (
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
)

// Stable error codes. JOSE-level failures keep the codes of package jose
// (unsupported_alg, wrong_typ, invalid_signature, …), and invalid_nonce is
// jose's too.
var (
	ErrMalformed            = errs.E(errs.Invalid, "malformed_sd_jwt", "the SD-JWT is malformed")
	ErrMalformedDisclosure  = errs.E(errs.Invalid, "malformed_disclosure", "a disclosure is malformed")
	ErrTooManyDisclosures   = errs.E(errs.Invalid, "too_many_disclosures", "the SD-JWT has too many disclosures")
	ErrTooDeep              = errs.E(errs.Invalid, "disclosure_too_deep", "disclosures nest too deeply")
	ErrUnreferenced         = errs.E(errs.Invalid, "unreferenced_disclosure", "a disclosure is not referenced by any digest")
	ErrDuplicateDisclosure  = errs.E(errs.Invalid, "duplicate_disclosure", "a disclosure is sent twice")
	ErrDuplicateDigest      = errs.E(errs.Invalid, "duplicate_digest", "a digest appears twice")
	ErrReservedName         = errs.E(errs.Invalid, "invalid_disclosure_name", "a disclosure uses a reserved claim name")
	ErrCollision            = errs.E(errs.Invalid, "claim_collision", "a disclosed claim collides with another claim")
	ErrDisclosureKind       = errs.E(errs.Invalid, "disclosure_kind_mismatch", "a disclosure has the wrong form for where it is referenced")
	ErrMalformedSD          = errs.E(errs.Invalid, "malformed_sd", "an _sd array or array digest is malformed")
	ErrUnsupportedSDAlg     = errs.E(errs.Invalid, "unsupported_sd_alg", "the _sd_alg is not accepted")
	ErrNonDisclosable       = errs.E(errs.Invalid, "non_disclosable_claim", "this claim can never be selectively disclosable")
	ErrUnexpectedKeyBinding = errs.E(errs.Invalid, "unexpected_key_binding", "a key binding JWT was not expected here")
	ErrKBRequired           = errs.E(errs.Unauthorized, "kb_required", "key binding is required")
	ErrInvalidNonce         = jose.ErrInvalidNonce.With("the key binding nonce is not the expected one", nil)
	ErrInvalidAudience      = errs.E(errs.Unauthorized, "invalid_audience", "the key binding audience is not this verifier")
	ErrStaleKeyBinding      = errs.E(errs.Unauthorized, "stale_key_binding", "the key binding JWT is too old or from the future")
	ErrInvalidSDHash        = errs.E(errs.Unauthorized, "invalid_sd_hash", "the key binding sd_hash does not match the presentation")
	ErrMissingClaim         = errs.E(errs.Invalid, "missing_claim", "a required claim is missing or has the wrong type")
	ErrUnknownPath          = errs.E(errs.Invalid, "unknown_claim_path", "a claim path does not name a claim")
)
