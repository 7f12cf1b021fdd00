// Package oid4vci is the wallet side of OpenID for Verifiable Credential
// Issuance 1.0: it parses credential offers (by value and by reference),
// reads the Credential Issuer and Authorization Server metadata, redeems a
// pre-authorized code (with a tx_code, and with DPoP when the
// authorization server advertises it), fetches nonces and sends a batch of
// key proofs to the credential endpoint. It is the project's one
// OpenID4VCI client: the holder service uses it, and so do the issuer's
// end-to-end tests (issuer/issuertest) and the load command.
//
// Everything an issuer sends is untrusted. The client refuses URLs on
// loopback, private, link-local and other non-public addresses (checked on
// the address actually dialled), plain HTTP, redirects, responses over its
// size limits and a batch_size over its cap, each with an errs code. It
// never logs or puts into an error's Detail a code, tx_code, token, proof
// or credential.
//
// It does not verify the credentials it receives: the caller (the holder)
// checks signature, issuer trust and status before storing anything. It
// implements neither the authorization code flow, nor deferred issuance,
// nor encrypted credential responses; an issuer that needs them is
// refused with a code.
package oid4vci
