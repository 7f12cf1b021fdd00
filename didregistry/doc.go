// Package didregistry is the DID registry of ssi: the did:psr method
// (docs/did-method.md) with controller-signed operations, whole stored
// versions whose hashes are anchored on the ledger, resolution in the
// Universal Resolver shape for every supported method, the trusted-issuer
// registry (accreditations) and the relying-party registry.
//
// It must never serve a did:psr document whose hash differs from the one
// anchored for its version, accept an operation not signed by a current
// controller key, or store personal data: DIDs name agencies and venues.
package didregistry
