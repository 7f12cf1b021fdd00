package trust

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"

	"github.com/cometbft/cometbft/crypto/merkle"
	"github.com/cometbft/cometbft/libs/protoio"
	cmtcrypto "github.com/cometbft/cometbft/proto/tendermint/crypto"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/version"
	gogotypes "github.com/cosmos/gogoproto/types"
)

// This file checks CometBFT signed headers from their protobuf types
// alone. CometBFT's own checks live in its types package, which cannot be
// imported here: a non-test file of it (test_util.go) imports testify and
// so net/http/httptest, and its ed25519 (curve25519-voi) does not build
// for js/wasm without a build tag. So the header hash, the validator-set
// hash, the vote sign bytes and the commit check are written again here,
// exactly as CometBFT v0.38 computes them (the functions named in each
// doc comment), and header_diff_test.go holds them equal to the library
// over random validator sets, headers and commits.
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
)

// Block ID flags of a commit signature (types.BlockIDFlag).
const (
	flagAbsent = cmtproto.BlockIDFlagAbsent
	flagCommit = cmtproto.BlockIDFlagCommit
	flagNil    = cmtproto.BlockIDFlagNil
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
		b, err := validatorBytes(v)
		if err != nil {
			return nil, ErrInvalidTrust.With("the trust configuration has a bad validator", err)
		}
		leaves[i] = b
	}
	vs.hash = merkle.HashFromByteSlices(leaves)
	return vs, nil
}

// validatorAddress is ed25519.PubKey.Address: SHA-256 truncated to 20
// bytes.
func validatorAddress(pub []byte) []byte {
	d := sha256.Sum256(pub)
	return d[:addressSize]
}

// validatorBytes is types.(*Validator).Bytes: the SimpleValidator proto.
func validatorBytes(v pinnedValidator) ([]byte, error) {
	pk := cmtcrypto.PublicKey{Sum: &cmtcrypto.PublicKey_Ed25519{Ed25519: v.pub}}
	sv := cmtproto.SimpleValidator{PubKey: &pk, VotingPower: v.power}
	return sv.Marshal()
}

// headerHash is types.(*Header).Hash: the Merkle root of the header's 14
// fields, each encoded as cdcEncode does (nil for an empty value, else the
// gogoproto wrapper message), the time as StdTimeMarshal and the last block
// ID as its proto. Like the library it is nil without a validators hash,
// and nil if a field does not encode.
func headerHash(h *cmtproto.Header) []byte {
	if h == nil || len(h.ValidatorsHash) == 0 {
		return nil
	}
	hbz, err := h.Version.Marshal()
	if err != nil {
		return nil
	}
	pbt, err := gogotypes.StdTimeMarshal(h.Time)
	if err != nil {
		return nil
	}
	bzbi, err := h.LastBlockId.Marshal()
	if err != nil {
		return nil
	}
	return merkle.HashFromByteSlices([][]byte{
		hbz,
		cdcString(h.ChainID),
		cdcInt64(h.Height),
		pbt,
		bzbi,
		cdcBytes(h.LastCommitHash),
		cdcBytes(h.DataHash),
		cdcBytes(h.ValidatorsHash),
		cdcBytes(h.NextValidatorsHash),
		cdcBytes(h.ConsensusHash),
		cdcBytes(h.AppHash),
		cdcBytes(h.LastResultsHash),
		cdcBytes(h.EvidenceHash),
		cdcBytes(h.ProposerAddress),
	})
}

// cdcString, cdcInt64 and cdcBytes are types.cdcEncode for each type it
// handles: an empty string or byte slice is nil; an int64 is never empty.
func cdcString(s string) []byte {
	if s == "" {
		return nil
	}
	b, err := (&gogotypes.StringValue{Value: s}).Marshal()
	if err != nil {
		return nil
	}
	return b
}

func cdcInt64(i int64) []byte {
	b, err := (&gogotypes.Int64Value{Value: i}).Marshal()
	if err != nil {
		return nil
	}
	return b
}

func cdcBytes(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	b, err := (&gogotypes.BytesValue{Value: v}).Marshal()
	if err != nil {
		return nil
	}
	return b
}

// voteSignBytes is types.VoteSignBytes of the vote that commit signature
// idx stands for (types.(*Commit).VoteSignBytes): the length-delimited
// CanonicalVote of a precommit at the commit's height and round, for the
// commit's block ID if the signature's flag is Commit and for no block
// (nil) otherwise, at the signature's timestamp, on chainID. idx must be
// in range.
func voteSignBytes(chainID string, c *cmtproto.Commit, idx int) ([]byte, error) {
	cs := c.Signatures[idx]
	var blockID *cmtproto.CanonicalBlockID
	if cs.BlockIdFlag == flagCommit && !blockIDIsZero(c.BlockID) {
		blockID = &cmtproto.CanonicalBlockID{Hash: c.BlockID.Hash,
			PartSetHeader: cmtproto.CanonicalPartSetHeader{Total: c.BlockID.PartSetHeader.Total, Hash: c.BlockID.PartSetHeader.Hash}}
	}
	cv := cmtproto.CanonicalVote{
		Type:      cmtproto.PrecommitType,
		Height:    c.Height,
		Round:     int64(c.Round),
		BlockID:   blockID,
		Timestamp: cs.Timestamp,
		ChainID:   chainID,
	}
	return protoio.MarshalDelimited(&cv)
}

// blockIDIsZero is types.BlockID.IsZero: the ID of no block.
func blockIDIsZero(id cmtproto.BlockID) bool {
	return len(id.Hash) == 0 && id.PartSetHeader.Total == 0 && len(id.PartSetHeader.Hash) == 0
}

// validHash is types.ValidateHash: empty or 32 bytes.
func validHash(h []byte) bool { return len(h) == 0 || len(h) == hashSize }

