package trust

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/crypto/merkle"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests hold header.go equal to CometBFT's types package, which it
// re-implements (see header.go for why): over random validator sets,
// headers and commits built with the library's types and signed by real
// keys, the hashes and sign bytes are the library's, and the verdict of
// verifiedHeader is the verdict of the check it replaced, written here with
// the library (libVerify).

// Stages of a verdict: the signed header does not decode (or is malformed),
// it does not verify, or it verifies.
const (
	stageOK = iota
	stageInvalid
	stageUnverified
)

// libVerify is verifiedHeader as it was written with CometBFT's types
// package.
func libVerify(enc []byte, height int64, validatorsHash []byte, tr Trust) int {
	var pb cmtproto.SignedHeader
	if err := pb.Unmarshal(enc); err != nil || pb.Header == nil || pb.Commit == nil {
		return stageInvalid
	}
	sh, err := types.SignedHeaderFromProto(&pb)
	if err != nil {
		return stageInvalid
	}
	vals := libValidatorSet(tr)
	if sh.ValidateBasic(tr.ChainID) != nil || height < 1 || sh.Height != height+1 ||
		!bytes.Equal(sh.ValidatorsHash, vals.Hash()) || !bytes.Equal(validatorsHash, vals.Hash()) {
		return stageUnverified
	}
	if types.VerifyCommitLightAllSignatures(tr.ChainID, vals, sh.Commit.BlockID, sh.Height, sh.Commit) != nil {
		return stageUnverified
	}
	return stageOK
}

func libValidatorSet(tr Trust) *types.ValidatorSet {
	var vs []*types.Validator
	for _, v := range tr.Validators {
		vs = append(vs, types.NewValidator(cmted25519.PubKey(bytes.Clone(v.PubKey)), v.Power))
	}
	return types.NewValidatorSet(vs)
}

// ownVerify is verifiedHeader's verdict as a stage.
func ownVerify(t testing.TB, enc []byte, height int64, validatorsHash []byte, tr Trust) int {
	h, err := verifiedHeader(enc, height, validatorsHash, tr, ErrReceiptUnverified, ErrInvalidReceipt)
	switch {
	case err == nil:
		if h == nil {
			t.Fatal("verifiedHeader returned no header and no error")
		}
		return stageOK
	case errors.Is(err, ErrInvalidReceipt):
		return stageInvalid
	case errors.Is(err, ErrReceiptUnverified):
		return stageUnverified
	}
	t.Fatalf("verifiedHeader: an error of another kind: %v", err)
	return -1
}

// chain is a random validator set with its keys, and one header of it
// with its commit, built with the library's types.
type chain struct {
	chainID string
	privs   map[string]cmted25519.PrivKey // by address
	vals    *types.ValidatorSet
	trust   Trust
	header  types.Header
	commit  *types.Commit
}

// newChain makes 1 to 10 validators with random powers (often equal, so
// the address breaks the tie) and a header with random fields, some of
// them empty (cdcEncode's nil).
func newChain(t testing.TB, r *rand.Rand) *chain {
	c := &chain{chainID: fmt.Sprintf("chain-%d", r.IntN(1000)), privs: map[string]cmted25519.PrivKey{}}
	c.trust.ChainID = c.chainID
	var vs []*types.Validator
	for range 1 + r.IntN(10) {
		secret := make([]byte, 32)
		for i := range secret {
			secret[i] = byte(r.UintN(256))
		}
		priv := cmted25519.GenPrivKeyFromSecret(secret)
		power := int64(10)
		if r.IntN(2) == 0 {
			power = 1 + r.Int64N(1<<20)
		}
		vs = append(vs, types.NewValidator(priv.PubKey(), power))
		c.privs[string(priv.PubKey().Address())] = priv
		c.trust.Validators = append(c.trust.Validators, TrustedValidator{PubKey: priv.PubKey().Bytes(), Power: power})
	}
	c.vals = types.NewValidatorSet(vs)
	hash := func(empty bool) []byte {
		if empty && r.IntN(3) == 0 {
			return nil
		}
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return b
	}
	height := 2 + r.Int64N(1<<40)
	c.header = types.Header{
		Version:            cmtversion.Consensus{Block: version.BlockProtocol, App: r.Uint64N(5)},
		ChainID:            c.chainID,
		Height:             height,
		Time:               time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC(),
		LastBlockID:        types.BlockID{Hash: hash(true), PartSetHeader: types.PartSetHeader{Total: r.Uint32N(4), Hash: hash(true)}},
		LastCommitHash:     hash(true),
		DataHash:           hash(true),
		ValidatorsHash:     c.vals.Hash(),
		NextValidatorsHash: c.vals.Hash(),
		ConsensusHash:      hash(true),
		AppHash:            hash(true),
		LastResultsHash:    hash(true),
		EvidenceHash:       hash(true),
		ProposerAddress:    c.vals.Validators[r.IntN(len(vs))].Address,
	}
	return c
}

