package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssi-project/ssi"
	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/holder"
	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/issuer"
	"github.com/ssi-project/ssi/verifier"
	"github.com/ssi-project/ssi/web"
)

// app is one running ssi server: its store, its two routers and metrics.
// Everything is wired here, explicitly.
type app struct {
	cfg      config.Server
	log      *slog.Logger
	store    *store.Store
	registry *prometheus.Registry
	router   chi.Router // the public listener's: the APIs
	// admin is the admin listener's (--admin-addr, loopback by default):
	// metrics, pprof and health, none of which the public one serves but
	// health.
	admin chi.Router
	now   func() time.Time
	// ready lists the readiness checks; /readyz fails when one fails.
	ready []readiness
}

// readiness is one dependency check of /readyz. A critical dependency
// (the store) makes the service unready; a non-critical one (the ledger,
// whose anchors queue in the outbox while it is down) is reported as
// degraded without taking the service out of a load balancer.
type readiness struct {
	name     string
	check    func(ctx context.Context) error
	critical bool
}

func newLogger(cfg config.Server, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the configured store, creating the data directory for an
// embedded SQLite file, and with migrate applies the pending migrations.
func openStore(ctx context.Context, cfg config.Server, migrate bool) (*store.Store, error) {
	if path, ok := strings.CutPrefix(cfg.Store, "sqlite:"); ok {
		if dir := dirOf(path); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("opening store: creating data directory: %w", err)
			}
		}
	}
	st, err := store.Open(ctx, cfg.Store, store.Options{Now: clock})
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("migrating store: %w", err)
		}
	}
	return st, nil
}

// clock is the one clock of an ssi process: the wiring hands it to the
// store (its default timestamps), to every service and to the admin API,
// so that none of them reads the time on its own.
func clock() time.Time { return time.Now() }

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i > 0 {
		return path[:i]
	}
	return ""
}

// services are the optional parts an app serves besides administration.
type services struct {
	ledger   *ledgerParts         // readiness and metrics of the ledger
	registry *didregistry.Service // the DID registry and trust registries
	issuer   *issuer.Service      // the OpenID4VCI issuer of the agencies
	holder   *holder.Service      // the citizen wallet backend
	verifier *verifier.Service    // the OpenID4VP verifier of the venues
}

// newApp builds the server on an open store.
func newApp(cfg config.Server, st *store.Store, log *slog.Logger, svc services) *app {
	a := &app{cfg: cfg, log: log, store: st, registry: prometheus.NewRegistry(), now: clock}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.registerStoreMetrics()
	a.ready = append(a.ready, readiness{"store", st.Ping, true})

	r := chi.NewRouter()
	r.Use(httpx.SecurityHeaders(strings.HasPrefix(cfg.PublicURL, "https://")))
	r.Use(httpx.Observe(log, httpx.NewMetrics(a.registry)))
	r.Use(httpx.LimitBody(cfg.MaxBody))
	r.NotFound(httpx.H(func(http.ResponseWriter, *http.Request) error {
		return errs.E(errs.NotFound, "route_not_found", "no such route")
	}))
	r.MethodNotAllowed(httpx.H(func(http.ResponseWriter, *http.Request) error {
		return errs.E(errs.Invalid, "method_not_allowed", "the method is not allowed on this route")
	}))

	r.Get("/healthz", healthz)
	r.Get("/readyz", httpx.H(a.readyz))
	r.Get("/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(ssi.OpenAPI)
	})

	if svc.ledger != nil {
		a.ready = append(a.ready, readiness{"ledger", svc.ledger.ready, false})
		a.registry.MustRegister(svc.ledger.health.Collectors()...)
	}

	adm := &admin.Service{Store: st, Now: a.now}
	r.Route("/admin/v1", func(r chi.Router) { admin.Routes(r, adm, st, cfg.MaxBody) })
	if svc.registry != nil {
		didregistry.Routes(r, svc.registry, coreResolver(), st, cfg.MaxBody)
	}
	if svc.issuer != nil {
		issuer.Routes(r, svc.issuer, st, cfg.MaxBody)
	}
	if svc.holder != nil {
		holder.Routes(r, svc.holder)
	}
	if svc.verifier != nil {
		a.registry.MustRegister(svc.verifier.Collectors()...)
		verifier.Routes(r, svc.verifier, st, cfg.MaxBody)
	}
	web.Routes(r) // the pages: /admin/ and their assets
	a.router = r
	a.admin = a.adminRoutes()
	return a
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// adminRoutes is the router of the admin listener: /metrics (Prometheus),
// /debug/pprof/ (net/http/pprof, without cmdline, which would show the
// command line and any secret given on it as a flag), /healthz and /readyz.
// It has no access log: a scrape every few seconds would drown the log.
func (a *app) adminRoutes() chi.Router {
	r := chi.NewRouter()
	r.Use(httpx.SecurityHeaders(false))
	r.NotFound(httpx.H(func(http.ResponseWriter, *http.Request) error {
		return errs.E(errs.NotFound, "route_not_found", "no such route")
	}))
	r.Get("/healthz", healthz)
	r.Get("/readyz", httpx.H(a.readyz))
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	// pprof.Index also serves the named profiles (/debug/pprof/heap, …);
	// the package's init registers on http.DefaultServeMux, which ssi
	// never serves.
	r.Get("/debug/pprof/*", pprof.Index)
	r.Get("/debug/pprof/profile", pprof.Profile)
	r.Get("/debug/pprof/trace", pprof.Trace)
	r.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	return r
}

