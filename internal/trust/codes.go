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
)
