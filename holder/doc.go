// Package holder is the citizen wallet backend that mobile apps talk to
// over REST (/wallet/v1): accounts and sessions, holder keys (kept here,
// sealed, or on the phone with prepare/submit), receiving credentials
// from any OpenID4VCI 1.0 issuer through internal/oid4vci, and the
// credentials' list, detail and deletion.
//
// Everything personal is sealed at rest under the account's data key,
// which is sealed under the KEK: SD-JWTs with their disclosures, private
// keys, flow state. Passwords are argon2id hashes with a salt per
// account; session tokens are stored as SHA-256 hashes only. Another
// account's resource answers 404, never 403.
//
// The package must never log or put in an error's Detail a password, a
// session token, an SD-JWT, a disclosure, a key, a tx_code or a claim
// value. It imports no other service package; it talks to issuers and
// verifiers over HTTP only.
package holder
