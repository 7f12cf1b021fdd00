package anchor

import (
	"context"
	"fmt"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ssi-project/ssi/internal/trust"
)

func batchTx(b *testing.B, s *TxSigner, seq uint64, n int) []byte {
	es := make([]trust.Entry, n)
	for j := range es {
		es[j] = trust.Entry{Kind: trust.KindStatusList, Subject: fmt.Sprintf("https://load.example/lists/%d/%d", seq, j),
			Version: 1, SHA256: digest(fmt.Sprintf("%d/%d", seq, j))}
	}
	tx, err := s.Sign(Body{ChainID: testChain, Type: TxAnchor, Seq: seq, Entries: es})
	if err != nil {
		b.Fatal(err)
	}
	return tx
}

// BenchmarkDecodeTx2000 decodes and validates a 2,000-entry batch.
func BenchmarkDecodeTx2000(b *testing.B) {
	tx := batchTx(b, newEdSigner(b), 1, 2000)
	b.SetBytes(int64(len(tx)))
	for b.Loop() {
		if _, err := DecodeTx(tx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2000*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkFinalizeBlock2000 runs one 2,000-entry transaction through
// FinalizeBlock and Commit (decode, signature, ownership and version
// checks, log appends, map updates, one synced write) on an in-memory
// database.
func BenchmarkFinalizeBlock2000(b *testing.B) {
	benchmarkFinalizeBlock(b, newTestApp(b, newEdSigner(b)))
}

// BenchmarkFinalizeBlock2000LevelDB is the same on the goleveldb a node
// uses, with its options; it reports the bytes each block writes.
func BenchmarkFinalizeBlock2000LevelDB(b *testing.B) {
	db, err := dbm.NewGoLevelDBWithOpts("anchor_app", b.TempDir(), appDBOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	benchmarkFinalizeBlock(b, newTestAppOn(b, db, newEdSigner(b)))
}

func benchmarkFinalizeBlock(b *testing.B, ta *testApp) {
	op := ta.ops[0]
	txs := make([][]byte, b.N)
	for i := range txs {
		txs[i] = batchTx(b, op, uint64(i+1), 2000)
	}
	written := 0
	b.ResetTimer()
	for i := range b.N {
		ta.height++
		res, err := ta.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: ta.height, Time: time.Unix(1, 0), Txs: txs[i : i+1]})
		if err != nil || res.TxResults[0].Code != 0 {
			b.Fatal(err, res.TxResults[0].Log)
		}
		for k, v := range ta.app.deliver.pending {
			written += len(k) + len(v)
		}
		if _, err := ta.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2000*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(written)/float64(b.N), "bytes/block")
}

// BenchmarkVerifyLatest verifies a latest-version proof offline (header
// signatures of 4 validators, app hash, map proof) in a map of 10,000
// subjects, against BenchmarkVerifyReceipt's receipt of the same chain.
func BenchmarkVerifyLatest(b *testing.B) {
	oc, e := benchChain(b)
	raw := mustJSON(b, oc.latest(b, e.Kind, e.Subject, all))
	b.ReportMetric(float64(len(raw)), "proof-bytes")
	for b.Loop() {
		p, err := trust.ParseLatestProof(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := trust.VerifyLatest(p, oc.trust); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyReceipt verifies a receipt offline, for comparison.
func BenchmarkVerifyReceipt(b *testing.B) {
	oc, e := benchChain(b)
	raw := mustJSON(b, oc.receipt(b, e, all))
	b.ReportMetric(float64(len(raw)), "receipt-bytes")
	for b.Loop() {
		r, err := trust.ParseReceipt(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := trust.VerifyReceipt(r, oc.trust); err != nil {
			b.Fatal(err)
		}
	}
}

// benchChain is a 4-validator offline chain with 10,000 subjects in 5
// blocks; it returns one of them.
func benchChain(b *testing.B) (*offlineChain, trust.Entry) {
	op := newEdSigner(b)
	oc := newOfflineChain(b, op, 1)
	for i := range 5 {
		txs := batchTx(b, op, uint64(i+1), 2000)
		if res := oc.ta.block(txs); res[0].Code != 0 {
			b.Fatal(res[0].Log)
		}
	}
	return oc, trust.Entry{Kind: trust.KindStatusList, Subject: "https://load.example/lists/5/1999", Version: 1}
}
