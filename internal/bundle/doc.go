// Package bundle is the offline venue's side of the verifier: the trust
// bundle (a snapshot, signed by the verifier's key, of what checking a
// holder-shown QR code needs: the pinned validator set, the accredited
// issuers' DID documents with their anchor receipts and latest-version
// proofs, their accreditation records with theirs, the current status
// lists with theirs, and the venue's policy), and the check of an SSI1
// QR code against it with no network at all.
//
// It also holds what the online verifier and the offline check share:
// the reason codes of a red verdict (reasons.go), the policy rule
// (rule.go) and the offline KB-JWT rules of docs/offline-qr.md §9
// (offline.go).
//
// Open verifies a bundle once: its signature by the verifier's key, and
// every piece in it down to the pinned validators (trust.VerifyCurrent:
// each receipt, and each latest-version proof no older than ProofMaxAge
// when the bundle was made), the status list tokens by their issuers'
// keys. Check then judges one QR code at a given time: past the bundle's
// maximum age it is red with bundle_too_old, whatever the code.
//
// It must never: open a connection or make an HTTP client (internal/trust,
// which it imports for the offline checks of receipts and proofs, links
// net/http for its Client; nothing here calls it) or do any other I/O (it
// builds for GOOS=js GOARCH=wasm, with no build tag, and runs in the
// venue's browser); read the clock (now is passed); trust anything of a
// bundle it has not verified; or put a presentation, a claim value or a
// nonce into an error.
package bundle
