package trust

import (
	"bytes"
	"crypto/sha256"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// logHasher hashes the ledger's append-only log (RFC 6962).
var logHasher = rfc6962.DefaultHasher

// Receipt proves that Entry is in the ledger's log: the inclusion proof of
// leaf LeafIndex in the tree of TreeSize leaves gives the log root which,
// with MapRoot (the root of the map of subject states after the same
// block), makes the app hash (AppHash) that the header at Height+1 carries
// (CometBFT puts the app hash of block H in header H+1), and that header's
// commit is signed by the validators. It is self-contained and serialises
// to JSON.
type Receipt struct {
	Entry          Entry    `json:"entry"`
	LeafIndex      uint64   `json:"leaf_index"`
	TreeSize       uint64   `json:"tree_size"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	MapRoot        []byte   `json:"map_root"`
	Height         int64    `json:"height"`
	// SignedHeader is the protobuf encoding of the CometBFT SignedHeader
	// (header and commit) at Height+1.
	SignedHeader   []byte `json:"signed_header"`
	ValidatorsHash []byte `json:"validators_hash"`
}

const (
	maxProofLen        = 64
	maxSignedHeaderLen = 256 << 10
)

// ParseReceipt decodes a receipt from untrusted JSON. It checks the shape
// only; VerifyReceipt checks the proof.
func ParseReceipt(b []byte) (*Receipt, error) {
	if len(b) > 2*maxSignedHeaderLen {
		return nil, ErrInvalidReceipt.With("the receipt is too large", nil)
	}
	var r Receipt
	if err := jsonx.Unmarshal(b, &r, true); err != nil {
		return nil, ErrInvalidReceipt.With("", err)
	}
	return &r, nil
}

// VerifyReceipt checks r offline against the pinned trust:
//
//  1. the entry is well formed, and its writer is the subject's owner as
//     the ledger recorded it in the entry when it appended it;
//  2. its leaf hash, with the inclusion proof, gives a log root which, with
//     the map root, makes the app hash of the header at r.Height+1;
//  3. that header belongs to the pinned chain and names the pinned
//     validator set;
//  4. its commit carries valid signatures of more than 2/3 of the pinned
//     voting power (every signature present must verify).
//
// Any failure is ErrReceiptUnverified, ErrInvalidReceipt for a receipt that
// is malformed, or ErrInvalidTrust; it never panics and needs no network.
// It proves that the entry was anchored, not that it is the latest version
// of its subject: that is VerifyLatest's.
func VerifyReceipt(r *Receipt, trust Trust) error {
	_, err := verifyReceipt(r, trust)
	return err
}

// verifyReceipt is VerifyReceipt, returning the time of the verified
// header at r.Height+1: the median of the validators' precommit times for
// the block that appended the entry, so a moment by which the ledger had
// the entry, when r was built at that block (Ledger.Receipt does; nothing
// in r proves it, as the entry is in every later tree too:
// MaxBlockInterval). The entry's own Time (its block's time, the median of the
// precommits of the block before) is not such a bound: it can precede the
// writer's request by up to a block interval.
func verifyReceipt(r *Receipt, trust Trust) (time.Time, error) {
	if r == nil {
		return time.Time{}, ErrInvalidReceipt.With("no receipt", nil)
	}
	if err := r.Entry.Validate(); err != nil {
		return time.Time{}, ErrReceiptUnverified.With("the entry is not valid", err)
	}
	if r.Entry.Writer != r.Entry.Owner {
		return time.Time{}, ErrReceiptUnverified.With("the entry's writer is not the subject's owner", nil)
	}
	if len(r.InclusionProof) > maxProofLen || len(r.SignedHeader) > maxSignedHeaderLen {
		return time.Time{}, ErrInvalidReceipt.With("the receipt is too large", nil)
	}
	if len(r.MapRoot) != sha256.Size {
		return time.Time{}, ErrInvalidReceipt.With("the map root is missing", nil)
	}
	sh, err := verifiedHeader(r.SignedHeader, r.Height, r.ValidatorsHash, trust, ErrReceiptUnverified, ErrInvalidReceipt)
	if err != nil {
		return time.Time{}, err
	}
	logRoot, err := proof.RootFromInclusionProof(logHasher, r.LeafIndex, r.TreeSize, r.Entry.LeafHash(), r.InclusionProof)
	if err != nil || !bytes.Equal(AppHash(logRoot, r.MapRoot), sh.appHash) {
		return time.Time{}, ErrReceiptUnverified.With("the inclusion proof does not lead to the signed app hash", err)
	}
	return sh.time.asTime(), nil
}

// verifiedHeader decodes the signed header enc and checks it offline, as
// CometBFT's light client would (header.go): it is the header at height+1
// of the pinned chain, it names the pinned validator set (as
// validatorsHash must too), its commit commits to it, and more than 2/3 of
// the pinned voting power signed that commit, with every signature for the
// block valid. Failures are unverified, invalid (enc does not decode or is
// malformed) or ErrInvalidTrust. It returns the checked header.
func verifiedHeader(enc []byte, height int64, validatorsHash []byte, trust Trust, unverified, invalid *errs.Error) (*header, error) {
	vals, err := trust.validatorSet()
	if err != nil {
		return nil, err
	}
	if len(enc) > maxSignedHeaderLen {
		return nil, invalid.With("the signed header is too large", nil)
	}
	sh, err := decodeCheckedSignedHeader(enc)
	if err != nil {
		return nil, invalid.With("the signed header is malformed", err)
	}
	if err := checkSignedHeader(sh, trust.ChainID); err != nil {
		return nil, unverified.With("the header is not for the pinned chain", err)
	}
	if height < 1 || sh.header.height != height+1 {
		return nil, unverified.With("the header is not the one after the proven block", nil)
	}
	if !bytes.Equal(sh.header.validatorsHash, vals.hash) || !bytes.Equal(validatorsHash, vals.hash) {
		return nil, unverified.With("the header names another validator set", nil)
	}
	if err := verifyCommit(trust.ChainID, vals, sh.commit); err != nil {
		return nil, unverified.With("the header is not signed by more than 2/3 of the pinned validators", err)
	}
	return sh.header, nil
}
