package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/store"
)

// ledgerParts is the ledger as the services use it: a client, the
// anchoring worker on the store's outbox, and health.
type ledgerParts struct {
	node     *anchor.Node // nil when the ledger runs elsewhere
	ledger   *anchor.Ledger
	anchorer *anchor.Anchorer
	health   *anchor.HealthChecker
	trust    anchor.Trust
	stop     func() error
}

// operatorSigner reads the writer key at path, creating it when create is
// set and it does not exist.
func operatorSigner(path string, create bool) (*anchor.TxSigner, error) {
	priv, err := anchor.ReadOperatorKey(path)
	if errors.Is(err, os.ErrNotExist) && create {
		if priv, err = anchor.GenerateOperatorKey(); err != nil {
			return nil, err
		}
		if err = anchor.WriteOperatorKey(path, priv); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return anchor.NewTxSigner(priv)
}

// startDevLedger runs one validator in process under dataDir/ledger, with
// its operator key beside it, and the anchoring worker on st. The ledger
// and its state survive restarts.
func startDevLedger(ctx context.Context, dataDir string, st *store.Store, log *slog.Logger) (*ledgerParts, error) {
	dir := filepath.Join(dataDir, "ledger")
	signer, err := operatorSigner(filepath.Join(dir, "operator.key"), true)
	if err != nil {
		return nil, fmt.Errorf("preparing the ledger operator key: %w", err)
	}
	home, err := anchor.EnsureDevHome(dir, signer.Key())
	if err != nil {
		return nil, fmt.Errorf("preparing the ledger home: %w", err)
	}
	node, err := anchor.StartNode(ctx, home, anchor.NodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("starting the ledger node: %w", err)
	}
	p, err := wireLedger(anchor.NewLedger(node.Client(), node.ChainID()), signer, st, log)
	if err != nil {
		_ = node.Stop()
		return nil, err
	}
	p.node = node
	if p.trust, err = node.Trust(); err != nil {
		_ = node.Stop()
		return nil, err
	}
	stopWorker := p.start(ctx)
	p.stop = func() error {
		stopWorker()
		return node.Stop()
	}
	return p, nil
}

func wireLedger(l *anchor.Ledger, signer *anchor.TxSigner, st *store.Store, log *slog.Logger) (*ledgerParts, error) {
	a, err := anchor.New(anchor.Config{Ledger: l, Signer: signer, Outbox: st, Logger: log})
	if err != nil {
		return nil, err
	}
	return &ledgerParts{
		ledger:   l,
		anchorer: a,
		health:   &anchor.HealthChecker{Ledger: l, Outbox: st, HaltAfter: 10 * time.Second},
	}, nil
}

// start runs the anchoring worker until the returned function is called.
func (p *ledgerParts) start(ctx context.Context) func() {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = p.anchorer.Run(wctx)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// ready fails when the ledger is unreachable or halted; anchors keep
// queueing in the outbox meanwhile.
func (p *ledgerParts) ready(ctx context.Context) error {
	h, err := p.health.Check(ctx)
	if err != nil {
		return err
	}
	if !h.Reachable || h.Halted {
		return fmt.Errorf("ledger halted or unreachable (last height %d, outbox depth %d)", h.LastHeight, h.OutboxDepth)
	}
	return nil
}
