package httpx_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssi-project/ssi/internal/httpx"
)

// discardWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks below count the middleware's work, not a recorder's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddleware is the chain every ssi server puts in front of its
// handlers (cmd/ssi's newApp: security headers, observability with its
// Prometheus metrics and the access log at warn, the body cap, the
// router) around a handler that reads a small form body and answers
// {}: the per-request work that is not the service's.
//
//	go test -run '^$' -bench Middleware -benchmem ./internal/httpx
func BenchmarkMiddleware(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r := chi.NewRouter()
	r.Use(httpx.SecurityHeaders(true))
	r.Use(httpx.Observe(log, httpx.NewMetrics(prometheus.NewRegistry())))
	r.Use(httpx.LimitBody(httpx.DefaultMaxBody))
	r.Post("/verifier/v1/responses/{request}", httpx.OAuth(func(w http.ResponseWriter, r *http.Request) error {
		if err := httpx.RequireMediaType(r, "application/x-www-form-urlencoded"); err != nil {
			return err
		}
		if _, err := httpx.ReadBody(r, 1<<20); err != nil {
			return err
		}
		_ = chi.URLParam(r, "request")
		return httpx.JSON(w, http.StatusOK, struct{}{})
	}))
	body := "vp_token=" + strings.Repeat("x", 1500) + "&state=abc"
	req := httptest.NewRequest(http.MethodPost, "/verifier/v1/responses/abcdefghijklmnopqrstuv", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rd := strings.NewReader(body)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		clear(w.h)
		r.ServeHTTP(w, req)
	}
}

// TestRequireMediaTypeExactAllocatesNothing: the common request, whose
// Content-Type is exactly the media type wanted, is accepted without
// mime.ParseMediaType's map or a refusal made in advance; the others
// still go through ParseMediaType (TestDecodeJSONRejectsBadInput).
func TestRequireMediaTypeExactAllocatesNothing(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	allocs := testing.AllocsPerRun(100, func() {
		if err := httpx.RequireMediaType(req, "application/x-www-form-urlencoded"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations for an exact media type", allocs)
	}
	for _, ct := range []string{"Application/X-WWW-Form-URLEncoded", "application/x-www-form-urlencoded; charset=UTF-8"} {
		req.Header.Set("Content-Type", ct)
		if err := httpx.RequireMediaType(req, "application/x-www-form-urlencoded"); err != nil {
			t.Errorf("%s: %v", ct, err)
		}
	}
	for _, ct := range []string{"", "application/x-www-form-urlencodedx", "application/x-www-form-urlencoded; charset=latin1", "text/plain"} {
		req.Header.Set("Content-Type", ct)
		if err := httpx.RequireMediaType(req, "application/x-www-form-urlencoded"); err == nil {
			t.Errorf("%q accepted", ct)
		}
	}
}
