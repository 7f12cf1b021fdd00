// Package oid4vp is the protocol of OpenID for Verifiable Presentations
// 1.0 as ssi speaks it, for both sides of a presentation:
//
//   - the verifier builds and signs the request object (BuildRequest,
//     SignRequest: typ oauth-authz-req+jwt, response_type vp_token, a
//     client_id with the decentralized_identifier prefix, a DCQL query, a
//     nonce of at least 128 bits, state, response_uri, response_mode
//     direct_post or direct_post.jwt, and client_metadata with
//     vp_formats_supported and, for direct_post.jwt, the transaction's
//     ephemeral P-256 ECDH-ES key), the authorization request URI that
//     carries it by reference (openid4vp:// or haip-vp://), and reads the
//     wallet's response (ParseResponseForm, DecryptResponse);
//   - the wallet parses the authorization request URI
//     (ParseAuthorizationURI), verifies the request object with the key of
//     the verifier's DID (VerifyRequest), and builds the response
//     (ResponseForm, EncryptResponse).
//
// JWE (ECDH-ES with A128GCM or A256GCM, compact, unsigned) is done by
// github.com/lestrrat-go/jwx/v3; this package only decides which header
// values are acceptable before handing the bytes to it.
//
// Every refusal is an *errs.Error whose code is the OpenID4VP 1.0 §8.5
// error code when one fits (invalid_request, vp_formats_not_supported,
// invalid_request_uri_method, invalid_client, access_denied) or one of
// ours (errors.go), so that an endpoint can render it in the OAuth form.
//
// It must never: do I/O (no HTTP, no store; keys are found through a
// callback), read the wall clock (callers pass now), log, or put a
// presentation, disclosure, nonce or key into an error detail.
package oid4vp
