// Package anchor is the permissioned ledger of ssi and the client the
// services use to anchor hashes on it.
//
// It holds:
//
//   - the ABCI application (App): an append-only RFC 6962 Merkle log of
//     anchor entries {kind, subject, version, sha256, writer, owner, time}
//     and a sparse Merkle map of each subject's latest state {version,
//     sha256, leaf, owner}, both committed to by the CometBFT app hash
//     (trust.AppHash), written only by writers on an allow-list that starts
//     in genesis and is changed by operator-signed governance transactions;
//     each subject is extended only by its owner (docs/ledger.md);
//   - the node embedding (Init, StartNode): CometBFT v0.38 running that app
//     in process, with its state persisted in the node home;
//   - the client (Ledger, Anchorer): a durable outbox drained in order by a
//     worker that batches entries, retries with back-pressure and stores a
//     receipt per entry;
//   - health (HealthChecker): last height, last block time, halt detection
//     and outbox depth, with Prometheus gauges;
//   - receipts (Ledger.Receipt) and latest-version proofs
//     (Ledger.LatestProof): an inclusion proof in the log, or a proof of a
//     subject's state (or absence) in the map, bound to an app hash in a
//     header that more than 2/3 of the pinned validators' voting power
//     signed. Their offline verification, and the types a consumer shares
//     with the ledger (trust.Entry, trust.Receipt, trust.LatestProof,
//     trust.Trust), are in internal/trust, which this package imports and
//     never the reverse.
//
// What it must never do: accept personal data (only DIDs, URIs, hashes and
// versions, each with a size limit), read the wall clock or iterate a map
// inside the state machine (block time and sorted keys only), panic on bad
// input, anchor one (kind, subject, version) twice, or let anyone but a
// subject's owner extend it.
package anchor
