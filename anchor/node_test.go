package anchor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

func TestSingleNodeAnchorQueryReceiptRestart(t *testing.T) {
	ctx := context.Background()
	op := newEdSigner(t)
	homes, nodes := startNodes(t, 1, op)
	l := NewLedger(nodes[0].Client(), nodes[0].ChainID())
	tr, err := nodes[0].Trust()
	require.NoError(t, err)

	// The operator is on the allow-list once block 1 is committed.
	waitWriter(t, l, op)

	entries := []trust.Entry{didEntry(1, 1), didEntry(1, 2), didEntry(2, 1)}
	tx, err := op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: nextSeq(t, l, op.ID()), Entries: entries})
	require.NoError(t, err)
	require.NoError(t, l.Submit(ctx, tx))

	for _, e := range entries {
		r := waitReceipt(t, l, e)
		assert.Equal(t, e.SHA256, r.Entry.SHA256)
		assert.Equal(t, op.ID(), r.Entry.Writer)
		assert.False(t, r.Entry.Time.IsZero())
		require.NoError(t, trust.VerifyReceipt(r, tr), "receipt of %s", e.Key())
	}
	latest, err := l.Latest(ctx, trust.KindDIDDocument, "did:ssi:issuer-1")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), latest.Entry.Version)
	_, err = l.Latest(ctx, trust.KindDIDDocument, "did:ssi:nobody")
	assert.ErrorIs(t, err, ErrNotFound)

	// Restart in the same process: the state is kept and the chain is not
	// replayed into the app.
	h0, _, err := l.Status(ctx)
	require.NoError(t, err)
	require.NoError(t, nodes[0].Stop())
	nodes[0], err = StartNode(ctx, homes[0], NodeOptions{})
	require.NoError(t, err)
	l = NewLedger(nodes[0].Client(), nodes[0].ChainID())
	eventually(t, 10*time.Second, func() error {
		h, _, err := l.Status(ctx)
		if err == nil && h < h0+2 {
			return assert.AnError
		}
		return err
	})
	h1, _, err := l.Status(ctx)
	require.NoError(t, err)
	nodes[0].app.mu.Lock()
	finalized := nodes[0].app.finalized
	nodes[0].app.mu.Unlock()
	assert.LessOrEqual(t, finalized, h1-h0+1, "blocks re-executed after restart (no full replay)")
	r := waitReceipt(t, l, entries[1])
	require.NoError(t, trust.VerifyReceipt(r, tr))
	// The map resumed too: the latest version is proven after the restart.
	var p *trust.LatestProof
	eventually(t, 10*time.Second, func() error {
		var err error
		p, err = l.LatestProof(ctx, trust.KindDIDDocument, "did:ssi:issuer-1")
		return err
	})
	lp, err := trust.VerifyLatest(p, tr)
	require.NoError(t, err)
	assert.NoError(t, lp.Require(trust.KindDIDDocument, "did:ssi:issuer-1", 2, entries[1].SHA256))

	// The sequence and the versions survived the restart too.
	tx, err = op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: nextSeq(t, l, op.ID()), Entries: []trust.Entry{didEntry(1, 3)}})
	require.NoError(t, err)
	require.NoError(t, l.Submit(ctx, tx))
	waitReceipt(t, l, didEntry(1, 3))
}

