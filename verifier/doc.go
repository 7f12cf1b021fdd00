// Package verifier is the service a venue runs (or a city runs for all its
// venues): it asks a citizen's wallet, over OpenID4VP 1.0 with DCQL, for
// exactly the claims its relying-party registration allows, checks every
// presented SD-JWT VC in the order of DESIGN §4, and answers green or red.
//
//   - config.go: venues (a venue-operator tenant with its verifier DID and
//     signing key) and their policies (a DCQL query, the accepted vcts and
//     issuers, a decision rule, the claims shown); a policy that asks for
//     more than the registration allows is refused by New (CheckRP).
//   - service.go: presentation transactions (create, poll with a wait).
//   - request.go, response.go: the wallet-facing flow: the signed request
//     object by request_uri (GET, or POST with wallet_nonce), and the
//     direct_post / direct_post.jwt response, with a response_code for
//     the same-device redirect.
//   - check.go: the trust check, each failure its own reason code;
//     trustclient.go adapts internal/trust's Client to the Trust it uses.
//   - offline.go: a holder-shown SSI1 QR code (docs/offline-qr.md), with
//     the offline KB-JWT rules and a nonce memory shared through the store.
//   - bundle.go: the signed trust bundle for offline venues
//     (internal/bundle checks QR codes against it, with no network).
//   - http.go: the routes.
//
// The trust decisions (DID resolution with anchor proofs, accreditation,
// relying-party registration, status lists) come through the Trust
// interface, which internal/trust's Client implements; this package never
// decides trust itself.
//
// It must never: keep a presented credential, a disclosure or a claim
// value beyond the verdict (the shown claim values are handed to the venue
// once, sealed until then, and dropped); log any of them or a nonce;
// contact an issuer about one credential; accept a presentation whose
// nonce was used; or tell the wallet the venue's transaction ID.
package verifier