// validBlockID is types.BlockID.ValidateBasic.
func validBlockID(id cmtproto.BlockID) bool {
	return validHash(id.Hash) && validHash(id.PartSetHeader.Hash)
}

// checkHeaderShape is what types.HeaderFromProto checks: the last block
// ID's shape and types.Header.ValidateBasic.
func checkHeaderShape(h *cmtproto.Header) error {
	switch {
	case !validBlockID(h.LastBlockId):
		return errors.New("the last block ID is malformed")
	case h.Version.Block != version.BlockProtocol:
		return errors.New("the block protocol is not the expected one")
	case len(h.ChainID) > maxChainIDLen:
		return errors.New("the chain ID is too long")
	case h.Height <= 0:
		return errors.New("the height is not positive")
	case !validHash(h.LastCommitHash), !validHash(h.DataHash), !validHash(h.EvidenceHash),
		!validHash(h.ValidatorsHash), !validHash(h.NextValidatorsHash), !validHash(h.ConsensusHash),
		!validHash(h.LastResultsHash):
		return errors.New("a header hash is not 32 bytes")
	case len(h.ProposerAddress) != addressSize:
		return errors.New("the proposer address is not 20 bytes")
	}
	return nil
}

// checkCommitSig is types.CommitSig.ValidateBasic.
func checkCommitSig(cs *cmtproto.CommitSig) error {
	switch cs.BlockIdFlag {
	case flagAbsent:
		if len(cs.ValidatorAddress) != 0 || !cs.Timestamp.IsZero() || len(cs.Signature) != 0 {
			return errors.New("an absent signature carries data")
		}
	case flagCommit, flagNil:
		if len(cs.ValidatorAddress) != addressSize || len(cs.Signature) == 0 || len(cs.Signature) > maxSignatureSize {
			return errors.New("a signature is malformed")
		}
	default:
		return errors.New("a signature has an unknown block ID flag")
	}
	return nil
}

// checkCommitShape is what types.CommitFromProto checks: the block ID's
// shape, each signature's and types.(*Commit).ValidateBasic.
func checkCommitShape(c *cmtproto.Commit) error {
	if !validBlockID(c.BlockID) {
		return errors.New("the commit's block ID is malformed")
	}
	for i := range c.Signatures {
		if err := checkCommitSig(&c.Signatures[i]); err != nil {
			return fmt.Errorf("commit signature %d: %w", i, err)
		}
	}
	switch {
	case c.Height < 0 || c.Round < 0:
		return errors.New("the commit's height or round is negative")
	case c.Height >= 1 && blockIDIsZero(c.BlockID):
		return errors.New("the commit is for no block")
	case c.Height >= 1 && len(c.Signatures) == 0:
		return errors.New("the commit has no signatures")
	}
	return nil
}

// DecodeSignedHeader decodes the protobuf encoding of a CometBFT signed
// header (as receipts and proofs carry it) and checks its shape as
// types.SignedHeaderFromProto does (the header's and the commit's basic
// validation). It checks no hash and no signature: verifiedHeader does.
func DecodeSignedHeader(b []byte) (*cmtproto.SignedHeader, error) {
	if len(b) > maxSignedHeaderLen {
		return nil, errors.New("the signed header is too large")
	}
	var sh cmtproto.SignedHeader
	if err := sh.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("the signed header does not decode: %w", err)
	}
	if sh.Header == nil || sh.Commit == nil {
		return nil, errors.New("the signed header is incomplete")
	}
	if err := checkHeaderShape(sh.Header); err != nil {
		return nil, fmt.Errorf("the header is malformed: %w", err)
	}
	if err := checkCommitShape(sh.Commit); err != nil {
		return nil, fmt.Errorf("the commit is malformed: %w", err)
	}
	return &sh, nil
}

// EncodeSignedHeader is the encoding DecodeSignedHeader reads (a CometBFT
// types.SignedHeader gives it with ToProto).
func EncodeSignedHeader(sh *cmtproto.SignedHeader) ([]byte, error) {
	b, err := sh.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the signed header: %w", err)
	}
	return b, nil
}

// checkSignedHeader is the rest of types.SignedHeader.ValidateBasic for a
// decoded header: it is for chainID, its commit is at its height and
// commits to its hash.
func checkSignedHeader(sh *cmtproto.SignedHeader, chainID string) error {
	switch {
	case sh.Header.ChainID != chainID:
		return errors.New("the header belongs to another chain")
	case sh.Commit.Height != sh.Header.Height:
		return errors.New("the commit is not at the header's height")
	case !bytes.Equal(headerHash(sh.Header), sh.Commit.BlockID.Hash):
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
func verifyCommit(chainID string, vals *validatorSet, c *cmtproto.Commit) error {
	if len(c.Signatures) != len(vals.vals) {
		return errors.New("the commit does not have one signature per validator")
	}
	needed := vals.total * 2 / 3
	var tallied int64
	for i := range c.Signatures {
		cs := &c.Signatures[i]
		if cs.BlockIdFlag != flagCommit {
			continue
		}
		v := vals.vals[i]
		if !bytes.Equal(v.address, cs.ValidatorAddress) {
			return fmt.Errorf("signature %d is not by the validator at its index", i)
		}
		msg, err := voteSignBytes(chainID, c, i)
		if err != nil {
			return fmt.Errorf("encoding the vote of signature %d: %w", i, err)
		}
		if len(cs.Signature) != ed25519.SignatureSize || !ed25519.Verify(v.pub, msg, cs.Signature) {
			return fmt.Errorf("signature %d is not valid", i)
		}
		tallied += v.power
	}
	if tallied <= needed {
		return errors.New("the signers hold no more than 2/3 of the power")
	}
	return nil
}