// sign makes the header's commit: the signature of validator i has
// flags[i] (Commit or Nil signed with the validator's key, Absent empty).
func (c *chain) sign(t testing.TB, flags []types.BlockIDFlag, round int32) {
	blockID := types.BlockID{Hash: c.header.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: bytes.Repeat([]byte{7}, 32)}}
	c.commit = &types.Commit{Height: c.header.Height, Round: round, BlockID: blockID}
	for i, v := range c.vals.Validators {
		if flags[i] == types.BlockIDFlagAbsent {
			c.commit.Signatures = append(c.commit.Signatures, types.NewCommitSigAbsent())
			continue
		}
		c.commit.Signatures = append(c.commit.Signatures, types.CommitSig{BlockIDFlag: flags[i],
			ValidatorAddress: v.Address, Timestamp: c.header.Time.Add(time.Duration(i) * time.Millisecond)})
		c.resign(t, i)
	}
}

// resign signs commit signature i again, as it now stands.
func (c *chain) resign(t testing.TB, i int) {
	cs := &c.commit.Signatures[i]
	sig, err := c.privs[string(cs.ValidatorAddress)].Sign(c.commit.VoteSignBytes(c.chainID, int32(i)))
	require.NoError(t, err)
	cs.Signature = sig
}

func (c *chain) encode(t testing.TB) []byte {
	b, err := (&types.SignedHeader{Header: &c.header, Commit: c.commit}).ToProto().Marshal()
	require.NoError(t, err)
	return b
}

// ownHeader is the library's header encoded by the library and decoded by
// wire.go.
func ownHeader(t testing.TB, h types.Header) *header {
	b, err := h.ToProto().Marshal()
	require.NoError(t, err)
	own := &header{time: zeroTime}
	require.NoError(t, decodeHeader(b, own))
	return own
}

// ownCommit is the library's commit encoded by the library and decoded by
// wire.go.
func ownCommit(t testing.TB, c *types.Commit) *commit {
	b, err := c.ToProto().Marshal()
	require.NoError(t, err)
	own := &commit{}
	require.NoError(t, decodeCommit(b, own))
	return own
}

// randomFlags mostly signs for the block, sometimes votes nil or is
// absent.
func randomFlags(r *rand.Rand, n int) []types.BlockIDFlag {
	flags := make([]types.BlockIDFlag, n)
	for i := range flags {
		switch r.IntN(8) {
		case 0:
			flags[i] = types.BlockIDFlagAbsent
		case 1:
			flags[i] = types.BlockIDFlagNil
		default:
			flags[i] = types.BlockIDFlagCommit
		}
	}
	return flags
}

func allCommit(n int) []types.BlockIDFlag {
	flags := make([]types.BlockIDFlag, n)
	for i := range flags {
		flags[i] = types.BlockIDFlagCommit
	}
	return flags
}

// commitPower is the power of the signatures for the block.
func (c *chain) commitPower() int64 {
	var p int64
	for i, cs := range c.commit.Signatures {
		if cs.BlockIDFlag == types.BlockIDFlagCommit {
			p += c.vals.Validators[i].VotingPower
		}
	}
	return p
}

func (c *chain) enough() bool { return c.commitPower() > c.vals.TotalVotingPower()*2/3 }

func TestHeaderHashesEqualLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 5))
	for n := range 300 {
		c := newChain(t, r)
		own, err := c.trust.validatorSet()
		require.NoError(t, err)
		require.Equal(t, c.vals.Hash(), own.hash, "validator set hash, chain %d", n)
		require.Equal(t, c.vals.TotalVotingPower(), own.total)
		for i, v := range c.vals.Validators {
			require.Equal(t, []byte(v.Address), own.vals[i].address, "validator order, chain %d", n)
		}
		require.Equal(t, []byte(c.header.Hash()), headerHash(ownHeader(t, c.header)), "header hash, chain %d", n)
		noChain := c.header
		noChain.ChainID = ""
		require.Equal(t, []byte(noChain.Hash()), headerHash(ownHeader(t, noChain)), "header hash without a chain ID, chain %d", n)
		zero := c.header // every field that can be empty is, and the time is Go's zero
		zero.Version, zero.ChainID, zero.Height, zero.Time = cmtversion.Consensus{}, "", 0, time.Time{}
		zero.LastBlockID, zero.LastCommitHash, zero.DataHash, zero.ConsensusHash = types.BlockID{}, nil, nil, nil
		zero.AppHash, zero.LastResultsHash, zero.EvidenceHash, zero.ProposerAddress = nil, nil, nil, nil
		require.Equal(t, []byte(zero.Hash()), headerHash(ownHeader(t, zero)), "header hash with empty fields, chain %d", n)

		c.sign(t, randomFlags(r, c.vals.Size()), r.Int32N(3))
		if r.IntN(4) == 0 { // a signature at Go's zero time, and one at height 0, round 0
			c.commit.Signatures[0].Timestamp = time.Time{}
		}
		oc := ownCommit(t, c.commit)
		for i := range c.commit.Signatures {
			require.Equal(t, c.commit.VoteSignBytes(c.chainID, int32(i)), voteSignBytes(c.chainID, oc, i),
				"sign bytes of signature %d (%v), chain %d", i, c.commit.Signatures[i].BlockIDFlag, n)
		}
		c.commit.Height, c.commit.Round, c.commit.BlockID = 0, 0, types.BlockID{}
		oc = ownCommit(t, c.commit)
		for i := range c.commit.Signatures {
			require.Equal(t, c.commit.VoteSignBytes(c.chainID, int32(i)), voteSignBytes(c.chainID, oc, i),
				"sign bytes of signature %d at height 0, chain %d", i, n)
		}
	}
	// A header without a validators hash has no hash, as in the library.
	var h types.Header
	assert.Nil(t, headerHash(ownHeader(t, h)))
	assert.Nil(t, []byte(h.Hash()))
	// The constants header.go and wire.go copy.
	assert.Equal(t, types.MaxSignatureSize, maxSignatureSize)
	assert.Equal(t, types.MaxChainIDLen, maxChainIDLen)
	assert.Less(t, int64(maxValidators)*maxPower, types.MaxTotalVotingPower)
	assert.Equal(t, version.BlockProtocol, uint64(blockProtocol))
	assert.Equal(t, cmtproto.PrecommitType, cmtproto.SignedMsgType(precommitType))
	assert.Equal(t, []cmtproto.BlockIDFlag{cmtproto.BlockIDFlagAbsent, cmtproto.BlockIDFlagCommit, cmtproto.BlockIDFlagNil},
		[]cmtproto.BlockIDFlag{flagAbsent, flagCommit, flagNil})
}

// TestMerkleRootEqualsLibrary: merkleRoot is merkle.HashFromByteSlices for
// every number of leaves up to 70, empty and nil leaves included.
func TestMerkleRootEqualsLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 10))
	for n := range 70 {
		leaves := make([][]byte, n)
		for i := range leaves {
			switch r.IntN(4) {
			case 0: // nil
			case 1:
				leaves[i] = []byte{}
			default:
				leaves[i] = make([]byte, r.IntN(40))
				for j := range leaves[i] {
					leaves[i][j] = byte(r.UintN(256))
				}
			}
		}
		require.Equal(t, merkle.HashFromByteSlices(leaves), merkleRoot(leaves), "%d leaves", n)
	}
}

