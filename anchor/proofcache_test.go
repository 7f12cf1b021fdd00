package anchor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

// TestProofCache: a proof is served again within the reuse window, but
// never one that predates the block the caller needs (a version anchored
// after it), and not after the window; concurrent misses share a query.
func TestProofCache(t *testing.T) {
	op := newEdSigner(t)
	l, node := startLedger(t, op)
	pinned, err := node.Trust()
	require.NoError(t, err)
	ctx := context.Background()
	anchorEntry := func(e trust.Entry) *trust.Receipt {
		tx, err := op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: nextSeq(t, l, op.ID()), Entries: []trust.Entry{e}})
		require.NoError(t, err)
		require.NoError(t, l.Submit(ctx, tx))
		return waitReceipt(t, l, e)
	}
	e1 := didEntry(7, 1)
	r1 := anchorEntry(e1)
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := NewProofCache(l, time.Minute, clock)

	var p1 *trust.LatestProof
	eventually(t, 10*time.Second, func() error { var err error; p1, err = c.Get(ctx, e1.Kind, e1.Subject, r1.Height); return err })
	got, err := trust.VerifyLatest(p1, pinned)
	require.NoError(t, err)
	require.NotNil(t, got.State)
	assert.Equal(t, uint64(1), got.State.Version)
	again, err := c.Get(ctx, e1.Kind, e1.Subject, r1.Height)
	require.NoError(t, err)
	assert.Same(t, p1, again, "within the window the cached proof is served")

	r2 := anchorEntry(didEntry(7, 2))
	again, err = c.Get(ctx, e1.Kind, e1.Subject, r1.Height)
	require.NoError(t, err)
	assert.Same(t, p1, again, "a caller that needs only block r1 may get the cached proof")
	var p2 *trust.LatestProof
	eventually(t, 10*time.Second, func() error { var err error; p2, err = c.Get(ctx, e1.Kind, e1.Subject, r2.Height); return err })
	got, err = trust.VerifyLatest(p2, pinned)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), got.State.Version, "a caller serving version 2 never gets a proof from before it")

	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	p3, err := c.Get(ctx, e1.Kind, e1.Subject, 0)
	require.NoError(t, err)
	assert.NotSame(t, p2, p3, "after the window the ledger is asked again")
	assert.GreaterOrEqual(t, p3.Height, p2.Height)

	// Concurrent callers of one subject get one proof.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	var wg sync.WaitGroup
	proofs := make([]*trust.LatestProof, 8)
	for i := range proofs {
		wg.Add(1)
		go func() { defer wg.Done(); proofs[i], _ = c.Get(ctx, e1.Kind, e1.Subject, 0) }()
	}
	wg.Wait()
	for _, p := range proofs {
		assert.Same(t, proofs[0], p)
	}
}
