package oid4vci

import "github.com/ssi-project/ssi/internal/errs"

// Errors of the OpenID4VCI client. The fetch errors of internal/did
// (address_not_allowed, insecure_transport, response_too_large) are
// reused as they are.
var (
	// ErrInvalidOffer: the offer URI or the offer object is malformed or
	// asks for something this client does not do.
	ErrInvalidOffer = errs.E(errs.Invalid, "invalid_credential_offer", "the credential offer is invalid")
	// ErrInvalidMetadata: the issuer's or authorization server's metadata
	// is malformed, names another issuer, or lacks what the flow needs.
	ErrInvalidMetadata = errs.E(errs.Invalid, "invalid_issuer_metadata", "the issuer's metadata is invalid")
	// ErrBatchTooLarge: the issuer's batch_size is over the client's cap.
	ErrBatchTooLarge = errs.E(errs.Invalid, "batch_size_too_large", "the issuer's batch size is over the wallet's limit")
	// ErrIssuerRefused: the issuer answered with an OAuth or credential
	// error; the error is an *IssuerError in the chain.
	ErrIssuerRefused = errs.E(errs.Invalid, "issuer_refused", "the issuer refused the request")
	// ErrIssuerResponse: the issuer's answer is malformed (not JSON, wrong
	// media type, missing members, more credentials than proofs, deferred).
	ErrIssuerResponse = errs.E(errs.Invalid, "invalid_issuer_response", "the issuer's response is invalid")
	// ErrCredentialTooLarge: one issued credential is over the size limit.
	ErrCredentialTooLarge = errs.E(errs.Invalid, "credential_too_large", "an issued credential is over the size limit")
	// ErrIssuerUnreachable: the issuer could not be reached.
	ErrIssuerUnreachable = errs.E(errs.Unavailable, "issuer_unreachable", "the issuer could not be reached")
)

// IssuerError is an OAuth 2.0 or OpenID4VCI error answer of an issuer:
// its HTTP status and error code. The error_description is dropped, so
// that an issuer's text never reaches a citizen or a log unfiltered.
type IssuerError struct {
	Status int
	Code   string // e.g. invalid_grant, invalid_nonce, invalid_proof
}

func (e *IssuerError) Error() string { return "issuer error " + e.Code }