// TestVerdictEqualsLibrary checks valid commits and each tampering on many
// random chains: verifiedHeader's verdict is the library's, and is the
// one expected (so a check that both skip would be caught).
func TestVerdictEqualsLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 6))
	type tamper struct {
		name string
		// apply changes the chain (and may re-sign); it returns the receipt
		// height, the trust and the validators hash to verify against, and
		// whether the header must verify.
		apply func(c *chain, tr *Trust, height *int64, vh *[]byte) (want bool)
	}
	commitIdx := func(c *chain) []int {
		var idx []int
		for i, cs := range c.commit.Signatures {
			if cs.BlockIDFlag == types.BlockIDFlagCommit {
				idx = append(idx, i)
			}
		}
		return idx
	}
	tampers := []tamper{
		{"valid", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool { return c.enough() }},
		{"pinned validators in another order", func(c *chain, tr *Trust, _ *int64, _ *[]byte) bool {
			r.Shuffle(len(tr.Validators), func(i, j int) { tr.Validators[i], tr.Validators[j] = tr.Validators[j], tr.Validators[i] })
			return c.enough()
		}},
		{"bad signature", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if len(idx) == 0 {
				return false
			}
			s := &c.commit.Signatures[idx[r.IntN(len(idx))]]
			s.Signature = bytes.Clone(s.Signature)
			s.Signature[r.IntN(len(s.Signature))] ^= 1 << r.UintN(8)
			return false
		}},
		{"short signature", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if len(idx) == 0 {
				return false
			}
			s := &c.commit.Signatures[idx[r.IntN(len(idx))]]
			s.Signature = s.Signature[:len(s.Signature)-1]
			return false
		}},
		{"signed by another validator's key", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if c.vals.Size() < 2 || len(idx) == 0 {
				return c.enough() // nothing to tamper with
			}
			i := idx[r.IntN(len(idx))]
			other := c.vals.Validators[(i+1)%c.vals.Size()].Address
			sig, err := c.privs[string(other)].Sign(c.commit.VoteSignBytes(c.chainID, int32(i)))
			require.NoError(t, err)
			c.commit.Signatures[i].Signature = sig
			return false
		}},
		{"no more than 2/3 of the power", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			for _, i := range commitIdx(c) {
				if !c.enough() {
					break
				}
				c.commit.Signatures[i] = types.NewCommitSigAbsent()
			}
			return false
		}},
		{"missing signatures", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if len(idx) > 0 {
				c.commit.Signatures[idx[r.IntN(len(idx))]] = types.NewCommitSigAbsent()
			}
			return c.enough()
		}},
		{"nil votes", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			for _, i := range commitIdx(c) {
				if r.IntN(2) == 0 {
					c.commit.Signatures[i].BlockIDFlag = types.BlockIDFlagNil
					c.resign(t, i)
				}
			}
			return c.enough()
		}},
		{"nil vote with a bad signature (not checked, as in the library)", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if len(idx) == 0 {
				return false
			}
			s := &c.commit.Signatures[idx[0]]
			s.BlockIDFlag = types.BlockIDFlagNil
			s.Signature = bytes.Repeat([]byte{1}, 64)
			return c.enough()
		}},
		{"commit signature counted as a nil vote", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if len(idx) == 0 {
				return false
			}
			c.commit.Signatures[idx[0]].BlockIDFlag = types.BlockIDFlagNil // signed for the block
			return c.enough()
		}},
		{"nil vote claimed for the block", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			for i, cs := range c.commit.Signatures {
				if cs.BlockIDFlag == types.BlockIDFlagNil {
					c.commit.Signatures[i].BlockIDFlag = types.BlockIDFlagCommit // signed nil
					return false
				}
			}
			return c.enough()
		}},
		{"wrong chain ID pinned", func(c *chain, tr *Trust, _ *int64, _ *[]byte) bool {
			tr.ChainID = c.chainID + "x"
			return false
		}},
		{"header of another chain, signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.header.ChainID = c.chainID + "x"
			c.sign(t, allCommit(c.vals.Size()), 0)
			return false
		}},
		{"signed on another chain", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			id := c.chainID
			c.chainID += "x"
			for _, i := range commitIdx(c) {
				c.resign(t, i)
			}
			c.chainID = id
			return len(commitIdx(c)) == 0 && c.enough()
		}},
		{"wrong receipt height", func(c *chain, _ *Trust, h *int64, _ *[]byte) bool {
			*h += []int64{-1, 1, 2}[r.IntN(3)]
			return false
		}},
		{"commit at another height, signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.Height++
			for _, i := range commitIdx(c) {
				c.resign(t, i)
			}
			return false
		}},
		{"another round, signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.Round++
			for _, i := range commitIdx(c) {
				c.resign(t, i)
			}
			return c.enough()
		}},
		{"another round, not signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.Round++
			return len(commitIdx(c)) == 0 && c.enough()
		}},
		{"another block ID, signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.BlockID.Hash = bytes.Repeat([]byte{9}, 32)
			for _, i := range commitIdx(c) {
				c.resign(t, i)
			}
			return false
		}},
		{"another part set header, signed (not bound to the header, as in the library)", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.BlockID.PartSetHeader.Total++
			for _, i := range commitIdx(c) {
				c.resign(t, i)
			}
			return c.enough()
		}},
		{"another part set header, not signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.BlockID.PartSetHeader.Total++
			return len(commitIdx(c)) == 0 && c.enough()
		}},
		{"header changed after signing", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.header.AppHash = bytes.Repeat([]byte{3}, 32)
			return false
		}},
		{"another validator set pinned", func(c *chain, tr *Trust, _ *int64, vh *[]byte) bool {
			other := newChain(t, r)
			tr.Validators = other.trust.Validators
			*vh = other.vals.Hash()
			return false
		}},
		{"a pinned validator's power changed", func(c *chain, tr *Trust, _ *int64, vh *[]byte) bool {
			tr.Validators[0].Power++
			*vh = libValidatorSet(*tr).Hash()
			return false
		}},
		{"header names another validator set, signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.header.ValidatorsHash = bytes.Repeat([]byte{5}, 32)
			c.sign(t, allCommit(c.vals.Size()), 0)
			return false
		}},
		{"another validators hash given", func(c *chain, _ *Trust, _ *int64, vh *[]byte) bool {
			*vh = bytes.Repeat([]byte{5}, 32)
			return false
		}},
		{"reordered signatures", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if len(idx) < 2 {
				return c.enough()
			}
			s := c.commit.Signatures
			s[idx[0]], s[idx[1]] = s[idx[1]], s[idx[0]]
			return false
		}},
		{"extra signature", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.Signatures = append(c.commit.Signatures, types.NewCommitSigAbsent())
			return false
		}},
		{"short signature list", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.Signatures = c.commit.Signatures[:len(c.commit.Signatures)-1]
			return false
		}},
		{"signature timestamp changed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			idx := commitIdx(c)
			if len(idx) == 0 {
				return false
			}
			c.commit.Signatures[idx[r.IntN(len(idx))]].Timestamp = c.header.Time.Add(time.Second)
			return false
		}},
		{"malformed commit block ID", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.BlockID.Hash = c.commit.BlockID.Hash[:31]
			return false
		}},
		{"malformed last block ID, signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.header.LastBlockID.PartSetHeader.Hash = make([]byte, 33)
			c.sign(t, allCommit(c.vals.Size()), 0)
			return false
		}},
		{"proposer address of 19 bytes, signed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.header.ProposerAddress = c.header.ProposerAddress[:19]
			c.sign(t, allCommit(c.vals.Size()), 0)
			return false
		}},
		{"absent signature with a timestamp", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.commit.Signatures = append(c.commit.Signatures[:0:0], c.commit.Signatures...)
			c.commit.Signatures[0] = types.CommitSig{BlockIDFlag: types.BlockIDFlagAbsent, Timestamp: c.header.Time}
			return false
		}},
		{"header time changed", func(c *chain, _ *Trust, _ *int64, _ *[]byte) bool {
			c.header.Time = c.header.Time.Add(time.Nanosecond)
			return false
		}},
	}
	runs := map[string][2]int{} // tamper -> verified, refused
	for n := range 120 {
		for _, tc := range tampers {
			c := newChain(t, r)
			flags := allCommit(c.vals.Size())
			if r.IntN(2) == 0 {
				flags = randomFlags(r, c.vals.Size())
			}
			c.sign(t, flags, r.Int32N(2))
			tr := Trust{ChainID: c.trust.ChainID, Validators: slices.Clone(c.trust.Validators)}
			height, vh := c.header.Height-1, []byte(c.vals.Hash())
			want := tc.apply(c, &tr, &height, &vh)
			enc := c.encode(t)
			lib, own := libVerify(enc, height, vh, tr), ownVerify(t, enc, height, vh, tr)
			require.Equal(t, lib, own, "%s, run %d: the library says %d, verifiedHeader %d", tc.name, n, lib, own)
			require.Equal(t, want, own == stageOK, "%s, run %d: verdict %d", tc.name, n, own)
			v := runs[tc.name]
			if own == stageOK {
				v[0]++
			} else {
				v[1]++
			}
			runs[tc.name] = v
		}
	}
	// The valid case must mostly verify, or the test proves nothing.
	assert.Greater(t, runs["valid"][0], 60)
	assert.Greater(t, runs["nil votes"][0], 10)
	t.Logf("verified, refused per tampering: %v", runs)
}

