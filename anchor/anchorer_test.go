package anchor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

var _ Outbox = (*store.Store)(nil)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "db"), store.Options{})
	require.NoError(t, err)
	require.NoError(t, st.Migrate(ctx))
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// runWorker runs the anchorer until the test ends.
func runWorker(t testing.TB, a *Anchorer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func depthIs(t testing.TB, st *store.Store, want int64) func() error {
	return func() error {
		d, err := st.OutboxDepth(context.Background(), Topic)
		if err != nil {
			return err
		}
		if d != want {
			return errors.New("outbox depth not reached yet")
		}
		return nil
	}
}

func TestAnchorerSingleNode(t *testing.T) {
	ctx := context.Background()
	op := newEdSigner(t)
	l, node := startLedger(t, op)
	tr, err := node.Trust()
	require.NoError(t, err)
	st := openStore(t)
	a, err := New(Config{Ledger: l, Signer: op, Outbox: st, PollInterval: 5 * time.Millisecond})
	require.NoError(t, err)

	// Enqueued inside a transaction that rolls back: nothing to anchor.
	boom := errors.New("caller's change failed")
	err = st.InTx(ctx, func(tx *store.Store) error {
		require.NoError(t, a.Enqueue(ctx, tx, didEntry(50, 1)))
		return boom
	})
	require.ErrorIs(t, err, boom)

	// Enqueued in a committed transaction, twice (idempotent).
	var entries []trust.Entry
	for i := range 30 {
		entries = append(entries, didEntry(i, 1), didEntry(i, 2))
	}
	for range 2 {
		require.NoError(t, st.InTx(ctx, func(tx *store.Store) error { return a.Enqueue(ctx, tx, entries...) }))
	}
	conflicting := entries[0]
	conflicting.SHA256 = digest("another document")
	assert.ErrorIs(t, a.Enqueue(ctx, st, conflicting), store.ErrConflict)
	assert.ErrorIs(t, a.Enqueue(ctx, st, trust.Entry{Kind: trust.KindDIDDocument, Subject: "not a did", Version: 1, SHA256: digest("x")}), ErrInvalidEntry)

	// One version is already on the ledger with the same hash (e.g. the
	// worker died after submitting), another with a different hash.
	same, other := didEntry(40, 1), didEntry(41, 1)
	tx, err := op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: nextSeq(t, l, op.ID()), Entries: []trust.Entry{same, other}})
	require.NoError(t, err)
	require.NoError(t, l.Submit(ctx, tx))
	waitReceipt(t, l, other)
	otherLocal := other
	otherLocal.SHA256 = digest("what we have locally")
	require.NoError(t, a.Enqueue(ctx, st, same, otherLocal))

	// An item that is not an anchor entry is flagged and skipped; it does
	// not block the others.
	require.NoError(t, st.EnqueueOutbox(ctx, store.OutboxItem{Topic: Topic, Key: "junk", Payload: []byte(`{"kind":"x"}`)}))

	// A version whose predecessor never comes is taken out of the batch
	// (the rest is anchored) and waits with the ledger's code.
	gapBase, gap := didEntry(60, 1), didEntry(60, 3)
	require.NoError(t, a.Enqueue(ctx, st, gapBase, gap))

	runWorker(t, a)
	eventually(t, 30*time.Second, depthIs(t, st, 3)) // only the mismatch, the junk and the gap stay pending
	gapItem, err := st.GetOutbox(ctx, Topic, gap.Key())
	require.NoError(t, err)
	assert.True(t, gapItem.DoneAt.IsZero())
	assert.Equal(t, ErrVersionSkip.Code, gapItem.LastError)
	_, err = a.Receipt(ctx, gap)
	assert.ErrorIs(t, err, ErrNotYet)
	junk, err := st.GetOutbox(ctx, Topic, "junk")
	require.NoError(t, err)
	assert.True(t, junk.DoneAt.IsZero())
	assert.Contains(t, junk.LastError, permanent)

	for _, e := range append(entries, same, gapBase) {
		r, err := a.Receipt(ctx, e)
		require.NoError(t, err, e.Key())
		assert.Equal(t, e.SHA256, r.Entry.SHA256)
		require.NoError(t, trust.VerifyReceipt(r, tr), e.Key())
	}
	_, err = a.Receipt(ctx, otherLocal)
	assert.ErrorIs(t, err, ErrHashMismatch)
	_, err = a.Receipt(ctx, didEntry(50, 1))
	assert.ErrorIs(t, err, store.ErrNotFound, "the rolled-back enqueue left nothing")
	eventually(t, 5*time.Second, func() error { // the counter moves just after the store
		if a.Stats().Anchored != 62 {
			return errors.New("counter not updated yet")
		}
		return nil
	})
	stats := a.Stats()
	assert.Equal(t, int64(1), stats.Mismatches)
	assert.Equal(t, int64(62), stats.Anchored)
	assert.LessOrEqual(t, stats.Transactions, int64(3), "61 entries are batched, the pre-anchored one is not resubmitted")

	r, err := a.Latest(ctx, trust.KindDIDDocument, "did:ssi:issuer-3")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), r.Entry.Version)
	r, err = a.Get(ctx, trust.KindDIDDocument, "did:ssi:issuer-3", 1)
	require.NoError(t, err)
	assert.NoError(t, trust.VerifyReceipt(r, tr))
}

