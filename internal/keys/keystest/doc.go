// Package keystest holds test data shared by the tests of every path that
// reads a JWK (did:jwk, DID documents, the registry's key input, the
// OpenID4VCI proof and DPoP headers, cnf.jwk), so that each of them is held
// to the one rule of keys.JWKFromMap with the same cases. It must never be
// imported by non-test code.
package keystest