// TestRejectionsThroughTheNode sends rejected transactions through a real
// node: CheckTx refuses them and the client gets the typed error back.
func TestRejectionsThroughTheNode(t *testing.T) {
	ctx := context.Background()
	op := newEdSigner(t)
	l, _ := startLedger(t, op)

	issuer := newEdSigner(t)
	anchorAs := func(s *TxSigner, seq uint64, es ...trust.Entry) error {
		tx, err := s.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: seq, Entries: es})
		require.NoError(t, err)
		return l.Submit(ctx, tx)
	}
	assert.ErrorIs(t, anchorAs(issuer, 1, didEntry(1, 1)), ErrWriterNotAllowed)

	// An operator adds the issuer as a writer; it can then anchor.
	require.NoError(t, l.AddWriter(ctx, op, issuer.Key(), RoleWriter, "did:ssi:"))
	eventually(t, 10*time.Second, func() error { _, err := l.Writer(ctx, issuer.ID()); return err })
	assert.ErrorIs(t, l.AddWriter(ctx, issuer, newEdSigner(t).Key(), RoleWriter), ErrNotOperator)
	require.NoError(t, anchorAs(issuer, 1, didEntry(1, 1)))
	assert.ErrorIs(t, anchorAs(issuer, 1, didEntry(2, 1)), ErrReplayedTx, "seq 1 is in the mempool already")
	waitReceipt(t, l, didEntry(1, 1))
	assert.ErrorIs(t, anchorAs(issuer, 2, didEntry(1, 1)), ErrVersionRepeat)
	err := anchorAs(issuer, 2, didEntry(3, 1), didEntry(1, 3))
	assert.ErrorIs(t, err, ErrVersionSkip)
	assert.Equal(t, "entry 1", detailOf(err), "the client learns which entry to take out")
	assert.ErrorIs(t, anchorAs(issuer, 2, trust.Entry{Kind: trust.KindStatusList, Subject: "https://x.example/" + strings.Repeat("a", 600),
		Version: 1, SHA256: digest("x")}), ErrFieldTooLarge)
	assert.ErrorIs(t, l.RemoveWriter(ctx, op, op.ID()), ErrInvalidGovernance)

	// Removed: refused again.
	require.NoError(t, l.RemoveWriter(ctx, op, issuer.ID()))
	eventually(t, 10*time.Second, func() error {
		if w, err := l.Writer(ctx, issuer.ID()); err != nil || !w.Removed {
			return assert.AnError
		}
		return nil
	})
	assert.ErrorIs(t, anchorAs(issuer, 2, didEntry(4, 1)), ErrWriterNotAllowed)
}

// TestMempoolFullIsBackPressure: a full mempool answers ErrMempoolFull
// (ledger_busy), the code the worker backs off on; and a worker on a node
// whose mempool holds one transaction still anchors everything.
func TestMempoolFullIsBackPressure(t *testing.T) {
	ctx := context.Background()
	op := newEdSigner(t)
	homes, err := Init(t.TempDir(), 1, InitOptions{ChainID: "test-chain", Operators: []WriterKey{op.Key()}})
	require.NoError(t, err)
	s, err := ReadSettings(homes[0])
	require.NoError(t, err)
	s.MempoolSize, s.TimeoutCommitMS = 1, 700 // one waiting tx; slow blocks
	require.NoError(t, WriteSettings(homes[0], s))
	n, err := StartNode(ctx, homes[0], NodeOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Stop() })
	l := NewLedger(n.Client(), n.ChainID())
	waitWriter(t, l, op)

	// Two transactions back to back: the second finds the mempool full
	// (retried in the rare case a block took the first one in between).
	eventually(t, 20*time.Second, func() error {
		seq := nextSeq(t, l, op.ID())
		tx1, err := op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: seq, Entries: []trust.Entry{statusEntry(int(seq), 1)}})
		require.NoError(t, err)
		tx2, err := op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: seq + 1, Entries: []trust.Entry{statusEntry(int(seq)+1000, 1)}})
		require.NoError(t, err)
		if err := l.Submit(ctx, tx1); err != nil {
			return err
		}
		if err := l.Submit(ctx, tx2); !errors.Is(err, ErrMempoolFull) {
			return fmt.Errorf("want ledger_busy, got %v", err)
		}
		return nil
	})

	// A worker on the same one-transaction mempool anchors it all.
	st := openStore(t)
	a, err := New(Config{Ledger: l, Signer: op, Outbox: st, BatchSize: 5, PollInterval: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	require.NoError(t, err)
	for i := range 9 {
		require.NoError(t, a.Enqueue(ctx, st, didEntry(i, 1)))
	}
	runWorker(t, a)
	eventually(t, 60*time.Second, depthIs(t, st, 0))
}

// TestStartNodeRefusesAnOldState: a node home whose app state is of the
// old format (the app hash was the log root alone) does not start, and
// says why, instead of replaying its chain into other app hashes.
func TestStartNodeRefusesAnOldState(t *testing.T) {
	op := newEdSigner(t)
	homes, err := Init(t.TempDir(), 1, InitOptions{ChainID: "test-chain", Operators: []WriterKey{op.Key()}})
	require.NoError(t, err)
	db, err := dbm.NewGoLevelDB("anchor_app", filepath.Join(homes[0], "data"))
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte{pMeta}, []byte(`{"height":3,"app_hash":"AAAA","size":1,"range":[],"operators":1}`)))
	require.NoError(t, db.Close())
	n, err := StartNode(context.Background(), homes[0], NodeOptions{})
	if err == nil {
		_ = n.Stop()
	}
	require.ErrorIs(t, err, ErrOldState)
	assert.Contains(t, err.Error(), "fresh --data directory")
}
