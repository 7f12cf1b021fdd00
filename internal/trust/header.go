package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
)

// This file checks CometBFT signed headers, decoded at the wire level
// (wire.go). CometBFT's own checks live in its types package, which cannot
// be imported here: a non-test file of it (test_util.go) imports testify
// and so net/http/httptest, its ed25519 (curve25519-voi) does not build for
// js/wasm without a build tag, and its generated protobuf types pull
// gogoproto and the protobuf registry into the browser. So the header
// hash, the validator-set hash, the vote sign bytes and the commit check
// are written again here, exactly as CometBFT v0.38 computes them (the
// functions named in each doc comment), and header_diff_test.go holds them
// equal to the library over random validator sets, headers and commits,
// and over fuzzed encodings.
//
// One deliberate difference: signatures are checked with the standard
// library's crypto/ed25519 (RFC 8032, canonical encodings), where CometBFT
// uses curve25519-voi with ZIP-215 rules. The two agree on every
// signature an honest signer makes; a few malleated encodings that ZIP-215
// admits are refused here, which fails closed.

const (
	// hashSize is tmhash.Size.
	hashSize = sha256.Size
	// addressSize is crypto.AddressSize: a validator's address is the first
	// 20 bytes of the SHA-256 of its public key.
	addressSize = 20
	// maxChainIDLen is types.MaxChainIDLen.
	maxChainIDLen = 50
	// maxSignatureSize is types.MaxSignatureSize (the larger of Ed25519's
	// and ML-DSA-65's signature sizes): the bound ValidateBasic puts on a
	// commit signature.
	maxSignatureSize = 3309
	// blockProtocol is version.BlockProtocol.
	blockProtocol = 11
)

// Block ID flags of a commit signature (types.BlockIDFlag).
const (
	flagAbsent = 1
	flagCommit = 2
	flagNil    = 3
)

// pinnedValidator is one validator of the pinned set, with its address.
type pinnedValidator struct {
	pub     ed25519.PublicKey
	address []byte
	power   int64
}

// validatorSet is the pinned set in CometBFT's order (types.NewValidatorSet:
// voting power descending, then address ascending), with its total power
// and its hash.
type validatorSet struct {
	vals  []pinnedValidator
	total int64
	hash  []byte
}

// validatorSet builds the pinned validator set, refusing malformed input
// with ErrInvalidTrust: no chain ID, no validator or more than
// maxValidators, a key that is not 32 bytes, a power outside (0, maxPower],
// or the same key (or address) twice.
func (t Trust) validatorSet() (*validatorSet, error) {
	if t.ChainID == "" || len(t.ChainID) > maxChainIDLen || len(t.Validators) == 0 || len(t.Validators) > maxValidators {
		return nil, ErrInvalidTrust.With("the trust configuration is incomplete", nil)
	}
	seen := map[string]bool{}
	vs := &validatorSet{vals: make([]pinnedValidator, 0, len(t.Validators))}
	for _, v := range t.Validators {
		if len(v.PubKey) != ed25519.PublicKeySize || v.Power <= 0 || v.Power > maxPower {
			return nil, ErrInvalidTrust.With("the trust configuration has a bad validator", nil)
		}
		addr := validatorAddress(v.PubKey)
		if seen[string(addr)] {
			return nil, ErrInvalidTrust.With("the trust configuration has a bad validator", nil)
		}
		seen[string(addr)] = true
		vs.vals = append(vs.vals, pinnedValidator{pub: bytes.Clone(v.PubKey), address: addr, power: v.Power})
		vs.total += v.Power // at most maxValidators * maxPower: no overflow
	}
	sort.Slice(vs.vals, func(i, j int) bool {
		a, b := vs.vals[i], vs.vals[j]
		if a.power != b.power {
			return a.power > b.power
		}
		return bytes.Compare(a.address, b.address) < 0
	})
	leaves := make([][]byte, len(vs.vals))
	for i, v := range vs.vals {
		leaves[i] = encodeSimpleValidator(v.pub, v.power)
	}
	vs.hash = merkleRoot(leaves)
	return vs, nil
}

