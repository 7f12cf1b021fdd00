package anchor

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	"github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

// offlineChain is a 4-validator chain simulated in the test: the real app
// builds the log, and the test signs headers with the validators' keys, so
// receipts can be made with any subset of signatures.
type offlineChain struct {
	ta    *testApp
	pvs   []types.MockPV
	vals  *types.ValidatorSet
	trust trust.Trust
}

// newOfflineChain's validator keys derive from seed, so a chain can be
// rebuilt identically (fuzz workers) or made different (another chain).
func newOfflineChain(t testing.TB, op *TxSigner, seed byte) *offlineChain {
	oc := &offlineChain{ta: newTestApp(t, op), trust: trust.Trust{ChainID: testChain}}
	var vs []*types.Validator
	for i := range 4 {
		pv := types.NewMockPVWithParams(cmted25519.GenPrivKeyFromSecret([]byte{seed, byte(i)}), false, false)
		oc.pvs = append(oc.pvs, pv)
		vs = append(vs, pv.ExtractIntoValidator(10))
		pub, err := pv.GetPubKey()
		require.NoError(t, err)
		oc.trust.Validators = append(oc.trust.Validators, trust.TrustedValidator{PubKey: pub.Bytes(), Power: 10})
	}
	oc.vals = types.NewValidatorSet(vs)
	return oc
}

// signedHeader makes the header at height h+1 carrying the app hash after
// block h, signed by the validators for which sign(i) is true.
func (oc *offlineChain) signedHeader(t testing.TB, h int64, appHash []byte, sign func(i int) bool) []byte {
	hash32 := func(s string) []byte { d := sha256.Sum256([]byte(s)); return d[:] }
	header := types.Header{
		Version:            cmtversion.Consensus{Block: version.BlockProtocol, App: AppVersion},
		ChainID:            testChain,
		Height:             h + 1,
		Time:               time.Unix(1700000000+h+1, 0).UTC(),
		LastBlockID:        types.BlockID{Hash: hash32("prev"), PartSetHeader: types.PartSetHeader{Total: 1, Hash: hash32("prev-parts")}},
		ValidatorsHash:     oc.vals.Hash(),
		NextValidatorsHash: oc.vals.Hash(),
		ConsensusHash:      hash32("params"),
		AppHash:            appHash,
		ProposerAddress:    oc.vals.Validators[0].Address,
	}
	blockID := types.BlockID{Hash: header.Hash(), PartSetHeader: types.PartSetHeader{Total: 1, Hash: hash32("parts")}}
	commit := &types.Commit{Height: h + 1, BlockID: blockID}
	for i, v := range oc.vals.Validators {
		if !sign(i) {
			commit.Signatures = append(commit.Signatures, types.NewCommitSigAbsent())
			continue
		}
		var pv types.MockPV
		for _, p := range oc.pvs {
			if pk, _ := p.GetPubKey(); bytes.Equal(pk.Address(), v.Address) {
				pv = p
			}
		}
		vote := &types.Vote{Type: cmtproto.PrecommitType, Height: h + 1, BlockID: blockID,
			Timestamp: header.Time, ValidatorAddress: v.Address, ValidatorIndex: int32(i)}
		pb := vote.ToProto()
		require.NoError(t, pv.SignVote(testChain, pb))
		commit.Signatures = append(commit.Signatures, types.CommitSig{BlockIDFlag: types.BlockIDFlagCommit,
			ValidatorAddress: v.Address, Timestamp: header.Time, Signature: pb.Signature})
	}
	enc, err := encodeSignedHeader((&types.SignedHeader{Header: &header, Commit: commit}).ToProto())
	require.NoError(t, err)
	return enc
}

