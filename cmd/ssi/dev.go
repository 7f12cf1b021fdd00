package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/ssi-project/ssi/internal/config"
)

// loadServerConfig parses a server command's configuration. With
// --check-config it validates and reports instead of returning a config.
func loadServerConfig(name string, args []string, stdout, stderr io.Writer) (cfg config.Server, checkOnly bool, err error) {
	cfg = config.DefaultServer()
	fs := flag.NewFlagSet("ssi "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	rest, err := config.Load(fs, &cfg, args, os.Getenv)
	if err != nil {
		return cfg, false, err
	}
	if len(rest) > 0 {
		return cfg, false, fmt.Errorf("unexpected arguments: %q", rest)
	}
	if err := errors.Join(cfg.Resolve(), cfg.Validate()); err != nil {
		return cfg, false, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if *check {
		fmt.Fprintln(stdout, "configuration ok")
		return cfg, true, nil
	}
	return cfg, false, nil
}

// runDev runs everything in one process on the embedded store under the
// data directory, migrating it first. It prints the URLs and serves until
// the context ends (SIGINT or SIGTERM).
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, checkOnly, err := loadServerConfig("dev", args, stdout, stderr)
	if err != nil || checkOnly {
		return err
	}
	derivedURL := cfg.PublicURL == "http://"+cfg.Addr
	log := newLogger(cfg, stderr)

	st, err := openStore(ctx, cfg)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrating store: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	if derivedURL {
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	a := newApp(cfg, st, log)
	fmt.Fprintf(stdout, "ssi dev listening on %s\n", cfg.PublicURL)
	fmt.Fprintf(stdout, "  health   %s/healthz\n  ready    %s/readyz\n  metrics  %s/metrics\n  API      %s/openapi.yaml\n",
		cfg.PublicURL, cfg.PublicURL, cfg.PublicURL, cfg.PublicURL)
	fmt.Fprintf(stdout, "  store    %s\n", st.Backend())
	return a.serve(ctx, ln)
}