// TestTrustFromGenesisEqualsLibrary writes genesis files with CometBFT's
// own JSON and reads them back.
func TestTrustFromGenesisEqualsLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 7))
	dir := t.TempDir()
	for n := range 20 {
		c := newChain(t, r)
		doc := types.GenesisDoc{ChainID: c.chainID, GenesisTime: time.Unix(1700000000, 0).UTC(), InitialHeight: 1}
		for _, v := range c.vals.Validators {
			doc.Validators = append(doc.Validators, types.GenesisValidator{Address: v.Address, PubKey: v.PubKey, Power: v.VotingPower, Name: "v"})
		}
		require.NoError(t, doc.ValidateAndComplete())
		path := filepath.Join(dir, fmt.Sprintf("genesis-%d.json", n))
		require.NoError(t, doc.SaveAs(path))

		got, err := TrustFromGenesis(path)
		require.NoError(t, err)
		lib, err := types.GenesisDocFromFile(path)
		require.NoError(t, err)
		require.Equal(t, lib.ChainID, got.ChainID)
		require.Len(t, got.Validators, len(lib.Validators))
		for i, v := range lib.Validators {
			assert.Equal(t, v.PubKey.Bytes(), got.Validators[i].PubKey)
			assert.Equal(t, v.Power, got.Validators[i].Power)
		}
		vs, err := got.validatorSet()
		require.NoError(t, err)
		assert.Equal(t, c.vals.Hash(), vs.hash)
	}
}

// FuzzVerifySignedHeader feeds arbitrary bytes as the signed header of a
// fixed chain: verifiedHeader never panics, and its verdict (does not
// decode, does not verify, verifies) is the library's.
func FuzzVerifySignedHeader(f *testing.F) {
	r := rand.New(rand.NewPCG(14, 8))
	c := newChain(f, r)
	for len(c.trust.Validators) < 3 { // a few validators, so flags vary
		c = newChain(f, r)
	}
	tr, height, vh := c.trust, c.header.Height-1, []byte(c.vals.Hash())
	flags := allCommit(c.vals.Size())
	c.sign(f, flags, 0)
	valid := c.encode(f)
	if ownVerify(f, valid, height, vh, tr) != stageOK {
		f.Fatal("the valid seed does not verify")
	}
	f.Add(valid) // valid, every validator signed
	flags[0], flags[1] = types.BlockIDFlagAbsent, types.BlockIDFlagNil
	c.sign(f, flags, 1)
	f.Add(c.encode(f)) // one absent, one nil vote, round 1
	c.commit.Signatures = c.commit.Signatures[1:]
	f.Add(c.encode(f))  // short signature list
	f.Add([]byte{})     // empty
	f.Add([]byte{0x0a}) // a truncated field
	f.Fuzz(func(t *testing.T, enc []byte) {
		lib, own := libVerify(enc, height, vh, tr), ownVerify(t, enc, height, vh, tr)
		if lib != own && !(own == stageInvalid && wireStricter(enc)) {
			t.Fatalf("the library says %d, verifiedHeader %d", lib, own)
		}
	})
}

