package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssi-project/ssi/internal/errs"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
	principalKey
	scopeCheckedKey
)

// RequestID returns the request's ID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Logger returns the request-scoped logger, or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithLogger returns ctx carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey, l)
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Metrics are the HTTP metrics of one server. Register them on the
// server's own registry (not the global one), so tests can run many servers.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics creates the HTTP metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssi_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ssi_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// Observe returns the middleware that gives each request an ID, a request
// logger, one access-log line, metrics, and panic recovery. It logs the
// route pattern, never the raw path or query, so that codes and
// identifiers in URLs stay out of the log.
func Observe(base *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get("X-Request-Id")
			if !validRequestID(id) {
				id = newRequestID()
			}
			w.Header().Set("X-Request-Id", id)
			ctx := context.WithValue(r.Context(), requestIDKey, id)
			ctx = WithLogger(ctx, base)
			r = r.WithContext(ctx)
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					base.Error("panic in handler", slog.String("request_id", id),
						slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
					if sw.status == 0 {
						Render(sw, r, errs.Wrap(errs.Internal, "", "", fmt.Errorf("panic: %v", p)))
					}
				}
				route := "unmatched"
				if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
					route = rc.RoutePattern()
				}
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				dur := time.Since(start)
				if m != nil {
					m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
					m.latency.WithLabelValues(route, r.Method).Observe(dur.Seconds())
				}
				base.LogAttrs(r.Context(), slog.LevelInfo, "http",
					slog.String("request_id", id), slog.String("method", r.Method),
					slog.String("route", route), slog.Int("status", status),
					slog.Int64("bytes", sw.bytes), slog.Float64("ms", float64(dur.Microseconds())/1000))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// LimitBody caps every request body at max bytes. A declared
// Content-Length over the cap is answered 413 before the handler runs;
// a body that turns out longer fails when read (DecodeJSON maps that to 413).
func LimitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				Render(w, r, ErrBodyTooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
		})
	}
}

// HSTSMaxAge is the Strict-Transport-Security max-age (two years, the
// preload list's minimum is one): once a browser has reached the service
// over https, it does not fall back to plain http for that long. It has no
// includeSubDomains: the service's host need not own its parent domain's
// other hosts.
const HSTSMaxAge = "max-age=63072000"

// SecurityHeaders sets, before the handler runs, the headers every
// response carries: X-Content-Type-Options: nosniff (a body is never
// sniffed into another type), Referrer-Policy: no-referrer (no URL of ours,
// which may hold an offer code, leaks to another site), Cache-Control:
// no-store (admin answers, tokens, credentials, offers and nonces, and
// every error, must not be kept by a browser or a proxy), and, when https
// is true (the public URL is https), Strict-Transport-Security. A handler
// whose answer may be cached sets its own Cache-Control (the served status
// lists: max-age). Mount it first, so that the router's own 404 and 405 and
// a recovered panic carry them too.
func SecurityHeaders(https bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Cache-Control", "no-store")
			if https {
				h.Set("Strict-Transport-Security", HSTSMaxAge)
			}
			next.ServeHTTP(w, r)
		})
	}
}
