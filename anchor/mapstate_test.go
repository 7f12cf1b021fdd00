package anchor

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pokt-network/smt"
	"github.com/pokt-network/smt/kvstore/simplemap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

// TestMapPruning drives the app through many blocks of random new
// versions and ownership changes, and checks the map against what it must
// be: after every block, every subject (and some never anchored) is
// proven, at each of the last mapKeep+1 heights, to be in the state it had
// then; once the deferred deletions have run, the stored trie holds
// exactly the nodes of a trie built afresh from the final states (nothing
// live was deleted, nothing orphaned is left), with the same root; and a
// restarted app resumes that root.
func TestMapPruning(t *testing.T) {
	// Reopen the app's trie every few blocks too, as a long-running node does.
	defer func(n int) { maxCachedMapNodes = n }(maxCachedMapNodes)
	maxCachedMapNodes = 500
	op := newEdSigner(t)
	ta := newTestApp(t, op)
	others := []*TxSigner{newEdSigner(t), newEdSigner(t)}
	for _, w := range others {
		k := w.Key()
		require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleWriter}))[0].Code)
	}
	signers := map[string]*TxSigner{op.ID(): op, others[0].ID(): others[0], others[1].ID(): others[1]}

	rng := rand.New(rand.NewPCG(1, 2))
	const subjects = 60
	versions := make([]uint64, subjects)
	owners := make([]string, subjects)
	type snapshot struct {
		height int64
		states map[int]trust.SubjectState
	}
	var history []snapshot
	stateOf := func(i int) (trust.SubjectState, bool) {
		s, ok, err := getState(&overlay{db: ta.db}, trust.KindDIDDocument, didEntry(i, 1).Subject)
		require.NoError(t, err)
		return s, ok
	}
	for round := range 50 {
		var txs [][]byte
		byOwner := map[string][]trust.Entry{}
		for i := range subjects {
			if round >= 40 && i < 5 && versions[i] > 0 {
				// The last rounds hand subjects 0-4 back and forth in
				// consecutive blocks: each returns to an owner it had two
				// blocks before, inside the deferral window.
				next := []string{op.ID(), others[0].ID()}[round%2]
				if next != owners[i] {
					txs = append(txs, ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindDIDDocument, Subject: didEntry(i, 1).Subject, Target: next}))
					owners[i] = next
				}
				continue
			}
			switch r := rng.IntN(10); {
			case r < 3: // a new version
				versions[i]++
				if owners[i] == "" {
					owners[i] = op.ID() // only the operator opens did-documents here
				}
				byOwner[owners[i]] = append(byOwner[owners[i]], didEntry(i, versions[i]))
			case r == 3 && versions[i] > 0 && len(byOwner[owners[i]]) == 0: // a new owner
				next := []string{op.ID(), others[0].ID(), others[1].ID()}[rng.IntN(3)]
				if next != owners[i] {
					txs = append(txs, ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindDIDDocument, Subject: didEntry(i, 1).Subject, Target: next}))
					owners[i] = next
				}
			}
		}
		ids := make([]string, 0, len(byOwner))
		for id := range byOwner {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			txs = append(txs, ta.anchor(signers[id], byOwner[id]...))
		}
		for _, r := range ta.block(txs...) {
			require.Equal(t, uint32(0), r.Code, r.Log)
		}
		snap := snapshot{height: ta.height, states: map[int]trust.SubjectState{}}
		for i := range subjects {
			if s, ok := stateOf(i); ok {
				snap.states[i] = s
				assert.Equal(t, versions[i], s.Version)
				assert.Equal(t, owners[i], s.Owner)
			}
		}
		history = append(history, snap)
		for _, snap := range history[max(0, len(history)-mapKeep-1):] {
			for i := range subjects + 5 { // 5 never anchored
				p, err := ta.app.proveLatest(trust.KindDIDDocument, didEntry(i, 1).Subject, snap.height)
				require.NoError(t, err)
				want, ok := snap.states[i]
				if !ok {
					require.Nil(t, p.State, "subject %d at height %d", i, snap.height)
				} else {
					require.NotNil(t, p.State, "subject %d at height %d", i, snap.height)
					require.Equal(t, want, *p.State)
				}
				verifyMapProof(t, p)
			}
		}
	}
	_, err := ta.app.proveLatest(trust.KindDIDDocument, didEntry(0, 1).Subject, ta.height-mapKeep-1)
	assert.ErrorIs(t, err, ErrNotFound, "older heights are pruned")

	for range mapKeep { // let the last deferred deletions run
		ta.block()
	}
	freshNodes := simplemap.NewSimpleMap()
	fresh := smt.NewSparseMerkleTrie(freshNodes, sha256.New(), trust.MapOptions()...)
	for i := range subjects {
		if s, ok := stateOf(i); ok {
			require.NoError(t, fresh.Update(trust.MapKey(trust.KindDIDDocument, didEntry(i, 1).Subject), trust.EncodeState(s)))
		}
	}
	require.NoError(t, fresh.Commit())
	assert.Equal(t, []byte(fresh.Root()), ta.app.meta.MapRoot, "the root depends on the states only")
	want, err := freshNodes.Len()
	require.NoError(t, err)
	assert.Equal(t, want, countPrefix(t, ta, pMapNode), "stored map nodes")
	assert.Equal(t, 0, countPrefix(t, ta, pOrphans), "orphan lists left (the last blocks orphaned nothing)")

	app2, err := NewApp(ta.db, testChain)
	require.NoError(t, err)
	assert.Equal(t, ta.app.meta.MapRoot, []byte(app2.tree.Root()))
	p, err := app2.proveLatest(trust.KindDIDDocument, didEntry(7, 1).Subject, 0)
	require.NoError(t, err)
	verifyMapProof(t, p)
}

// verifyMapProof checks the map part of a latest-version proof.
func verifyMapProof(t *testing.T, p *trust.LatestProof) {
	t.Helper()
	var value []byte
	if p.State != nil {
		value = trust.EncodeState(*p.State)
	}
	c := &smt.SparseCompactMerkleProof{SideNodes: p.Proof.SideNodes, NonMembershipLeafData: p.Proof.NonMembershipLeaf,
		BitMask: p.Proof.BitMask, NumSideNodes: p.Proof.NumSideNodes}
	ok, err := smt.VerifyCompactProof(c, p.MapRoot, trust.MapKey(p.Kind, p.Subject), value, trust.NewMapSpec())
	require.NoError(t, err)
	require.True(t, ok, fmt.Sprintf("the map proof of %s at height %d", p.Subject, p.Height))
}

func countPrefix(t *testing.T, ta *testApp, prefix byte) int {
	t.Helper()
	it, err := ta.db.Iterator([]byte{prefix}, []byte{prefix + 1})
	require.NoError(t, err)
	defer it.Close()
	n := 0
	for ; it.Valid(); it.Next() {
		n++
	}
	require.NoError(t, it.Error())
	return n
}
