package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/keys"
)

// registryConfig configures `ssi registry`.
type registryConfig struct {
	config.Server `yaml:",inline"`
	LedgerConn    `yaml:",inline"`
}

func (c *registryConfig) validate() error {
	resolved := c.Resolve() // reads the KEK file first
	return errors.Join(resolved, c.Validate(), c.RequireHTTPS(), c.LedgerConn.validate(c.KEK))
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

	kek, err := keys.ParseKEK(cfg.KEK)
	if err != nil {
		return fmt.Errorf("loading the key-encryption key: %w", err)
	}
	ledger, err := cfg.LedgerConn.connect(ctx, st, kek, log)
	if err != nil {
		return err
	}
	defer ledger.stop()

	ln, err := listen(&cfg.Server)
	if err != nil {
		return err
	}
	reg := didregistry.New(didregistry.Config{Store: st, Anchor: ledger.anchorer, PublicURL: cfg.PublicURL, Now: clock, Logger: log})
	a := newApp(cfg.Server, st, log, services{ledger: ledger, registry: reg})
	fmt.Fprintf(stdout, "ssi registry listening on %s (ledger chain %s)\n", cfg.PublicURL, ledger.chainID)
	return a.serve(ctx, ln)
}
