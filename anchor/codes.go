package anchor

import (
	"errors"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/trust"
)

// Codespace is the ABCI codespace of every rejection our app returns. The
// ABCI Log field carries the stable code string (e.g. "writer_not_allowed").
const Codespace = "ssi-anchor"

// Rejections of the ledger application. Their Code strings are stable: they
// travel in ABCI responses and are what clients and tests compare.
var (
	ErrMalformedTx       = errs.E(errs.Invalid, "malformed_tx", "the transaction is malformed")
	ErrWriterNotAllowed  = errs.E(errs.Forbidden, "writer_not_allowed", "the writer is not on the allow-list")
	ErrBadSignature      = errs.E(errs.Unauthorized, "bad_signature", "the transaction signature does not verify")
	ErrReplayedTx        = errs.E(errs.Conflict, "replayed_tx", "the transaction sequence number was already used")
	ErrSequenceGap       = errs.E(errs.Conflict, "sequence_gap", "the transaction sequence number skips ahead")
	ErrVersionSkip       = errs.E(errs.Conflict, "version_skip", "the version does not extend the subject's version by one")
	ErrVersionRepeat     = errs.E(errs.Conflict, "version_repeat", "the subject already has this version")
	ErrFieldTooLarge     = trust.ErrFieldTooLarge // entries share the consumer's checks
	ErrInvalidEntry      = trust.ErrInvalidEntry
	ErrNotOperator       = errs.E(errs.Forbidden, "not_operator", "only an operator may change the allow-list")
	ErrWrongChain        = errs.E(errs.Invalid, "wrong_chain", "the transaction is for another chain")
	ErrInvalidGovernance = errs.E(errs.Invalid, "invalid_governance", "the governance change is not allowed")
	ErrNotFound          = errs.E(errs.NotFound, "not_anchored", "no such entry on the ledger")
	ErrInternal          = errs.E(errs.Internal, "ledger_internal", "the ledger failed internally")
	ErrNotSubjectOwner   = errs.E(errs.Forbidden, "not_subject_owner", "only the subject's owner may extend it")
	ErrOutsideNamespace  = errs.E(errs.Forbidden, "outside_namespace", "the writer may not open a subject outside its namespaces")

	// Client-side outcomes.
	ErrUnavailable  = errs.E(errs.Unavailable, "ledger_unavailable", "the ledger is unavailable, try again later")
	ErrMempoolFull  = errs.E(errs.Unavailable, "ledger_busy", "the ledger mempool is full, try again later")
	ErrHashMismatch = errs.E(errs.Conflict, "anchor_hash_mismatch", "a different hash is already anchored for this version")
)

// abciCodes maps each rejection to its ABCI response code. Numbers are
// append-only; 0 is success.
var abciCodes = []*errs.Error{
	1: ErrMalformedTx, 2: ErrWriterNotAllowed, 3: ErrBadSignature, 4: ErrReplayedTx,
	5: ErrSequenceGap, 6: ErrVersionSkip, 7: ErrVersionRepeat, 8: ErrFieldTooLarge,
	9: ErrInvalidEntry, 10: ErrNotOperator, 11: ErrWrongChain, 12: ErrInvalidGovernance,
	13: ErrNotFound, 14: ErrInternal, 15: ErrNotSubjectOwner, 16: ErrOutsideNamespace,
}

// abciCode returns the ABCI code and the stable code string for err.
func abciCode(err error) (uint32, string) {
	for i, e := range abciCodes {
		if e != nil && errors.Is(err, e) {
			return uint32(i), e.Code
		}
	}
	return 14, ErrInternal.Code
}

// errFromABCI rebuilds the typed error from an ABCI response code.
func errFromABCI(code uint32, codespace, info string) error {
	if codespace == Codespace && int(code) < len(abciCodes) && abciCodes[code] != nil {
		return abciCodes[code].With(info, nil)
	}
	return ErrInternal.With("the ledger rejected the transaction", errors.New(codespace+": "+info))
}