// wireStricter reports whether enc is one of the malformed wire encodings
// that gogoproto reads and protowire refuses (wire.go): the library decodes
// it, wire.go fails with errWire.
func wireStricter(enc []byte) bool {
	var pb cmtproto.SignedHeader
	_, err := decodeSignedHeader(enc)
	return pb.Unmarshal(enc) == nil && errors.Is(err, errWire)
}

// toLib is a decoded signed header in the library's protobuf types.
func toLib(sh *signedHeader) *cmtproto.SignedHeader {
	bid := func(id blockID) cmtproto.BlockID {
		return cmtproto.BlockID{Hash: id.hash, PartSetHeader: cmtproto.PartSetHeader{Total: id.parts.total, Hash: id.parts.hash}}
	}
	var pb cmtproto.SignedHeader
	if h := sh.header; h != nil {
		pb.Header = &cmtproto.Header{Version: cmtversion.Consensus{Block: h.versionBlock, App: h.versionApp},
			ChainID: h.chainID, Height: h.height, Time: h.time.asTime(), LastBlockId: bid(h.lastBlockID),
			LastCommitHash: h.lastCommitHash, DataHash: h.dataHash, ValidatorsHash: h.validatorsHash,
			NextValidatorsHash: h.nextValidatorsHash, ConsensusHash: h.consensusHash, AppHash: h.appHash,
			LastResultsHash: h.lastResultsHash, EvidenceHash: h.evidenceHash, ProposerAddress: h.proposerAddress}
	}
	if c := sh.commit; c != nil {
		pb.Commit = &cmtproto.Commit{Height: c.height, Round: c.round, BlockID: bid(c.blockID)}
		for _, cs := range c.signatures {
			pb.Commit.Signatures = append(pb.Commit.Signatures, cmtproto.CommitSig{BlockIdFlag: cmtproto.BlockIDFlag(cs.flag),
				ValidatorAddress: cs.address, Timestamp: cs.timestamp.asTime(), Signature: cs.signature})
		}
	}
	return &pb
}

// checkDecodeEqualsLibrary decodes enc with wire.go and with the library:
// both refuse it, or both decode the same fields (wire.go may refuse a
// malformed wire encoding the library reads: wireStricter); both find its
// shape valid or not; and for a valid shape, the header hash and every
// vote's sign bytes are the library's.
func checkDecodeEqualsLibrary(t *testing.T, enc []byte) {
	var pb cmtproto.SignedHeader
	libErr := pb.Unmarshal(enc)
	own, err := decodeSignedHeader(enc)
	switch {
	case libErr != nil && err != nil:
		return
	case libErr != nil:
		t.Fatalf("the library refuses the encoding (%v), wire.go decodes it", libErr)
	case err != nil && errors.Is(err, errWire):
		return // wire.go is stricter, on purpose
	case err != nil:
		t.Fatalf("the library decodes the encoding, wire.go refuses it: %v", err)
	}
	require.Equal(t, &pb, toLib(own), "the decoded fields")
	var libSH *types.SignedHeader
	libShape := pb.Header != nil && pb.Commit != nil
	if libShape {
		libSH, libErr = types.SignedHeaderFromProto(&pb)
		libShape = libErr == nil
	}
	_, err = decodeCheckedSignedHeader(enc)
	require.Equal(t, libShape, err == nil, "shape valid: the library says %v, wire.go %v", libErr, err)
	if !libShape {
		return
	}
	require.Equal(t, []byte(libSH.Hash()), headerHash(own.header), "header hash")
	for i := range own.commit.signatures {
		require.Equal(t, libSH.Commit.VoteSignBytes(libSH.ChainID, int32(i)), voteSignBytes(libSH.ChainID, own.commit, i), "sign bytes %d", i)
	}
}

