package anchor

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

// eventually polls fn until it returns nil or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
	for {
		if err = fn(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		<-tick.C
	}
}

func newEdSigner(t testing.TB) *TxSigner {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := NewTxSigner(priv)
	require.NoError(t, err)
	return s
}

func digest(s string) string {
	d := sha256.Sum256([]byte(s))
	return hex.EncodeToString(d[:])
}

func didEntry(i int, v uint64) trust.Entry {
	return trust.Entry{Kind: trust.KindDIDDocument, Subject: fmt.Sprintf("did:ssi:issuer-%d", i), Version: v,
		SHA256: digest(fmt.Sprintf("doc %d v%d", i, v))}
}

// startNodes initialises n validators under t.TempDir and starts them,
// stopping them at the end of the test.
func startNodes(t testing.TB, n int, op *TxSigner) (homes []string, nodes []*Node) {
	t.Helper()
	homes, err := Init(t.TempDir(), n, InitOptions{ChainID: "test-chain", Operators: []WriterKey{op.Key()}})
	require.NoError(t, err)
	nodes = make([]*Node, n)
	for i, h := range homes {
		var opts NodeOptions
		if i == 0 && os.Getenv("SSI_LEDGER_LOG") != "" { // debugging aid: node 0's CometBFT log
			opts.Log = os.Stderr
		}
		nodes[i], err = StartNode(context.Background(), h, opts)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			if nd != nil {
				_ = nd.Stop()
			}
		}
	})
	return homes, nodes
}

// nextSeq returns the writer's next sequence number on the ledger.
func nextSeq(t testing.TB, l *Ledger, id string) uint64 {
	t.Helper()
	w, err := l.Writer(context.Background(), id)
	require.NoError(t, err)
	return w.Seq + 1
}

// waitReceipt polls until the entry has a receipt.
func waitReceipt(t testing.TB, l *Ledger, e trust.Entry) *trust.Receipt {
	t.Helper()
	var r *trust.Receipt
	eventually(t, 20*time.Second, func() error {
		var err error
		r, err = l.Get(context.Background(), e.Kind, e.Subject, e.Version)
		return err
	})
	return r
}

// logSize returns the number of leaves in the ledger's log as of the app's
// last commit (the block store can be one block ahead of the app).
func logSize(t testing.TB, l *Ledger) uint64 {
	t.Helper()
	info, err := l.c.ABCIInfo(context.Background())
	require.NoError(t, err)
	var p proofResult
	require.NoError(t, l.query(context.Background(), QueryProof, proofQuery{LeafIndex: 0, Height: info.Response.LastBlockHeight}, &p))
	return p.TreeSize
}

// startLedger starts one validator whose genesis operator is op and waits
// until op is on the allow-list (block 1 committed).
func startLedger(t testing.TB, op *TxSigner) (*Ledger, *Node) {
	t.Helper()
	_, nodes := startNodes(t, 1, op)
	l := NewLedger(nodes[0].Client(), nodes[0].ChainID())
	waitWriter(t, l, op)
	return l, nodes[0]
}

// waitWriter waits until w is on the ledger's allow-list.
func waitWriter(t testing.TB, l *Ledger, w *TxSigner) {
	t.Helper()
	eventually(t, 60*time.Second, func() error { _, err := l.Writer(context.Background(), w.ID()); return err })
}

func refsOf(es []trust.Entry) []EntryRef {
	refs := make([]EntryRef, len(es))
	for i, e := range es {
		refs[i] = EntryRef{Kind: e.Kind, Subject: e.Subject, Version: e.Version}
	}
	return refs
}

// reconcile is the reconciliation check: every entry of all is on the
// ledger exactly once with its hash, the log holds nothing else (its
// leaves are exactly 0..len(all)-1), and the versions of a subject sit in
// increasing leaf order.
func reconcile(t testing.TB, l *Ledger, all []trust.Entry) {
	t.Helper()
	locs, err := l.Lookup(context.Background(), refsOf(all)...)
	require.NoError(t, err)
	seen := map[uint64]bool{}
	lastLeaf := map[string]uint64{}
	for i, loc := range locs {
		require.True(t, loc.Found, all[i].Key())
		assert.Equal(t, all[i].SHA256, loc.Entry.SHA256)
		assert.False(t, seen[loc.LeafIndex], "leaf %d used twice", loc.LeafIndex)
		seen[loc.LeafIndex] = true
		subject := all[i].Kind + "|" + all[i].Subject
		if prev, ok := lastLeaf[subject]; ok && all[i].Version > 1 {
			assert.Greater(t, loc.LeafIndex, prev, "versions of %s out of order", all[i].Subject)
		}
		lastLeaf[subject] = loc.LeafIndex
	}
	assert.Equal(t, uint64(len(all)), logSize(t, l), "the log holds exactly these entries, each once")
}
