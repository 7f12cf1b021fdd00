package anchor

import (
	"context"
	"fmt"
	"testing"
	"time"

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
// FinalizeBlock and Commit (decode, signature, version checks, Merkle
// appends, one synced write).
func BenchmarkFinalizeBlock2000(b *testing.B) {
	op := newEdSigner(b)
	ta := newTestApp(b, op)
	txs := make([][]byte, b.N)
	for i := range txs {
		txs[i] = batchTx(b, op, uint64(i+1), 2000)
	}
	b.ResetTimer()
	for i := range b.N {
		ta.height++
		res, err := ta.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: ta.height, Time: time.Unix(1, 0), Txs: txs[i : i+1]})
		if err != nil || res.TxResults[0].Code != 0 {
			b.Fatal(err, res.TxResults[0].Log)
		}
		if _, err := ta.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2000*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
