package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/issuer"
)

// parseConfig loads cfg through fs from args and the environment, refuses
// extra arguments, and runs validate, which reports every problem at once.
func parseConfig(fs *flag.FlagSet, cfg any, args []string, validate func() error) error {
	rest, err := config.Load(fs, cfg, args, os.Getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %q", rest)
	}
	if err := validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	return nil
}

// loadServerConfig parses a server command's configuration. With
// --check-config it validates and reports instead of returning a config.
func loadServerConfig(name string, args []string, stdout, stderr io.Writer) (cfg config.Server, checkOnly bool, err error) {
	cfg = config.DefaultServer()
	checkOnly, err = loadCommandConfig(name, &cfg, func() error { return errors.Join(cfg.Resolve(), cfg.Validate()) }, args, stdout, stderr)
	return cfg, checkOnly, err
}

// loadCommandConfig is loadServerConfig for a command whose configuration
// cfg (a pointer to a struct holding the defaults) has more than
// config.Server; validate checks all of it.
func loadCommandConfig(name string, cfg any, validate func() error, args []string, stdout, stderr io.Writer) (checkOnly bool, err error) {
	fs := flag.NewFlagSet("ssi "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	if err := parseConfig(fs, cfg, args, validate); err != nil {
		return false, err
	}
	if *check {
		fmt.Fprintln(stdout, "configuration ok")
		return true, nil
	}
	return false, nil
}

// runDev runs everything in one process on the embedded store under the
// data directory, migrating it first. It prints the URLs and serves until
// the context ends (SIGINT or SIGTERM).
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	dc := devConfig{Server: config.DefaultServer(), IssuerRates: defaultIssuerRates()}
	cfg := &dc.Server
	return serverCommand{name: "dev", config: &dc, server: cfg, migrate: true,
		validate: func() error { return errors.Join(dc.Resolve(), dc.Validate(), dc.IssuerRates.validate()) },
		build: func(ctx context.Context, s *server) (built, error) {
			kek, err := devKEK(cfg.KEK, cfg.DataDir)
			if err != nil {
				return built{}, fmt.Errorf("loading the key-encryption key: %w", err)
			}
			offline := devVenueWasm(ctx, cfg.DataDir)
			ledger, err := startDevLedger(ctx, cfg.DataDir, s.store, kek, s.log)
			if err != nil {
				return built{}, err
			}
			s.onStop(func() { _ = ledger.stop() })
			reg := didregistry.New(didregistry.Config{Store: s.store, Anchor: ledger.anchorer, PublicURL: cfg.PublicURL, Resolver: coreResolver(), Now: clock, Logger: s.log})
			seed, err := seedDev(ctx, cfg.DataDir, kek, s.store, reg)
			if err != nil {
				return built{}, err
			}
			tenants, err := devIssuerTenants(cfg.DataDir, kek)
			if err != nil {
				return built{}, err
			}
			// DPoP stays optional on `ssi dev` (no --require-dpop): a demo
			// wallet without DPoP still works.
			icfg := issuer.Config{PublicURL: cfg.PublicURL, Tenants: tenants, Now: clock, Logger: s.log, Ledger: ledger.health}
			dc.IssuerRates.apply(&icfg, *cfg)
			iss, stopIssuer, err := startIssuer(ctx, s.store, ledger.anchorer, icfg)
			if err != nil {
				return built{}, err
			}
			s.onStop(stopIssuer)
			hld, err := newHolder(*cfg, s.store, kek, ledger.trust, cfg.PublicURL, true, s.log)
			if err != nil {
				return built{}, err
			}
			s.onStop(startPurge(ctx, hld))
			if seed != nil {
				if err := seedDemoCitizen(ctx, cfg.DataDir, hld, seed); err != nil {
					return built{}, err
				}
			}
			ver, stopVerifier, err := startDevVerifier(ctx, s, cfg.DataDir, kek, ledger.trust, dc.VenuePasses)
			if err != nil {
				return built{}, err
			}
			s.onStop(stopVerifier)
			details := func(w io.Writer) {
				u := cfg.PublicURL
				fmt.Fprintf(w, "  health   %s/healthz\n  ready    %s/readyz\n  metrics  %s/metrics\n  API      %s/openapi.yaml\n", u, u, s.adminURL, u)
				fmt.Fprintf(w, "  store    %s\n  ledger   chain %s, one validator in process\n", s.store.Backend(), ledger.node.ChainID())
				if seed != nil {
					fmt.Fprintf(w, "  seeded   health %s\n           benefits %s\n           venue %s\n", seed.DIDs["health"], seed.DIDs["benefits"], seed.DIDs["venue"])
				}
				fmt.Fprintf(w, "  issuers  %s/issuers/health  %s/issuers/benefits\n", u, u)
				fmt.Fprintf(w, "  wallet   %s/wallet/v1\n", u)
				fmt.Fprintf(w, "  verifier %s/verifier/v1/presentations (venue, policy entry)\n", u)
				fmt.Fprintf(w, "  admin API keys of the demo tenants: %s\n", filepath.Join(cfg.DataDir, "dev-credentials.json"))
				fmt.Fprintf(w, "  pages    agency admin console %s/admin/ (sign in with the health or benefits key of that file)\n", u)
				fmt.Fprintf(w, "           venue scanner %s/venue/ (sign in with the venue key of that file)\n", u)
				fmt.Fprintf(w, "           venue scanner's offline verifier: %s\n", offline)
				fmt.Fprintf(w, "           citizen wallet %s/wallet/ (sign up, or sign in as the demo citizen of that file)\n", u)
			}
			return built{services: services{ledger: ledger, registry: reg, issuer: iss, holder: hld, verifier: ver}, details: details}, nil
		},
	}.run(ctx, args, stdout, stderr)
}

// listen opens the configured address. When the public URL was derived
// from the address (not configured), it is derived again from the bound
// address, so that port 0 prints a usable URL.
func listen(cfg *config.Server) (net.Listener, error) {
	derived := cfg.PublicURL == "http://"+cfg.Addr
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	if derived {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	return ln, nil
}
