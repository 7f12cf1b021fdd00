// Package keys holds the signing keys of ssi behind the Signer interface
// (a crypto.Signer bound to one JOSE algorithm and named by its RFC 7638
// thumbprint), the software signers for ES256 (P-256) and EdDSA (Ed25519),
// their encrypted-at-rest envelope (AES-256-GCM under a key-encryption key),
// the public-key checks that every parser of a foreign key needs
// (compressed EC points, Ed25519 points), the JOSE algorithm names, and the
// one JWK type of ssi with its one parsing rule (no private member, ever).
//
// Callers only ever see Signer, so a KMS or PKCS#11 key can replace a
// software key without changing them.
//
// This package must never log, print or put into an error any private key
// material or key-encryption key, never read the environment or files itself
// (the config hands it a KEK), and never import HTTP or SQL code.
package keys
