// Package didregistry is the DID registry of ssi: the did:psr method
// (docs/did-method.md) with controller-signed operations, whole stored
// versions whose hashes are anchored on the ledger, resolution in the
// Universal Resolver shape for every supported method, the trusted-issuer
// registry (accreditations) and the relying-party registry, whose
// registrations prove control of their verifier DID
// (docs/relying-parties.md).
//
// It must never serve a did:psr document whose hash differs from the one
// anchored for its version, accept an operation not signed by a current
// controller key, register a verifier DID without a proof of control
// over a fresh challenge, or store personal data: DIDs name agencies and
// venues.
package didregistry
