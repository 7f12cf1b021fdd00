package oid4vp

import "github.com/ssi-project/ssi/internal/errs"

// The OpenID4VP error codes (§8.5) that ssi raises. invalid_request is
// also an OpenID4VCI code, declared by the issuer; here it is made by
// invalidRequest, so that the code keeps one sentinel in the module.
var (
	ErrVPFormatsNotSupported   = errs.E(errs.Invalid, "vp_formats_not_supported", "no requested credential format is supported")
	ErrInvalidRequestURIMethod = errs.E(errs.Invalid, "invalid_request_uri_method", "request_uri_method must be get or post")
	ErrInvalidClient           = errs.E(errs.Invalid, "invalid_client", "the client_id is not acceptable")
	ErrAccessDenied            = errs.E(errs.Forbidden, "access_denied", "the wallet declined the request")
)

// Codes of ours, for what the spec leaves to the implementation.
var (
	// ErrRequestObject: the request object is not a JWS we accept (its
	// JOSE cause keeps its own code in the chain for the log).
	ErrRequestObject = errs.E(errs.Invalid, "invalid_request_object", "the request object is not acceptable")
	// ErrEncryptedResponse: a direct_post.jwt response that is not a JWE
	// made for this transaction's key with an accepted alg and enc.
	ErrEncryptedResponse = errs.E(errs.Invalid, "invalid_encrypted_response", "the encrypted response is not acceptable")
	// ErrVPTokenTooLarge: the vp_token or response is over MaxResponseSize.
	ErrVPTokenTooLarge = errs.E(errs.TooLarge, "vp_token_too_large", "the response is over the size limit")
)

// invalidRequest is invalid_request with a detail.
func invalidRequest(detail string) *errs.Error {
	return errs.E(errs.Invalid, "invalid_request", detail)
}

// InvalidRequest returns OpenID4VP's invalid_request with a detail that
// must be safe to show.
func InvalidRequest(detail string) error { return invalidRequest(detail) }
