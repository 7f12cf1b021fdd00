package trust

import "github.com/ssi-project/ssi/internal/errs"

// Errors of entries, receipts and proofs. Their codes are stable: clients
// and tests compare them. The ledger (package anchor) returns the entry
// errors in its ABCI responses too.
var (
	ErrFieldTooLarge     = errs.E(errs.TooLarge, "field_too_large", "a field is over its size limit")
	ErrInvalidEntry      = errs.E(errs.Invalid, "invalid_entry", "the entry is not valid")
	ErrInvalidTrust      = errs.E(errs.Invalid, "invalid_trust", "the pinned trust configuration is malformed")
	ErrInvalidReceipt    = errs.E(errs.Invalid, "invalid_receipt", "the receipt is malformed")
	ErrReceiptUnverified = errs.E(errs.Invalid, "receipt_unverified", "the receipt does not verify")

	ErrInvalidLatestProof = errs.E(errs.Invalid, "invalid_latest_proof", "the latest-version proof is malformed")
	ErrProofUnverified    = errs.E(errs.Invalid, "proof_unverified", "the latest-version proof does not verify")
	ErrProofTooOld        = errs.E(errs.Invalid, "proof_too_old", "the latest-version proof is too old")
	// ErrStaleVersion: a newer version of the subject than the one served
	// is anchored. The registry also refuses an operation built on an old
	// version with it.
	ErrStaleVersion = errs.E(errs.Conflict, "stale_version", "a newer version is anchored")
	// ErrAnchorMismatch: a service's stored version differs from the hash
	// anchored for it; it is not served (and an alert is logged).
	ErrAnchorMismatch = errs.E(errs.Conflict, "anchor_mismatch", "the stored record does not match its ledger anchor; it is not served")
)
