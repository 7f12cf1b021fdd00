// Package psr is the did:psr method (docs/did-method.md): the state of a
// DID version, the controller-signed operations that make versions
// (Create, Apply), the document a state derives, and the helpers that
// build and sign operations. The registry runs it to accept operations; a
// client (trust.Client) runs it to replay a DID's chain of operations from
// its creation and check that every served version was authorized by a
// controller key, without trusting the registry.
//
// It is pure: no HTTP, no SQL, no clock. It must never accept an operation
// it has not verified against the current state's controller keys, or
// panic on any input.
package psr
