// Package trust is what a consumer of the ledger (a verifier, a wallet, a
// registry client) needs to believe an anchored fact without trusting the
// server that served it: the pinned validator set (Trust), ledger entries
// and their leaf hashes (Entry), anchor receipts (Receipt, VerifyReceipt),
// and the offline check of what they prove against a block header signed
// by more than 2/3 of the pinned voting power.
//
// Everything here is pure: verification reads no clock it is not given,
// opens no connection and keeps no state, so it runs offline (and in a
// browser). The ledger's node side (package anchor) builds what this
// package checks and imports it for the shared types; never the other way.
//
// What it must never do: import a service package (issuer, didregistry,
// verifier, holder), the anchor package, the store (internal/store),
// database/sql, net/http/httptest or the CometBFT node; panic on untrusted
// bytes; or accept a proof it has not checked down to the pinned keys.
package trust