// FuzzDecodeSignedHeader holds wire.go's decoder to the library's on
// arbitrary bytes (checkDecodeEqualsLibrary); it never panics. Each seed
// is a valid encoding with one change.
func FuzzDecodeSignedHeader(f *testing.F) {
	r := rand.New(rand.NewPCG(14, 11))
	c := newChain(f, r)
	for len(c.trust.Validators) < 3 {
		c = newChain(f, r)
	}
	flags := allCommit(c.vals.Size())
	flags[1] = types.BlockIDFlagNil
	c.sign(f, flags, 1)
	valid := c.encode(f)
	pb := (&types.SignedHeader{Header: &c.header, Commit: c.commit}).ToProto()
	hb, err := pb.Header.Marshal()
	require.NoError(f, err)
	cb, err := pb.Commit.Marshal()
	require.NoError(f, err)
	msg := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	field := func(num byte, v []byte) []byte { return msg([]byte{num<<3 | 2, byte(len(v))}, v) }
	long := func(num byte, v []byte) []byte { // a length of two bytes
		return msg([]byte{num<<3 | 2, byte(len(v)) | 0x80, byte(len(v) >> 7)}, v)
	}
	for _, seed := range [][]byte{
		valid,
		{},                             // nothing: no header, no commit
		{0x0a, 0x00, 0x12, 0x00},       // an empty header and an empty commit
		valid[:len(valid)/2],           // truncated
		msg(valid, []byte{0x18, 0x05}), // an unknown varint field (3) in the signed header
		msg(valid, []byte{0xfa, 0x01, 0x01, 0x00}), // an unknown bytes field (31)
		msg(valid, []byte{0x1b, 0x08, 0x01, 0x1c}), // an unknown group (3) holding a varint
		msg(valid, []byte{0x1b, 0x08, 0x01, 0x24}), // an unknown group closed by another field's end tag
		msg(valid, []byte{0x1c}),                   // an end-group tag outside a group
		msg(valid, []byte{0x1e}),                   // wire type 6
		msg(valid, []byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}),                                   // a 10-byte varint, last byte above 1
		msg(valid, []byte{0x88, 0x80, 0x80, 0x80, 0x10, 0x01}),                                                                 // field number 2^32+1 (gogoproto reads field 1)
		msg(valid, field(1, []byte{0x18, 0x07})),                                                                               // a second header: merged, height 7
		msg(valid, field(2, []byte{0x10, 0x02})),                                                                               // a second commit: merged, round 2
		msg([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, hb),                                                                    // a length past the end
		msg([]byte{0x08, 0x01}, field(2, cb)),                                                                                  // the header as a varint
		msg(long(1, msg(hb, []byte{0x1a, 0x01, 0x00})), long(2, cb)),                                                           // the height as bytes
		msg(long(1, msg(hb, field(4, []byte{0x10, 0x80, 0x94, 0xeb, 0xdc, 0x03}))), long(2, cb)),                               // nanos of 1e9
		msg(long(1, msg(hb, field(4, []byte{0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}))), long(2, cb)), // seconds of -2^63
		msg(long(1, msg(hb, field(5, field(2, []byte{0x08, 0x05})))), long(2, cb)),                                             // the last block ID merged: another part count
		msg(long(1, msg(hb, field(2, []byte("other")))), long(2, cb)),                                                          // a second chain ID: the last one counts
		msg(long(1, hb), long(2, msg(cb, field(4, []byte{0x08, 0x01})))),                                                       // an extra absent signature
		msg(long(1, hb), long(2, msg(cb, field(4, []byte{0x08, 0x07})))),                                                       // a signature with an unknown flag
		msg(long(1, hb), long(2, msg(cb, field(4, field(3, nil))))),                                                            // a signature with an empty (1970) timestamp
		msg(long(1, hb), long(2, msg(cb, []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x0f}))),                                         // round 2^32-1: int32 -1
	} {
		f.Add(seed)
	}
	f.Fuzz(checkDecodeEqualsLibrary)
}

// TestDecodeEqualsLibrary runs checkDecodeEqualsLibrary on the encodings
// of random chains and commits, each also with random bytes changed.
func TestDecodeEqualsLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 12))
	decoded := 0
	for n := range 200 {
		c := newChain(t, r)
		c.sign(t, randomFlags(r, c.vals.Size()), r.Int32N(3))
		enc := c.encode(t)
		own, err := decodeSignedHeader(enc)
		require.NoError(t, err, "chain %d", n)
		require.Equal(t, (&types.SignedHeader{Header: &c.header, Commit: c.commit}).ToProto(), toLib(own), "chain %d", n)
		checkDecodeEqualsLibrary(t, enc)
		for range 20 {
			changed := bytes.Clone(enc)
			for range 1 + r.IntN(3) {
				changed[r.IntN(len(changed))] = byte(r.UintN(256))
			}
			checkDecodeEqualsLibrary(t, changed)
			if _, err := decodeSignedHeader(changed); err == nil {
				decoded++
			}
		}
	}
	assert.Greater(t, decoded, 500, "most changed encodings must still decode, or the test proves little")
}

