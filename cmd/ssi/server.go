package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/store"
)

// serverCommand is a command that serves HTTP (ssi dev, ssi issuer, ssi
// registry, and the holder and verifier to come): what it states beside
// the start-up they all share, which run carries out.
type serverCommand struct {
	name string // the subcommand, as in "ssi NAME listening on URL"
	// config is the command's whole configuration (parsed by parseConfig
	// from flags, env and YAML), server the config.Server it embeds.
	config any
	server *config.Server
	// validate reports every problem of the parsed configuration at once.
	validate func() error
	// prepare, when set, does what --check-config must check beyond
	// validate and what must work before the store is opened (reading
	// the agencies' sealed keys).
	prepare func() error
	// migrate applies the store's migrations on start (ssi dev); the
	// production commands leave them to `ssi migrate`.
	migrate bool
	// build starts the command's services on s: the store is open, the
	// listener bound and the public URL final. What it starts that must
	// stop on shutdown it hands to s.onStop. On error, build has stopped
	// nothing itself: run stops what was handed to onStop.
	build func(ctx context.Context, s *server) (built, error)
}

// server is a server being started, as a command's build sees it.
type server struct {
	cfg      *config.Server
	log      *slog.Logger
	store    *store.Store
	adminURL string // the admin listener's base URL (metrics, pprof, health)
	stops    []func()
}

// onStop registers f to run on shutdown, after the listeners have drained
// and before the store closes; the last registered runs first.
func (s *server) onStop(f func()) { s.stops = append(s.stops, f) }

// built is what a command's build started.
type built struct {
	services
	summary string          // appended to the listening line, e.g. " (ledger chain c)"
	details func(io.Writer) // the lines after the listening line; nil: none
}

// run is the start-up every server command shares, in this order: parse
// and validate the configuration, and prepare (--check-config stops here
// and reports "configuration ok"); the logger; the store, migrated when
// migrate is set; the public listener and the admin listener (metrics,
// pprof, health: --admin-addr, loopback by default); the command's
// services (build); the app; the banner, whose first line is "ssi NAME
// listening on URL" and second the admin URL; serving until ctx ends; then,
// in order, draining both listeners, stopping what build started (last
// started, first stopped) and closing the store.
func (c serverCommand) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ssi "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	if err := parseConfig(fs, c.config, args, c.validate); err != nil {
		return err
	}
	if c.prepare != nil {
		if err := c.prepare(); err != nil {
			return err
		}
	}
	if *check {
		fmt.Fprintln(stdout, "configuration ok")
		return nil
	}
	cfg := c.server
	log := newLogger(*cfg, stderr)
	st, err := openStore(ctx, *cfg, c.migrate)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := listen(cfg)
	if err != nil {
		return err
	}
	adminLn, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listening on the admin address: %w", err)
	}
	s := &server{cfg: cfg, log: log, store: st, adminURL: "http://" + adminLn.Addr().String()}
	defer func() {
		for i := len(s.stops) - 1; i >= 0; i-- {
			s.stops[i]()
		}
	}()
	b, err := c.build(ctx, s)
	if err != nil {
		ln.Close()
		adminLn.Close()
		return err
	}
	a := newApp(*cfg, st, log, b.services)
	fmt.Fprintf(stdout, "ssi %s listening on %s%s\n", c.name, cfg.PublicURL, b.summary)
	fmt.Fprintf(stdout, "  admin    %s (metrics, pprof, health; not public)\n", s.adminURL)
	if b.details != nil {
		b.details(stdout)
	}
	return a.serveBoth(ctx, ln, adminLn)
}