// receipt anchors entries in one block and returns the receipt of e.
func (oc *offlineChain) receipt(t testing.TB, e trust.Entry, sign func(int) bool) *trust.Receipt {
	loc, err := oc.ta.app.locate(EntryRef{Kind: e.Kind, Subject: e.Subject, Version: e.Version})
	require.NoError(t, err)
	require.True(t, loc.Found)
	v, err := oc.ta.app.query(QueryProof, mustJSON(t, proofQuery{LeafIndex: loc.LeafIndex, Height: loc.Height}))
	require.NoError(t, err)
	p := v.(proofResult)
	return &trust.Receipt{Entry: loc.Entry, LeafIndex: loc.LeafIndex, TreeSize: p.TreeSize, InclusionProof: p.Proof, MapRoot: p.MapRoot,
		Height: loc.Height, ValidatorsHash: oc.vals.Hash(),
		SignedHeader: oc.signedHeader(t, loc.Height, oc.rootAt(t, loc.Height), sign)}
}

// rootAt returns the app hash after block h.
func (oc *offlineChain) rootAt(t testing.TB, h int64) []byte {
	require.Equal(t, oc.ta.height, h, "the test signs the latest block only")
	return oc.ta.appHash()
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func all(int) bool { return true }

func TestVerifyReceipt(t *testing.T) {
	op := newEdSigner(t)
	oc := newOfflineChain(t, op, 1)
	var batch []trust.Entry
	for i := range 13 {
		batch = append(batch, didEntry(i, 1))
	}
	require.Equal(t, uint32(0), oc.ta.block(oc.ta.anchor(op, batch...))[0].Code)
	target := batch[5]

	cases := []struct {
		name   string
		mutate func(r *trust.Receipt)
		want   error // nil: verifies
	}{
		{"valid, all four signatures", func(*trust.Receipt) {}, nil},
		{"valid, three of four (> 2/3)", func(r *trust.Receipt) {
			r.SignedHeader = oc.signedHeader(t, r.Height, oc.rootAt(t, r.Height), func(i int) bool { return i != 2 })
		}, nil},
		{"survives a JSON round trip", func(r *trust.Receipt) {
			b, err := json.Marshal(r)
			require.NoError(t, err)
			back, err := trust.ParseReceipt(b)
			require.NoError(t, err)
			*r = *back
		}, nil},
		{"tampered hash", func(r *trust.Receipt) { r.Entry.SHA256 = digest("forged") }, trust.ErrReceiptUnverified},
		{"tampered version", func(r *trust.Receipt) { r.Entry.Version = 2 }, trust.ErrReceiptUnverified},
		{"tampered writer", func(r *trust.Receipt) { r.Entry.Writer = newEdSigner(t).ID() }, trust.ErrReceiptUnverified},
		// A forged receipt naming a writer that is not the subject's owner
		// (the attack of issue 14: a foreign writer's entry) ...
		{"writer is not the owner", func(r *trust.Receipt) { r.Entry.Owner = newEdSigner(t).ID() }, trust.ErrReceiptUnverified},
		// ... and one that names the forger as both: not in the log.
		{"writer and owner both forged", func(r *trust.Receipt) {
			r.Entry.Writer = newEdSigner(t).ID()
			r.Entry.Owner = r.Entry.Writer
		}, trust.ErrReceiptUnverified},
		{"map root missing", func(r *trust.Receipt) { r.MapRoot = nil }, trust.ErrInvalidReceipt},
		{"another map root", func(r *trust.Receipt) { r.MapRoot = bytes.Repeat([]byte{5}, 32) }, trust.ErrReceiptUnverified},
		{"tampered time", func(r *trust.Receipt) { r.Entry.Time = r.Entry.Time.Add(time.Second) }, trust.ErrReceiptUnverified},
		{"forged proof node", func(r *trust.Receipt) { r.InclusionProof[1] = bytes.Repeat([]byte{7}, 32) }, trust.ErrReceiptUnverified},
		{"proof for another index", func(r *trust.Receipt) { r.LeafIndex++ }, trust.ErrReceiptUnverified},
		{"truncated proof", func(r *trust.Receipt) { r.InclusionProof = r.InclusionProof[:1] }, trust.ErrReceiptUnverified},
		// (A size with the same proof shape, e.g. 14 for 13 here, gives the
		// same root: RFC 6962 roots do not commit to the size. The leaf and
		// its index stay bound, which is what a receipt asserts.)
		{"tree size that changes the proof shape", func(r *trust.Receipt) { r.TreeSize = r.LeafIndex + 1 }, trust.ErrReceiptUnverified},
		{"header with a forged app hash, validly signed by 2 of 4", func(r *trust.Receipt) {
			r.SignedHeader = oc.signedHeader(t, r.Height, oc.rootAt(t, r.Height), func(i int) bool { return i < 2 })
		}, trust.ErrReceiptUnverified},
		{"header signed by one validator", func(r *trust.Receipt) {
			r.SignedHeader = oc.signedHeader(t, r.Height, oc.rootAt(t, r.Height), func(i int) bool { return i == 0 })
		}, trust.ErrReceiptUnverified},
		{"header for another height", func(r *trust.Receipt) { r.Height++ }, trust.ErrReceiptUnverified},
		{"header with another app hash", func(r *trust.Receipt) {
			r.SignedHeader = oc.signedHeader(t, r.Height, bytes.Repeat([]byte{1}, 32), all)
		}, trust.ErrReceiptUnverified},
		{"garbage header", func(r *trust.Receipt) { r.SignedHeader = []byte("not protobuf") }, trust.ErrInvalidReceipt},
		{"validators hash not the pinned set", func(r *trust.Receipt) { r.ValidatorsHash = bytes.Repeat([]byte{2}, 32) }, trust.ErrReceiptUnverified},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := oc.receipt(t, target, all)
			tc.mutate(r)
			err := trust.VerifyReceipt(r, oc.trust)
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.want)
		})
	}

	t.Run("a verifier pinning other validators rejects it", func(t *testing.T) {
		other := newOfflineChain(t, op, 2)
		assert.ErrorIs(t, trust.VerifyReceipt(oc.receipt(t, target, all), other.trust), trust.ErrReceiptUnverified)
	})
	t.Run("a verifier pinning another chain rejects it", func(t *testing.T) {
		tr := oc.trust
		tr.ChainID = "other-chain"
		assert.ErrorIs(t, trust.VerifyReceipt(oc.receipt(t, target, all), tr), trust.ErrReceiptUnverified)
	})
	t.Run("malformed trust is refused, not a panic", func(t *testing.T) {
		tr := oc.trust
		tr.Validators = append([]trust.TrustedValidator{}, tr.Validators...)
		tr.Validators = append(tr.Validators, tr.Validators[0]) // duplicate key
		assert.ErrorIs(t, trust.VerifyReceipt(oc.receipt(t, target, all), tr), trust.ErrInvalidTrust)
		assert.ErrorIs(t, trust.VerifyReceipt(nil, oc.trust), trust.ErrInvalidReceipt)
	})
	t.Run("a signed leaf whose writer is not its owner is refused", func(t *testing.T) {
		// A one-leaf log signed by the validators, as a buggy or forked app
		// would make it: everything verifies but the owner check.
		synthetic := func(e trust.Entry) *trust.Receipt {
			mapRoot := bytes.Repeat([]byte{9}, 32)
			h := oc.ta.height
			return &trust.Receipt{Entry: e, LeafIndex: 0, TreeSize: 1, MapRoot: mapRoot, Height: h,
				ValidatorsHash: oc.vals.Hash(), SignedHeader: oc.signedHeader(t, h, trust.AppHash(e.LeafHash(), mapRoot), all)}
		}
		e := target
		e.Writer, e.Owner, e.Time = op.ID(), op.ID(), time.Unix(1700000000, 0).UTC()
		require.NoError(t, trust.VerifyReceipt(synthetic(e), oc.trust), "the control verifies")
		e.Writer = newEdSigner(t).ID()
		assert.ErrorIs(t, trust.VerifyReceipt(synthetic(e), oc.trust), trust.ErrReceiptUnverified)
	})
	t.Run("every leaf of the batch verifies", func(t *testing.T) {
		for _, e := range batch {
			assert.NoError(t, trust.VerifyReceipt(oc.receipt(t, e, all), oc.trust), e.Key())
		}
	})
}
