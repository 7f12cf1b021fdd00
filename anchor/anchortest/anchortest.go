// Package anchortest starts a real ledger for the tests of the services
// that anchor: one CometBFT validator in process, with the anchoring worker
// draining the given outbox. It is never a mock: receipts verify against
// the validator's real signatures.
package anchortest

import (
	"context"
	"sync"
	"testing"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/trust"
)

// Ledger is a running single-validator ledger with its worker.
type Ledger struct {
	Node     *anchor.Node
	Anchorer *anchor.Anchorer
	Trust    trust.Trust // the pinned validator set, for VerifyReceipt
}

// Start initialises a validator under tb.TempDir, starts it and the
// anchoring worker on ob, and stops both when the test ends.
func Start(tb testing.TB, ob anchor.Outbox) *Ledger {
	tb.Helper()
	fail := func(what string, err error) {
		if err != nil {
			tb.Fatalf("anchortest: %s: %v", what, err)
		}
	}
	priv, err := anchor.GenerateOperatorKey()
	fail("generating the operator key", err)
	signer, err := anchor.NewTxSigner(priv)
	fail("making the writer", err)
	homes, err := anchor.Init(tb.TempDir(), 1, anchor.InitOptions{ChainID: "test-ledger", Operators: []anchor.WriterKey{signer.Key()}})
	fail("initialising the validator", err)
	node, err := anchor.StartNode(context.Background(), homes[0], anchor.NodeOptions{})
	fail("starting the validator", err)
	a, err := anchor.New(anchor.Config{Ledger: anchor.NewLedger(node.Client(), node.ChainID()), Signer: signer, Outbox: ob})
	if err != nil {
		_ = node.Stop()
		fail("making the worker", err)
	}
	pinned, err := node.Trust()
	if err != nil {
		_ = node.Stop()
		fail("reading the validator set", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = node.Stop()
	})
	return &Ledger{Node: node, Anchorer: a, Trust: pinned}
}
