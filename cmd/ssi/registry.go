package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/config"
)

// registryConfig configures `ssi registry`.
type registryConfig struct {
	config.Server `yaml:",inline"`
	LedgerRPC     string `yaml:"ledger_rpc" flag:"ledger-rpc" usage:"CometBFT RPC address of a validator, e.g. http://127.0.0.1:26657"`
	LedgerKeyFile string `yaml:"ledger_key_file" flag:"ledger-key-file" usage:"the registry's writer key on the ledger allow-list (PEM)"`
}

func (c *registryConfig) validate() error {
	var p []error
	if c.LedgerRPC == "" {
		p = append(p, errors.New("ledger-rpc: the registry needs a validator's RPC address"))
	}
	if c.LedgerKeyFile == "" {
		p = append(p, errors.New("ledger-key-file: the registry needs its ledger writer key"))
	}
	return errors.Join(c.Resolve(), c.Validate(), errors.Join(p...))
}

// runRegistry runs the DID registry and trust registries alone, for
// production: its store (PostgreSQL, typically) and a validator of the
// ledger reached over RPC. Migrations are applied with `ssi migrate`.
func runRegistry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := registryConfig{Server: config.DefaultServer()}
	fs := flag.NewFlagSet("ssi registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	if err := parseConfig(fs, &cfg, args, cfg.validate); err != nil {
		return err
	}
	if *check {
		fmt.Fprintln(stdout, "configuration ok")
		return nil
	}
	log := newLogger(cfg.Server, stderr)
	st, err := openStore(ctx, cfg.Server)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer st.Close()

	signer, err := operatorSigner(cfg.LedgerKeyFile, false)
	if err != nil {
		return fmt.Errorf("loading the ledger writer key: %w", err)
	}
	rpc, err := rpchttp.New(cfg.LedgerRPC, "/websocket")
	if err != nil {
		return fmt.Errorf("connecting to the ledger: %w", err)
	}
	status, err := rpc.Status(ctx)
	if err != nil {
		return fmt.Errorf("reading the ledger's status: %w", err)
	}
	ledger, err := wireLedger(anchor.NewLedger(rpc, status.NodeInfo.Network), signer, st, log)
	if err != nil {
		return err
	}
	stopWorker := ledger.start(ctx)
	defer stopWorker()

	ln, err := listen(&cfg.Server)
	if err != nil {
		return err
	}
	reg := didregistry.New(didregistry.Config{Store: st, Anchor: ledger.anchorer, PublicURL: cfg.PublicURL, Logger: log})
	a := newApp(cfg.Server, st, log, services{ledger: ledger, registry: reg})
	fmt.Fprintf(stdout, "ssi registry listening on %s (ledger chain %s)\n", cfg.PublicURL, status.NodeInfo.Network)
	return a.serve(ctx, ln)
}