// TestWorkerKilledBetweenSubmitAndConfirm stops the worker right after its
// transaction reaches the mempool, many times, each time starting a fresh
// worker. Every version must still be anchored exactly once.
func TestWorkerKilledBetweenSubmitAndConfirm(t *testing.T) {
	ctx := context.Background()
	op := newEdSigner(t)
	l, _ := startLedger(t, op)
	st := openStore(t)

	var all []trust.Entry
	for round := range 8 {
		a, err := New(Config{Ledger: l, Signer: op, Outbox: st, PollInterval: time.Millisecond, BatchSize: 7})
		require.NoError(t, err)
		var es []trust.Entry
		for i := range 5 {
			es = append(es, didEntry(i, uint64(round+1)))
		}
		require.NoError(t, a.Enqueue(ctx, st, es...))
		all = append(all, es...)
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(wctx) }()
		eventually(t, 10*time.Second, func() error {
			if a.Stats().Transactions == 0 {
				return errors.New("nothing submitted yet")
			}
			return nil
		})
		cancel() // killed after submitting, before (or while) confirming
		<-done
	}
	a, err := New(Config{Ledger: l, Signer: op, Outbox: st, PollInterval: time.Millisecond})
	require.NoError(t, err)
	runWorker(t, a)
	eventually(t, 30*time.Second, depthIs(t, st, 0))

	reconcile(t, l, all)
}

// TestParkedItemsDoNotStarveTheQueue: more items that can never be anchored
// than fit in one batch are parked, and the valid entries queued behind
// them are still anchored; the parked ones stay visible in the depth.
func TestParkedItemsDoNotStarveTheQueue(t *testing.T) {
	ctx := context.Background()
	op := newEdSigner(t)
	l, _ := startLedger(t, op)
	st := openStore(t)
	a, err := New(Config{Ledger: l, Signer: op, Outbox: st, BatchSize: 5, PollInterval: 5 * time.Millisecond})
	require.NoError(t, err)

	var junk []store.OutboxItem
	for i := range 12 { // more than two batches of work that is not an entry
		junk = append(junk, store.OutboxItem{Topic: Topic, Key: fmt.Sprintf("junk-%d", i), Payload: []byte(`{"not":"an entry"}`)})
	}
	require.NoError(t, st.EnqueueOutbox(ctx, junk...))
	good := didEntry(900, 1)
	require.NoError(t, a.Enqueue(ctx, st, good))

	eventually(t, 20*time.Second, func() error {
		_, err := a.Drain(ctx)
		if err != nil {
			return err
		}
		_, err = a.Receipt(ctx, good)
		return err
	})
	depth, err := st.OutboxDepth(ctx, Topic)
	require.NoError(t, err)
	assert.EqualValues(t, len(junk), depth, "parked items remain visible to alerts")
	it, err := st.GetOutbox(ctx, Topic, "junk-0")
	require.NoError(t, err)
	assert.Contains(t, it.LastError, "permanent")
}

// TestForeignEntriesAreParked: entries the ledger will never take from our
// writer (a subject another writer owns, or one outside our namespaces)
// are parked with their code, and the rest of the batch anchors; without
// that, one of them would hold up the queue for ever.
func TestForeignEntriesAreParked(t *testing.T) {
	ctx := context.Background()
	op, w := newEdSigner(t), newEdSigner(t)
	l, _ := startLedger(t, op)
	require.NoError(t, l.AddWriter(ctx, op, w.Key(), RoleWriter, nsA))
	waitWriter(t, l, w)
	tx, err := op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: nextSeq(t, l, op.ID()), Entries: []trust.Entry{listEntry(nsA, 1, 1)}})
	require.NoError(t, err)
	require.NoError(t, l.Submit(ctx, tx)) // the operator owns list 1 in w's namespace
	waitReceipt(t, l, listEntry(nsA, 1, 1))

	st := openStore(t)
	a, err := New(Config{Ledger: l, Signer: w, Outbox: st, PollInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	owned, outside, good := listEntry(nsA, 1, 2), listEntry(nsB, 1, 1), listEntry(nsA, 2, 1)
	require.NoError(t, a.Enqueue(ctx, st, owned, outside, good))
	eventually(t, 20*time.Second, func() error {
		if _, err := a.Drain(ctx); err != nil {
			return err
		}
		_, err = a.Receipt(ctx, good)
		return err
	})
	for _, c := range []struct {
		e    trust.Entry
		code string
	}{{owned, ErrNotSubjectOwner.Code}, {outside, ErrOutsideNamespace.Code}} {
		it, err := st.GetOutbox(ctx, Topic, c.e.Key())
		require.NoError(t, err)
		assert.Equal(t, permanent+c.code, it.LastError, c.e.Key())
	}
	depth, err := st.OutboxDepth(ctx, Topic)
	require.NoError(t, err)
	assert.EqualValues(t, 2, depth, "parked items remain visible to alerts")
}