// BenchmarkVerifiedHeader compares, for a header of 4 validators all
// signing: verifiedHeader (decode, hashes, 4 stdlib Ed25519
// verifications), the check it replaced written with CometBFT's types
// (libVerify: curve25519-voi, batch verification) and 4 raw stdlib
// Ed25519 verifications of the same votes. On a shared machine it
// alternates batches of the three and keeps the best batch of each, so
// they see the same contention; own-ratio and lib-ratio are to the raw
// verifications.
func BenchmarkVerifiedHeader(b *testing.B) {
	r := rand.New(rand.NewPCG(14, 9))
	c := newChain(b, r)
	for len(c.trust.Validators) != 4 {
		c = newChain(b, r)
	}
	c.sign(b, allCommit(4), 0)
	enc, height, vh := c.encode(b), c.header.Height-1, []byte(c.vals.Hash())
	pb := c.commit.ToProto()
	own := ownCommit(b, c.commit)
	vs, err := c.trust.validatorSet()
	require.NoError(b, err)
	msgs := make([][]byte, 4)
	for i := range msgs {
		msgs[i] = voteSignBytes(c.chainID, own, i)
	}
	ownf := func() {
		if ownVerify(b, enc, height, vh, c.trust) != stageOK {
			b.Fatal("does not verify")
		}
	}
	lib := func() {
		if libVerify(enc, height, vh, c.trust) != stageOK {
			b.Fatal("does not verify")
		}
	}
	raw := func() {
		for i, v := range vs.vals {
			if !ed25519.Verify(v.pub, msgs[i], pb.Signatures[i].Signature) {
				b.Fatal("does not verify")
			}
		}
	}
	const batch = 20
	best := [3]time.Duration{1 << 62, 1 << 62, 1 << 62}
	for b.Loop() {
		for k, f := range []func(){ownf, lib, raw} {
			t0 := time.Now()
			for range batch {
				f()
			}
			best[k] = min(best[k], time.Since(t0))
		}
	}
	b.ReportMetric(float64(best[0].Nanoseconds())/batch, "own-ns")
	b.ReportMetric(float64(best[1].Nanoseconds())/batch, "lib-ns")
	b.ReportMetric(float64(best[2].Nanoseconds())/batch, "raw-ns")
	b.ReportMetric(float64(best[0])/float64(best[2]), "own-ratio")
	b.ReportMetric(float64(best[1])/float64(best[2]), "lib-ratio")
}

// TestTrustFromGenesisRefuses: a genesis the library would refuse, or one
// with a key type that cannot be pinned, is refused (and not half read).
func TestTrustFromGenesisRefuses(t *testing.T) {
	priv := cmted25519.GenPrivKeyFromSecret([]byte("genesis"))
	key := base64.StdEncoding.EncodeToString(priv.PubKey().Bytes())
	addr := fmt.Sprintf("%X", priv.PubKey().Address())
	doc := func(chainID, typ, value, power, address string) string {
		return fmt.Sprintf(`{"genesis_time":"2026-01-01T00:00:00Z","chain_id":%q,"initial_height":"1",
			"validators":[{"address":%q,"pub_key":{"type":%q,"value":%q},"power":%q,"name":"v"}],"app_hash":""}`,
			chainID, address, typ, value, power)
	}
	const ed = "tendermint/PubKeyEd25519"
	dir := t.TempDir()
	read := func(body string) (Trust, error) {
		path := filepath.Join(dir, "genesis.json")
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		return TrustFromGenesis(path)
	}
	got, err := read(doc("c", ed, key, "10", addr))
	require.NoError(t, err, "the valid base case")
	assert.Equal(t, Trust{ChainID: "c", Validators: []TrustedValidator{{PubKey: priv.PubKey().Bytes(), Power: 10}}}, got)
	got, err = read(doc("c", ed, key, "10", ""))
	require.NoError(t, err, "no address: CometBFT fills it in")
	assert.Len(t, got.Validators, 1)

	for name, body := range map[string]string{
		"not JSON":                  `{"chain_id":`,
		"no chain ID":               doc("", ed, key, "10", addr),
		"chain ID too long":         doc(strings.Repeat("c", 51), ed, key, "10", addr),
		"secp256k1 key":             doc("c", "tendermint/PubKeySecp256k1", base64.StdEncoding.EncodeToString(make([]byte, 33)), "10", ""),
		"short key":                 doc("c", ed, base64.StdEncoding.EncodeToString(make([]byte, 31)), "10", ""),
		"key not base64":            doc("c", ed, "!!", "10", ""),
		"zero power":                doc("c", ed, key, "0", addr),
		"power not a number":        doc("c", ed, key, "ten", addr),
		"power over int64":          doc("c", ed, key, "9223372036854775808", addr),
		"address of another key":    doc("c", ed, key, "10", strings.Repeat("AB", 20)),
		"power as a JSON number":    strings.Replace(doc("c", ed, key, "10", addr), `"power":"10"`, `"power":10`, 1),
		"validators not a list":     `{"chain_id":"c","validators":{}}`,
		"pub_key missing its value": strings.Replace(doc("c", ed, key, "10", ""), `"value":"`+key+`"`, `"value":null`, 1),
	} {
		_, err := read(body)
		assert.Error(t, err, name)
	}
	_, err = TrustFromGenesis(filepath.Join(dir, "missing.json"))
	assert.Error(t, err)
}
