package anchor

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

// TestFourValidatorsOwnership is issue 14's attack on a real 4-validator
// network: agency A's writer tries to anchor agency B's subject. CheckTx
// refuses it; a faulty proposer that puts it in a block anyway gets it
// refused by every validator in FinalizeBlock; B's next version anchors;
// a receipt forged to name A is unverified. Then latest-version proofs
// taken from the chain verify offline, with the nodes stopped, from the
// pinned validator keys alone, and every forgery of them is refused.
func TestFourValidatorsOwnership(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network; CI runs it")
	}
	ctx := context.Background()
	op, a, b := newEdSigner(t), newEdSigner(t), newEdSigner(t)
	_, nodes := startNodes(t, 4, op)
	l0 := NewLedger(nodes[0].Client(), nodes[0].ChainID())
	l2 := NewLedger(nodes[2].Client(), nodes[2].ChainID())
	tr, err := nodes[0].Trust()
	require.NoError(t, err)
	waitWriter(t, l0, op)
	require.NoError(t, l0.AddWriter(ctx, op, a.Key(), RoleWriter, nsA))
	waitWriter(t, l0, a)
	require.NoError(t, l0.AddWriter(ctx, op, b.Key(), RoleWriter, nsB))
	waitWriter(t, l2, b)

	anchorAs := func(l *Ledger, s *TxSigner, es ...trust.Entry) ([]byte, error) {
		tx, err := s.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: nextSeq(t, l, s.ID()), Entries: es})
		require.NoError(t, err)
		return tx, l.Submit(ctx, tx)
	}
	subject := listEntry(nsB, 1, 1).Subject
	_, err = anchorAs(l2, b, listEntry(nsB, 1, 1))
	require.NoError(t, err)
	v1 := waitReceipt(t, l0, listEntry(nsB, 1, 1))
	require.NoError(t, trust.VerifyReceipt(v1, tr))
	var old *trust.LatestProof // the latest-version proof while version 1 is the latest
	eventually(t, 20*time.Second, func() error { var err error; old, err = l0.LatestProof(ctx, trust.KindStatusList, subject); return err })

	t.Run("CheckTx refuses A's entries for B's subjects", func(t *testing.T) {
		_, err := anchorAs(l0, a, listEntry(nsB, 1, 2))
		assert.ErrorIs(t, err, ErrNotSubjectOwner)
		_, err = anchorAs(l0, a, listEntry(nsB, 1, 1)) // (node 0 has version 1 for sure, node 2 may lag)
		assert.ErrorIs(t, err, ErrNotSubjectOwner, "not even its version 1 again")
		_, err = anchorAs(l0, a, listEntry(nsB, 2, 1))
		assert.ErrorIs(t, err, ErrOutsideNamespace, "nor a new subject in B's namespace")
	})

	t.Run("a faulty proposer's block with A's entry does not append it", func(t *testing.T) {
		seq := nextSeq(t, l0, a.ID())
		forged, err := a.Sign(Body{ChainID: l0.ChainID(), Type: TxAnchor, Seq: seq, Entries: []trust.Entry{listEntry(nsB, 1, 2)}})
		require.NoError(t, err)
		var mu sync.Mutex
		var proposedAt []int64
		inject := func(h int64, txs [][]byte) [][]byte {
			mu.Lock()
			defer mu.Unlock()
			proposedAt = append(proposedAt, h)
			return append(txs, forged)
		}
		for _, n := range nodes { // whichever validator proposes next is the faulty one
			n.app.mu.Lock()
			n.app.propose = inject
			n.app.mu.Unlock()
		}
		var refusedAt int64
		eventually(t, 30*time.Second, func() error {
			mu.Lock()
			heights := append([]int64(nil), proposedAt...)
			mu.Unlock()
			for _, h := range heights {
				res, err := nodes[1].Client().BlockResults(ctx, &h)
				if err != nil {
					continue // not committed (yet)
				}
				for _, r := range res.TxsResults {
					if r.Log == ErrNotSubjectOwner.Code {
						refusedAt = h
						return nil
					}
				}
			}
			return fmt.Errorf("no block with the forged transaction yet (proposed at %v)", heights)
		})
		for _, n := range nodes {
			n.app.mu.Lock()
			n.app.propose = nil
			n.app.mu.Unlock()
		}
		// Nodes 2 and 3 may lag behind node 1: read them once their app has
		// committed that block.
		l3 := NewLedger(nodes[3].Client(), nodes[3].ChainID())
		waitAppHeight(t, l3, refusedAt)
		waitAppHeight(t, l2, refusedAt)
		blk, err := nodes[3].Client().Block(ctx, &refusedAt)
		require.NoError(t, err)
		assert.Contains(t, blk.Block.Txs, types.Tx(forged), "the block carries the forged transaction")
		locs, err := l2.Lookup(ctx, EntryRef{Kind: trust.KindStatusList, Subject: subject, Version: 2})
		require.NoError(t, err)
		assert.False(t, locs[0].Found, "the forged version 2 is not in the log")
		assert.Equal(t, seq, nextSeq(t, l2, a.ID()), "A's refused transaction did not use its sequence number")
		heightAdvances(t, l0, 2) // the validators agree on the block and go on
	})

	var v2 *trust.Receipt
	t.Run("B's next version anchors; a receipt forged to name A does not verify", func(t *testing.T) {
		_, err := anchorAs(l0, b, listEntry(nsB, 1, 2))
		require.NoError(t, err)
		v2 = waitReceipt(t, l2, listEntry(nsB, 1, 2))
		require.NoError(t, trust.VerifyReceipt(v2, tr))
		assert.Equal(t, b.ID(), v2.Entry.Writer)
		assert.Equal(t, b.ID(), v2.Entry.Owner)
		forged := *v2
		forged.Entry.Writer = a.ID()
		assert.ErrorIs(t, trust.VerifyReceipt(&forged, tr), trust.ErrReceiptUnverified)
		forged.Entry.Owner = a.ID()
		assert.ErrorIs(t, trust.VerifyReceipt(&forged, tr), trust.ErrReceiptUnverified)
	})

	// Latest-version proofs, taken from the running chain as bytes.
	// (Right after version 2's block the newest provable height can be the
	// one before it: wait for a proof that has it.)
	proofBytes := func(kind, subject string, minVersion uint64) []byte {
		var p *trust.LatestProof
		eventually(t, 20*time.Second, func() error {
			var err error
			if p, err = l2.LatestProof(ctx, kind, subject); err == nil && p.State != nil && p.State.Version < minVersion {
				return fmt.Errorf("the proof predates version %d", minVersion)
			}
			return err
		})
		return mustJSON(t, p)
	}
	current := proofBytes(trust.KindStatusList, subject, 2)
	absent := proofBytes(trust.KindStatusList, nsB+"lists/never", 0)
	oldBytes := mustJSON(t, old)
	pinned, err := trust.MarshalTrust(tr)
	require.NoError(t, err)
	for _, n := range nodes {
		require.NoError(t, n.Stop())
	}

	// Offline from here: only the bytes and the pinned keys.
	var offline trust.Trust
	require.NoError(t, json.Unmarshal(pinned, &offline))
	verify := func(b []byte) (*trust.Latest, error) {
		p, err := trust.ParseLatestProof(b)
		if err != nil {
			return nil, err
		}
		return trust.VerifyLatest(p, offline)
	}
	t.Run("offline: the latest version is proven, with its owner", func(t *testing.T) {
		l, err := verify(current)
		require.NoError(t, err)
		require.NotNil(t, l.State)
		assert.Equal(t, uint64(2), l.State.Version)
		assert.Equal(t, b.ID(), l.State.Owner)
		assert.Equal(t, v2.Entry.LeafHash(), l.State.LeafHash, "the same entry as the receipt")
		assert.NoError(t, l.Require(trust.KindStatusList, subject, 2, v2.Entry.SHA256))
		assert.ErrorIs(t, l.Require(trust.KindStatusList, subject, 1, v1.Entry.SHA256), trust.ErrStaleVersion,
			"version 1 served as the latest")
		assert.ErrorIs(t, l.Require(trust.KindStatusList, nsB+"lists/2", 2, v2.Entry.SHA256), trust.ErrProofUnverified,
			"a proof for another subject")
	})
	t.Run("offline: a subject never anchored is proven absent", func(t *testing.T) {
		l, err := verify(absent)
		require.NoError(t, err)
		assert.Nil(t, l.State)
	})
	t.Run("offline: the proof from before version 2 is older than the current one", func(t *testing.T) {
		l, err := verify(oldBytes)
		require.NoError(t, err, "it was genuine")
		cur, err := verify(current)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), l.State.Version)
		assert.ErrorIs(t, l.Require(trust.KindStatusList, subject, 2, v2.Entry.SHA256), trust.ErrProofTooOld)
		assert.ErrorIs(t, l.FreshAt(cur.Time, cur.Time.Sub(l.Time)-time.Millisecond), trust.ErrProofTooOld)
	})
	mutate := func(f func(p *trust.LatestProof)) []byte {
		p, err := trust.ParseLatestProof(current)
		require.NoError(t, err)
		f(p)
		return mustJSON(t, p)
	}
	for _, tc := range []struct {
		name  string
		proof []byte
		want  error
	}{
		{"tampered: version 1 claimed as the latest", mutate(func(p *trust.LatestProof) {
			p.State.Version, p.State.SHA256 = 1, v1.Entry.SHA256
		}), trust.ErrProofUnverified},
		{"tampered: A claimed as the owner", mutate(func(p *trust.LatestProof) { p.State.Owner = a.ID() }), trust.ErrProofUnverified},
		{"tampered: claimed absent", mutate(func(p *trust.LatestProof) { p.State = nil }), trust.ErrProofUnverified},
		{"for another subject", mutate(func(p *trust.LatestProof) { p.Subject = nsB + "lists/2" }), trust.ErrProofUnverified},
		{"header signed by 2 of 4 (not more than 2/3 of the power)", mutate(func(p *trust.LatestProof) {
			var sh cmtproto.SignedHeader
			require.NoError(t, sh.Unmarshal(p.SignedHeader))
			signed := 0
			for i := range sh.Commit.Signatures {
				if sh.Commit.Signatures[i].BlockIdFlag == cmtproto.BlockIDFlagCommit {
					if signed++; signed > 2 {
						sh.Commit.Signatures[i] = cmtproto.CommitSig{BlockIdFlag: cmtproto.BlockIDFlagAbsent}
					}
				}
			}
			require.GreaterOrEqual(t, signed, 3)
			p.SignedHeader, err = encodeSignedHeader(&sh)
			require.NoError(t, err)
		}), trust.ErrProofUnverified},
		{"garbage", []byte(`{"kind":"status-list"`), trust.ErrInvalidLatestProof},
	} {
		t.Run("offline: "+tc.name, func(t *testing.T) {
			_, err := verify(tc.proof)
			assert.ErrorIs(t, err, tc.want)
		})
	}
}

// waitAppHeight waits until l's node's app has committed block h.
func waitAppHeight(t *testing.T, l *Ledger, h int64) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		info, err := l.c.ABCIInfo(context.Background())
		if err != nil {
			return err
		}
		if info.Response.LastBlockHeight < h {
			return fmt.Errorf("the app is at height %d, waiting for %d", info.Response.LastBlockHeight, h)
		}
		return nil
	})
}
