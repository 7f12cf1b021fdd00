// Package did implements Decentralized Identifiers for ssi: the W3C DID Core
// syntax (DIDs and DID URLs), DID documents, and resolution in the shape of
// W3C DID Resolution through a method Router, with resolvers for did:key
// (Ed25519, P-256, P-384), did:jwk and did:web. The registry method is added
// by the registry issue with one Router.Handle call.
//
// It also maps a verification method, named by a DID URL or kid, to a
// crypto.PublicKey and its one JOSE algorithm, for issuer-key lookup.
//
// This package must never trust a key it did not validate (off-curve,
// small-order and private keys are refused with invalid_did), never follow a
// did:web fetch to a private, loopback, link-local or metadata address unless
// the development allowance is set, never use plain HTTP, and never import
// HTTP server or SQL code. The only network code is the did:web client, which
// takes an injected *http.Client.
package did
