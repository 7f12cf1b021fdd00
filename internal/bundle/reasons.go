package bundle

import (
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/trust"
)

// Reason codes of a red verdict that no lower package defines, shared by
// the online verifier and the offline check. The others are the codes of
// the package that found the fault: sdjwt, jose, dcql, qr, statuslist and
// the trust layer.
var (
	ErrPresentationTooLarge = errs.E(errs.Invalid, "presentation_too_large", "a presentation is over the size limit")
	ErrIssuerUnknown        = errs.E(errs.Unauthorized, "issuer_unknown", "the issuer's DID does not resolve")
	ErrIssuerKeyNotValid    = errs.E(errs.Unauthorized, "issuer_key_not_valid_at_iat", "the signing key was not the issuer's at the credential's iat")
	ErrUntrustedIssuer      = errs.E(errs.Unauthorized, "untrusted_issuer", "the issuer is not accredited for this credential type")
	ErrAccreditationExpired = errs.E(errs.Unauthorized, "accreditation_expired", "the issuer's accreditation for this credential type had expired")
	ErrStatusMissing        = errs.E(errs.Unauthorized, "status_missing", "the credential has no status list entry")
	ErrRevoked              = errs.E(errs.Unauthorized, "revoked", "the credential is revoked")
	ErrSuspended            = errs.E(errs.Unauthorized, "suspended", "the credential is suspended")
	ErrStatusInvalid        = errs.E(errs.Unauthorized, "status_invalid", "the credential's status is not valid")
	ErrPolicyNotMet         = errs.E(errs.Unauthorized, "policy_not_met", "the disclosed claims do not satisfy the venue's policy")
	ErrNonceReplayed        = errs.E(errs.Conflict, "nonce_replayed", "this offline presentation was already shown")

	// Offline only.
	ErrBundleTooOld      = errs.E(errs.Unauthorized, "bundle_too_old", "the trust bundle is older than its maximum age")
	ErrBundleInvalid     = errs.E(errs.Invalid, "bundle_invalid", "the trust bundle does not verify")
	ErrBundleFormat      = errs.E(errs.Invalid, "bundle_format_unsupported", "the trust bundle is of a newer format than this scanner reads")
	ErrPassTrustMissing  = errs.E(errs.Unauthorized, "pass_trust_not_in_bundle", "the trust bundle carries no trust for this kind of pass")
	ErrStatusListMissing = errs.E(errs.Unauthorized, "status_list_not_in_bundle", "the credential's status list is not in the trust bundle")
	ErrStatusListExpired = trust.ErrStatusListExpired.With("the status list in the trust bundle has expired", nil)
	// ErrIssuerIncomplete: the bundle records that it lacks the issuer
	// (MissingIssuer): the registry did not answer for it, as online
	// when the registry cannot be reached.
	ErrIssuerIncomplete = trust.ErrRegistry.With("the trust bundle lacks the issuer: the registry did not answer with it when the bundle was made", nil)
	// ErrStatusIncomplete: the bundle records that it lacks the list (a
	// Missing record), so the status is unavailable offline, as online
	// when the list cannot be fetched.
	ErrStatusIncomplete = trust.ErrStatusUnavailable.With("the trust bundle lacks the credential's status list: it could not be fetched or verified, or was over the limit, when the bundle was made", nil)
)

// Code is the reason code of err: its *errs.Error code, or internal.
func Code(err error) string {
	c := errs.CodeOf(err)
	if c == "" || errs.KindOf(err) == errs.Internal {
		return "internal"
	}
	return c
}
