package main

import (
	"context"
	"errors"
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
	return serverCommand{name: "registry", config: &cfg, server: &cfg.Server, validate: cfg.validate,
		build: func(ctx context.Context, s *server) (built, error) {
			kek, err := keys.ParseKEK(cfg.KEK)
			if err != nil {
				return built{}, fmt.Errorf("loading the key-encryption key: %w", err)
			}
			ledger, err := cfg.LedgerConn.connect(ctx, s.store, kek, s.log)
			if err != nil {
				return built{}, err
			}
			s.onStop(func() { _ = ledger.stop() })
			reg := didregistry.New(didregistry.Config{Store: s.store, Anchor: ledger.anchorer, PublicURL: cfg.PublicURL, Resolver: coreResolver(), Now: clock, Logger: s.log})
			return built{services: services{ledger: ledger, registry: reg}, summary: " (ledger chain " + ledger.chainID + ")"}, nil
		},
	}.run(ctx, args, stdout, stderr)
}