// validatorAddress is ed25519.PubKey.Address: SHA-256 truncated to 20
// bytes.
func validatorAddress(pub []byte) []byte {
	d := sha256.Sum256(pub)
	return d[:addressSize]
}

// merkleRoot is merkle.HashFromByteSlices, the RFC 6962 root of the
// leaves (split at the largest power of two below their number).
func merkleRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		return logHasher.EmptyRoot()
	case 1:
		return logHasher.HashLeaf(leaves[0])
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return logHasher.HashChildren(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// headerHash is types.(*Header).Hash: the Merkle root of the header's 14
// fields, each encoded as cdcEncode does (nil for an empty value, else the
// gogoproto wrapper message), the time as StdTimeMarshal and the last block
// ID as its proto. Like the library it is nil without a validators hash.
func headerHash(h *header) []byte {
	if h == nil || len(h.validatorsHash) == 0 {
		return nil
	}
	return merkleRoot([][]byte{
		encodeConsensus(h),
		cdcString(h.chainID),
		cdcInt64(h.height),
		encodeTimestamp(h.time),
		encodeBlockID(h.lastBlockID),
		cdcBytes(h.lastCommitHash),
		cdcBytes(h.dataHash),
		cdcBytes(h.validatorsHash),
		cdcBytes(h.nextValidatorsHash),
		cdcBytes(h.consensusHash),
		cdcBytes(h.appHash),
		cdcBytes(h.lastResultsHash),
		cdcBytes(h.evidenceHash),
		cdcBytes(h.proposerAddress),
	})
}

// voteSignBytes is types.VoteSignBytes of the vote that commit signature
// idx stands for (types.(*Commit).VoteSignBytes): the length-delimited
// CanonicalVote of a precommit at the commit's height and round, for the
// commit's block ID if the signature's flag is Commit and for no block
// (nil) otherwise, at the signature's timestamp, on chainID. idx must be
// in range.
func voteSignBytes(chainID string, c *commit, idx int) []byte {
	cs := &c.signatures[idx]
	var id *blockID
	if cs.flag == flagCommit && !blockIDIsZero(c.blockID) {
		id = &c.blockID
	}
	return encodeCanonicalVote(chainID, c.height, int64(c.round), id, cs.timestamp)
}

// blockIDIsZero is types.BlockID.IsZero: the ID of no block.
func blockIDIsZero(id blockID) bool {
	return len(id.hash) == 0 && id.parts.total == 0 && len(id.parts.hash) == 0
}

// validHash is types.ValidateHash: empty or 32 bytes.
func validHash(h []byte) bool { return len(h) == 0 || len(h) == hashSize }

// validBlockID is types.BlockID.ValidateBasic.
func validBlockID(id blockID) bool {
	return validHash(id.hash) && validHash(id.parts.hash)
}

// checkHeaderShape is what types.HeaderFromProto checks: the last block
// ID's shape and types.Header.ValidateBasic.
func checkHeaderShape(h *header) error {
	switch {
	case !validBlockID(h.lastBlockID):
		return errors.New("the last block ID is malformed")
	case h.versionBlock != blockProtocol:
		return errors.New("the block protocol is not the expected one")
	case len(h.chainID) > maxChainIDLen:
		return errors.New("the chain ID is too long")
	case h.height <= 0:
		return errors.New("the height is not positive")
	case !validHash(h.lastCommitHash), !validHash(h.dataHash), !validHash(h.evidenceHash),
		!validHash(h.validatorsHash), !validHash(h.nextValidatorsHash), !validHash(h.consensusHash),
		!validHash(h.lastResultsHash):
		return errors.New("a header hash is not 32 bytes")
	case len(h.proposerAddress) != addressSize:
		return errors.New("the proposer address is not 20 bytes")
	}
	return nil
}

// checkCommitSig is types.CommitSig.ValidateBasic.
func checkCommitSig(cs *commitSig) error {
	switch cs.flag {
	case flagAbsent:
		if len(cs.address) != 0 || !cs.timestamp.isZero() || len(cs.signature) != 0 {
			return errors.New("an absent signature carries data")
		}
	case flagCommit, flagNil:
		if len(cs.address) != addressSize || len(cs.signature) == 0 || len(cs.signature) > maxSignatureSize {
			return errors.New("a signature is malformed")
		}
	default:
		return errors.New("a signature has an unknown block ID flag")
	}
	return nil
}

// checkCommitShape is what types.CommitFromProto checks: the block ID's
// shape, each signature's and types.(*Commit).ValidateBasic.
func checkCommitShape(c *commit) error {
	if !validBlockID(c.blockID) {
		return errors.New("the commit's block ID is malformed")
	}
	for i := range c.signatures {
		if err := checkCommitSig(&c.signatures[i]); err != nil {
			return fmt.Errorf("commit signature %d: %w", i, err)
		}
	}
	switch {
	case c.height < 0 || c.round < 0:
		return errors.New("the commit's height or round is negative")
	case c.height >= 1 && blockIDIsZero(c.blockID):
		return errors.New("the commit is for no block")
	case c.height >= 1 && len(c.signatures) == 0:
		return errors.New("the commit has no signatures")
	}
	return nil
}

// decodeCheckedSignedHeader decodes the protobuf encoding of a CometBFT
// signed header (as receipts and proofs carry it) and checks its shape as
// types.SignedHeaderFromProto does (the header's and the commit's basic
// validation). It checks no hash and no signature: verifiedHeader does.
func decodeCheckedSignedHeader(b []byte) (*signedHeader, error) {
	if len(b) > maxSignedHeaderLen {
		return nil, errors.New("the signed header is too large")
	}
	sh, err := decodeSignedHeader(b)
	if err != nil {
		return nil, fmt.Errorf("the signed header does not decode: %w", err)
	}
	if sh.header == nil || sh.commit == nil {
		return nil, errors.New("the signed header is incomplete")
	}
	if err := checkHeaderShape(sh.header); err != nil {
		return nil, fmt.Errorf("the header is malformed: %w", err)
	}
	if err := checkCommitShape(sh.commit); err != nil {
		return nil, fmt.Errorf("the commit is malformed: %w", err)
	}
	return sh, nil
}

// checkSignedHeader is the rest of types.SignedHeader.ValidateBasic for a
// decoded header: it is for chainID, its commit is at its height and
// commits to its hash.
func checkSignedHeader(sh *signedHeader, chainID string) error {
	switch {
	case sh.header.chainID != chainID:
		return errors.New("the header belongs to another chain")
	case sh.commit.height != sh.header.height:
		return errors.New("the commit is not at the header's height")
	case !bytes.Equal(headerHash(sh.header), sh.commit.blockID.hash):
		return errors.New("the commit signs another block")
	}
	return nil
}

// verifyCommit is types.VerifyCommitLightAllSignatures(chainID, vals,
// c.BlockID, c.Height, c) for a commit that passed checkCommitShape: one
// signature per validator, in the set's order; every signature for the
// block (flag Commit) is by the validator at its index and valid; and those
// signers hold more than 2/3 of the total power. As in the library,
// absent and nil-vote signatures are neither checked nor counted.
func verifyCommit(chainID string, vals *validatorSet, c *commit) error {
	if len(c.signatures) != len(vals.vals) {
		return errors.New("the commit does not have one signature per validator")
	}
	needed := vals.total * 2 / 3
	var tallied int64
	for i := range c.signatures {
		cs := &c.signatures[i]
		if cs.flag != flagCommit {
			continue
		}
		v := vals.vals[i]
		if !bytes.Equal(v.address, cs.address) {
			return fmt.Errorf("signature %d is not by the validator at its index", i)
		}
		if len(cs.signature) != ed25519.SignatureSize || !ed25519.Verify(v.pub, voteSignBytes(chainID, c, i), cs.signature) {
			return fmt.Errorf("signature %d is not valid", i)
		}
		tallied += v.power
	}
	if tallied <= needed {
		return errors.New("the signers hold no more than 2/3 of the power")
	}
	return nil
}