func (a *app) registerStoreMetrics() {
	gauge := func(name, help string, f func(store.PoolStats) float64) {
		a.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(a.store.Stats()) }))
	}
	gauge("ssi_store_open_connections", "Open store connections.", func(s store.PoolStats) float64 { return float64(s.Open) })
	gauge("ssi_store_in_use_connections", "Store connections in use.", func(s store.PoolStats) float64 { return float64(s.InUse) })
	gauge("ssi_store_idle_connections", "Idle store connections.", func(s store.PoolStats) float64 { return float64(s.Idle) })
	a.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "ssi_store_waits_total", Help: "Times a caller waited for a store connection.",
	}, func() float64 { return float64(a.store.Stats().WaitCount) }))
}

// readyz answers 200 when every critical dependency answers and 503
// otherwise, naming each check's state (never its error, which goes to the
// log).
func (a *app) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]string{}
	failed := false
	for _, c := range a.ready {
		if err := c.check(ctx); err != nil {
			httpx.Logger(ctx).Warn("readiness check failed", "check", c.name, "error", err.Error())
			if c.critical {
				failed = true
				status[c.name] = "unavailable"
			} else {
				status[c.name] = "degraded"
			}
			continue
		}
		status[c.name] = "ok"
	}
	code := http.StatusOK
	if failed {
		code = http.StatusServiceUnavailable
	}
	return httpx.JSON(w, code, map[string]any{"ready": !failed, "checks": status})
}

// serve runs the public router on ln until ctx is done (see serveOn).
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	return a.serveOn(ctx, ln, a.router)
}

// serveBoth runs the public router on public and the admin router on admin
// until ctx is done or either server fails, then drains both (serveOn) and
// returns the first error.
func (a *app) serveBoth(ctx context.Context, public, admin net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- a.serveOn(ctx, admin, a.admin) }()
	go func() { errc <- a.serveOn(ctx, public, a.router) }()
	err := <-errc
	cancel() // the other one stops too
	if err2 := <-errc; err == nil {
		err = err2
	}
	return err
}

// serveOn runs handler on ln until ctx is done, then stops accepting,
// drains in-flight requests for at most the shutdown timeout, and returns.
func (a *app) serveOn(ctx context.Context, ln net.Listener, handler http.Handler) error {
	srv := &http.Server{
		Handler:           handler,
		ReadTimeout:       a.cfg.ReadTimeout,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      a.cfg.WriteTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	closeUnusedOnShutdown(srv)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "listener", ln.Addr().String(), "drain", a.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// closeUnusedOnShutdown makes srv close, as its shutdown begins, every
// connection that has not yet carried a request (an HTTP client's spare
// dial, a browser's preconnect). net/http's Shutdown counts such a
// connection as in flight until it is 5 s old, so one opened just before a
// SIGTERM held the drain for 5 s and failed it with "context deadline
// exceeded" when the shutdown timeout is no longer than that. A request
// whose header is still arriving on such a connection at that moment is
// refused, as it would be on a connection accepted just after the listener
// closed.
func closeUnusedOnShutdown(srv *http.Server) {
	var mu sync.Mutex
	unused := map[net.Conn]struct{}{}
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if s == http.StateNew {
			unused[c] = struct{}{}
		} else {
			delete(unused, c)
		}
	}
	srv.RegisterOnShutdown(func() { // after the listeners are closed
		mu.Lock()
		defer mu.Unlock()
		for c := range unused {
			_ = c.Close()
		}
	})
}

// coreResolver resolves did:key, did:jwk and did:web; did:web never fetches
// from private or loopback addresses.
func coreResolver() did.Resolver {
	r := did.NewRouter().Handle("key", did.KeyResolver{}).Handle("jwk", did.JWKResolver{})
	if web, err := did.NewWebResolver(did.WebOptions{}); err == nil {
		r.Handle("web", web)
	}
	return r
}
