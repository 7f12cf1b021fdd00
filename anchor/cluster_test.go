package anchor

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

func statusEntry(list int, v uint64) trust.Entry {
	return trust.Entry{Kind: trust.KindStatusList, Subject: fmt.Sprintf("https://status.example/lists/%d", list), Version: v,
		SHA256: digest(fmt.Sprintf("list %d v%d", list, v))}
}

// heightAdvances waits until the ledger's height grows by n.
func heightAdvances(t *testing.T, l *Ledger, n int64) {
	t.Helper()
	h0, _, err := l.Status(context.Background())
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() error {
		h, _, err := l.Status(context.Background())
		if err != nil {
			return err
		}
		if h < h0+n {
			return fmt.Errorf("height %d, waiting for %d", h, h0+n)
		}
		return nil
	})
}

func notHalted(hc *HealthChecker) func() error {
	return func() error {
		h, err := hc.Check(context.Background())
		if err != nil {
			return err
		}
		if h.Halted {
			return fmt.Errorf("halted at height %d (last block %v)", h.LastHeight, h.LastBlockTime)
		}
		return nil
	}
}

func TestFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network; CI runs it")
	}
	ctx := context.Background()
	op := newEdSigner(t)
	homes, nodes := startNodes(t, 4, op)
	l0 := NewLedger(nodes[0].Client(), nodes[0].ChainID())
	l3 := NewLedger(nodes[3].Client(), nodes[3].ChainID())
	tr, err := nodes[0].Trust()
	require.NoError(t, err)
	require.Len(t, tr.Validators, 4)
	waitWriter(t, l0, op)
	// The entries are an agency's, written by its own writer confined to its
	// namespace, so ownership is enforced throughout the faults.
	agency := newEdSigner(t)
	require.NoError(t, l0.AddWriter(ctx, op, agency.Key(), RoleWriter, "https://status.example/"))
	waitWriter(t, l3, agency)

	st := openStore(t)
	a, err := New(Config{Ledger: l0, Signer: agency, Outbox: st, PollInterval: 5 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, ConfirmTimeout: 2 * time.Second})
	require.NoError(t, err)
	hc := &HealthChecker{Ledger: l0, Outbox: st, HaltAfter: 5 * time.Second}
	runWorker(t, a)

	var all []trust.Entry
	enqueue := func(es ...trust.Entry) {
		require.NoError(t, a.Enqueue(ctx, st, es...))
		all = append(all, es...)
	}
	round := func(v uint64) []trust.Entry {
		var es []trust.Entry
		for i := range 40 {
			es = append(es, statusEntry(i, v))
		}
		return es
	}

	t.Run("a batch sent to node 0 is readable with a verifying receipt on node 3", func(t *testing.T) {
		enqueue(round(1)...)
		eventually(t, 60*time.Second, depthIs(t, st, 0))
		for _, e := range all {
			var r *trust.Receipt
			eventually(t, 20*time.Second, func() error { var err error; r, err = l3.Get(ctx, e.Kind, e.Subject, e.Version); return err })
			require.NoError(t, trust.VerifyReceipt(r, tr))
		}

		// A verifier that holds only the validators' public keys (and the
		// chain ID), read back from JSON, accepts the receipt...
		r, err := l3.Get(ctx, all[0].Kind, all[0].Subject, 1)
		require.NoError(t, err)
		tb, err := trust.MarshalTrust(tr)
		require.NoError(t, err)
		var pinned trust.Trust
		require.NoError(t, json.Unmarshal(tb, &pinned))
		rb, err := json.Marshal(r)
		require.NoError(t, err)
		parsed, err := trust.ParseReceipt(rb)
		require.NoError(t, err)
		assert.NoError(t, trust.VerifyReceipt(parsed, pinned))

		// ...and refuses the same header once it carries fewer than 2/3
		// of the power's signatures.
		var sh cmtproto.SignedHeader
		require.NoError(t, sh.Unmarshal(parsed.SignedHeader))
		signed := 0
		for i := range sh.Commit.Signatures {
			if sh.Commit.Signatures[i].BlockIdFlag == cmtproto.BlockIDFlagCommit {
				signed++
				if signed > 2 {
					sh.Commit.Signatures[i] = cmtproto.CommitSig{BlockIdFlag: cmtproto.BlockIDFlagAbsent}
				}
			}
		}
		require.GreaterOrEqual(t, signed, 3)
		parsed.SignedHeader, err = encodeSignedHeader(&sh)
		require.NoError(t, err)
		assert.ErrorIs(t, trust.VerifyReceipt(parsed, pinned), trust.ErrReceiptUnverified)
	})

	t.Run("one validator stopped: blocks continue, nothing lost", func(t *testing.T) {
		// Stopped while a batch is being anchored.
		enqueue(round(2)...)
		require.NoError(t, nodes[3].Stop())
		nodes[3] = nil
		heightAdvances(t, l0, 3)
		eventually(t, 60*time.Second, depthIs(t, st, 0))
		eventually(t, 30*time.Second, notHalted(hc))
	})

	t.Run("two validators stopped: the chain halts, the outbox grows, health says so", func(t *testing.T) {
		require.NoError(t, nodes[2].Stop())
		nodes[2] = nil
		enqueue(round(3)...)
		enqueue(round(4)...)
		eventually(t, 30*time.Second, func() error {
			h, err := hc.Check(ctx)
			if err != nil {
				return err
			}
			if !h.Halted {
				return fmt.Errorf("not halted yet at height %d", h.LastHeight)
			}
			return nil
		})
		h, err := hc.Check(ctx)
		require.NoError(t, err)
		assert.True(t, h.Halted)
		assert.Equal(t, int64(80), h.OutboxDepth, "nothing of rounds 3 and 4 is anchored")
		enqueue(round(5)...)
		d, err := st.OutboxDepth(ctx, Topic)
		require.NoError(t, err)
		assert.Equal(t, int64(120), d, "services keep enqueueing")
	})

	t.Run("restart: the backlog drains in version order, each entry anchored once", func(t *testing.T) {
		for _, i := range []int{2, 3} {
			nodes[i], err = StartNode(ctx, homes[i], NodeOptions{})
			require.NoError(t, err)
		}
		eventually(t, 120*time.Second, depthIs(t, st, 0))
		eventually(t, 30*time.Second, notHalted(hc))

		// Reconciliation: every enqueued entry is on the ledger exactly
		// once, with its hash, nothing else is in the log, and versions of a
		// subject come in order.
		reconcile(t, l0, all)

		// A restarted validator resumed its map too: its latest-version
		// proofs verify against the network's signatures.
		l2 := NewLedger(nodes[2].Client(), nodes[2].ChainID())
		for _, e := range round(5)[:3] {
			var l *trust.Latest
			eventually(t, 20*time.Second, func() error { // (the restarted node may still be catching up)
				p, err := l2.LatestProof(ctx, e.Kind, e.Subject)
				if err != nil {
					return err
				}
				if l, err = trust.VerifyLatest(p, tr); err != nil {
					t.Fatalf("a proof of the restarted node does not verify: %v", err)
				}
				return l.Require(e.Kind, e.Subject, 5, e.SHA256)
			})
			assert.Equal(t, agency.ID(), l.State.Owner)
		}
		eventually(t, 5*time.Second, func() error { // the counter moves just after the store
			if got := a.Stats().Anchored; got != int64(len(all)) {
				return fmt.Errorf("anchored %d of %d", got, len(all))
			}
			return nil
		})
	})
}
