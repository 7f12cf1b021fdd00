package anchor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestLedgerLoad measures anchored hashes per second through a 4-validator
// network on 127.0.0.1 with batching, and the median block time. It is a
// load command, not a unit test:
//
//	SSI_LEDGER_LOAD=1 go test -run 'TestLedgerLoad$' -v -count=1 ./anchor
//
// Knobs: SSI_LEDGER_LOAD_HASHES (default 100000), SSI_LEDGER_LOAD_BATCH
// (entries per transaction, default 2000), SSI_LEDGER_LOAD_WINDOW
// (transactions in flight, default 8). Results go to BENCHMARKS.md.
//
// It then measures the services' path on the same network: entries
// enqueued in a SQLite outbox and drained by one Anchorer worker (one
// transaction in flight, receipts stored per entry);
// SSI_LEDGER_LOAD_OUTBOX sets how many (default 20000).
func TestLedgerLoad(t *testing.T) {
	if os.Getenv("SSI_LEDGER_LOAD") == "" {
		t.Skip("load command: set SSI_LEDGER_LOAD=1")
	}
	total := envInt("SSI_LEDGER_LOAD_HASHES", 100000)
	batch := min(envInt("SSI_LEDGER_LOAD_BATCH", 2000), MaxEntriesPerTx)
	window := envInt("SSI_LEDGER_LOAD_WINDOW", 8)
	ctx := context.Background()
	op := newEdSigner(t)
	_, nodes := startNodes(t, 4, op)
	l := NewLedger(nodes[0].Client(), nodes[0].ChainID())
	waitWriter(t, l, op)

	ntx := (total + batch - 1) / batch
	txs := make([][]byte, ntx)
	lasts := make([]EntryRef, ntx)
	seq := nextSeq(t, l, op.ID())
	for i := range txs {
		n := min(batch, total-i*batch)
		es := make([]trust.Entry, n)
		for j := range es {
			es[j] = trust.Entry{Kind: trust.KindStatusList, Subject: fmt.Sprintf("https://load.example/lists/%d/%d", i, j),
				Version: 1, SHA256: digest(fmt.Sprintf("%d/%d", i, j))}
		}
		var err error
		txs[i], err = op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: seq + uint64(i), Entries: es})
		require.NoError(t, err)
		lasts[i] = EntryRef{Kind: es[n-1].Kind, Subject: es[n-1].Subject, Version: 1}
	}
	included := func(i int) error {
		locs, err := l.Lookup(ctx, lasts[i])
		if err != nil {
			return err
		}
		if !locs[0].Found {
			return errors.New("not yet included")
		}
		return nil
	}

	h0, _, err := l.Status(ctx)
	require.NoError(t, err)
	start := time.Now()
	for i, tx := range txs {
		if i >= window {
			eventually(t, 60*time.Second, func() error { return included(i - window) })
		}
		eventually(t, 60*time.Second, func() error {
			if err := l.Submit(ctx, tx); errors.Is(err, ErrMempoolFull) {
				return err // back-pressure: retry
			} else if err != nil {
				t.Fatalf("tx %d: %v", i, err)
			}
			return nil
		})
	}
	eventually(t, 120*time.Second, func() error { return included(ntx - 1) })
	elapsed := time.Since(start)
	h1, _, err := l.Status(ctx)
	require.NoError(t, err)

	var times []time.Time
	for h := h0; h <= h1; h++ {
		sh, err := l.header(ctx, h)
		require.NoError(t, err)
		times = append(times, sh.Time)
	}
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	slices.Sort(gaps)
	rate := float64(total) / elapsed.Seconds()
	t.Logf("anchored %d hashes in %d txs of %d through 4 validators in %v: %.0f hashes/s; %d blocks, median block time %v (min %v, max %v)",
		total, ntx, batch, elapsed.Round(time.Millisecond), rate, len(gaps), gaps[len(gaps)/2], gaps[0], gaps[len(gaps)-1])

	outboxN := envInt("SSI_LEDGER_LOAD_OUTBOX", 20000)
	st := openStore(t)
	a, err := New(Config{Ledger: l, Signer: op, Outbox: st, PollInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	es := make([]trust.Entry, outboxN)
	for j := range es {
		es[j] = trust.Entry{Kind: trust.KindDIDDocument, Subject: fmt.Sprintf("did:load:%d", j), Version: 1, SHA256: digest(strconv.Itoa(j))}
	}
	for chunk := range slices.Chunk(es, 1000) {
		require.NoError(t, a.Enqueue(ctx, st, chunk...))
	}
	start = time.Now()
	runWorker(t, a)
	eventually(t, 10*time.Minute, depthIs(t, st, 0))
	elapsed = time.Since(start)
	t.Logf("outbox path: %d entries enqueued in SQLite, anchored with stored receipts by one worker in %v: %.0f entries/s (%d transactions)",
		outboxN, elapsed.Round(time.Millisecond), float64(outboxN)/elapsed.Seconds(), a.Stats().Transactions)
}

// TestLedgerLoadSingle measures the `ssi dev` ledger: one validator with
// fast blocks, anchors made one after another, each waiting for its
// receipt.
//
//	SSI_LEDGER_LOAD=1 go test -run TestLedgerLoadSingle -v -count=1 ./anchor
func TestLedgerLoadSingle(t *testing.T) {
	if os.Getenv("SSI_LEDGER_LOAD") == "" {
		t.Skip("load command: set SSI_LEDGER_LOAD=1")
	}
	ctx := context.Background()
	op := newEdSigner(t)
	l, _ := startLedger(t, op)
	h0, _, err := l.Status(ctx)
	require.NoError(t, err)
	const n = 30
	start := time.Now()
	for i := range n {
		e := didEntry(i, 1)
		tx, err := op.Sign(Body{ChainID: l.ChainID(), Type: TxAnchor, Seq: nextSeq(t, l, op.ID()), Entries: []trust.Entry{e}})
		require.NoError(t, err)
		require.NoError(t, l.Submit(ctx, tx))
		waitReceipt(t, l, e)
	}
	elapsed := time.Since(start)
	h1, _, err := l.Status(ctx)
	require.NoError(t, err)
	var gaps []time.Duration
	for h := h0 + 1; h < h1; h++ {
		a, err := l.header(ctx, h)
		require.NoError(t, err)
		b, err := l.header(ctx, h+1)
		require.NoError(t, err)
		gaps = append(gaps, b.Time.Sub(a.Time))
	}
	require.NotEmpty(t, gaps)
	slices.Sort(gaps)
	t.Logf("%d sequential anchors with receipts in %v (%v each); %d blocks, median block time %v",
		n, elapsed.Round(time.Millisecond), (elapsed / n).Round(time.Millisecond), len(gaps), gaps[len(gaps)/2])
}
