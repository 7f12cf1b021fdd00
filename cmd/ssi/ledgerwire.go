package main

import (
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// ledgerParts is the ledger as the services use it: a client, the
// anchoring worker on the store's outbox, and health.
type ledgerParts struct {
	node     *anchor.Node // nil when the ledger runs elsewhere
	ledger   *anchor.Ledger
	anchorer *anchor.Anchorer
	health   *anchor.HealthChecker
	trust    trust.Trust
	chainID  string
	stop     func() error
}

// LedgerConn is how a service run alone reaches the ledger: a validator's
// RPC address and the service's writer key on the ledger's allow-list.
type LedgerConn struct {
	LedgerRPC     string `yaml:"ledger_rpc" flag:"ledger-rpc" usage:"CometBFT RPC address of a validator, e.g. http://127.0.0.1:26657"`
	LedgerKeyFile string `yaml:"ledger_key_file" flag:"ledger-key-file" usage:"this service's writer key on the ledger allow-list, sealed under the KEK"`
}

// validate reports what is missing to reach the ledger. kek is the
// resolved key-encryption key, which opens the sealed writer key.
func (c LedgerConn) validate(kek string) error {
	var p []error
	if kek == "" {
		p = append(p, errors.New("kek: the key-encryption key is needed to open the ledger writer key"))
	}
	if c.LedgerRPC == "" {
		p = append(p, errors.New("ledger-rpc: the service anchors on the ledger and needs a validator's RPC address"))
	}
	if c.LedgerKeyFile == "" {
		p = append(p, errors.New("ledger-key-file: the service needs its ledger writer key"))
	}
	return errors.Join(p...)
}

// connect reaches the validator and starts the anchoring worker on st;
// stop ends the worker.
func (c LedgerConn) connect(ctx context.Context, st *store.Store, kek keys.KEK, log *slog.Logger) (*ledgerParts, error) {
	signer, err := writerKey(c.LedgerKeyFile, kek, false)
	if err != nil {
		return nil, fmt.Errorf("loading the ledger writer key: %w", err)
	}
	rpc, err := rpchttp.New(c.LedgerRPC, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("connecting to the ledger: %w", err)
	}
	status, err := rpc.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the ledger's status: %w", err)
	}
	p, err := wireLedger(anchor.NewLedger(rpc, status.NodeInfo.Network), signer, st, log)
	if err != nil {
		return nil, err
	}
	p.chainID = status.NodeInfo.Network
	stopWorker := p.start(ctx)
	p.stop = func() error { stopWorker(); return nil }
	return p, nil
}

// writerKey opens the ledger writer key at path, sealed under kek (keys
// are never kept in clear at rest). With create, a missing file is made: a
// new Ed25519 key, sealed, owner-only.
func writerKey(path string, kek keys.KEK, create bool) (*anchor.TxSigner, error) {
	blob, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		s, err := keys.Generate(keys.EdDSA)
		if err != nil {
			return nil, err
		}
		sealed, err := keys.Seal(s, kek)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the key directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating the writer key file: %w", err)
		}
		if _, err := f.Write(sealed); err != nil {
			f.Close()
			return nil, fmt.Errorf("writing the writer key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("writing the writer key: %w", err)
		}
		return anchor.NewTxSigner(s)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the writer key: %w", err)
	}
	s, err := keys.Open(blob, kek)
	if err != nil {
		return nil, fmt.Errorf("opening the writer key (is it sealed under this KEK?): %w", err)
	}
	return anchor.NewTxSigner(s)
}

// startDevLedger runs one validator in process under dataDir/ledger, with
// its operator key beside it, and the anchoring worker on st. The ledger
// and its state survive restarts.
func startDevLedger(ctx context.Context, dataDir string, st *store.Store, kek keys.KEK, log *slog.Logger) (*ledgerParts, error) {
	dir := filepath.Join(dataDir, "ledger")
	signer, err := writerKey(filepath.Join(dir, "operator.key"), kek, true)
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
	p.node, p.chainID = node, node.ChainID()
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
		health:   &anchor.HealthChecker{Ledger: l, Outbox: st, HaltAfter: 10 * time.Second, Now: clock},
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
