// Package trust is what a consumer of the ledger (a verifier, a wallet, a
// page in a browser) needs to believe an anchored fact without trusting
// the server that served it: the pinned validator set (Trust), ledger
// entries and their leaf hashes (Entry), anchor receipts (Receipt,
// VerifyReceipt), latest-version proofs (LatestProof, VerifyLatest), and
// the offline check of what they prove against a block header signed by
// more than 2/3 of the pinned voting power. It also holds the registry's
// record types and decision rules (Accreditation, RPRegistration,
// AccreditedAt, RPAllows, VerifyControl), which the registry and its
// clients run alike, and Client, the one consumer of the registry and of
// the issuers' status lists: every answer it accepts comes with its
// proofs and is checked down to the pinned keys.
//
// The verification functions are pure: they read no clock they are not
// given, open no connection and keep no state, so they run offline. Client
// is the only part that talks to the network (through the *http.Client it
// is given) and caches (bounded, for TTL).
//
// It builds for a browser with GOOS=js GOARCH=wasm, with no build tag. It
// checks CometBFT headers and commits read at the wire level with protowire
// (wire.go) and the standard library's Ed25519 (header.go), not through
// CometBFT's types package, which would bring testify and
// net/http/httptest with it, nor its generated gogoproto types, which
// would bring the protobuf registry into the browser.
//
// What it must never do: import a service package (issuer, didregistry,
// verifier, holder), the anchor package, the store (internal/store),
// database/sql, net/http/httptest, testify, any CometBFT or gogoproto
// package, or google.golang.org/protobuf beyond protowire; panic on untrusted bytes; accept a proof it has not
// checked down to the pinned keys; or take a server's decision on its
// word.
package trust
