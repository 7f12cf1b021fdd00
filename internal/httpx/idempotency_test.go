package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
)

// TestIdempotencyRefusesToRunBeforeTheScopeCheck: mounted without
// RequireScope in front of it (the wiring of issue 13 fix 1, where a
// stored response was replayed to a key without the route's scope),
// Idempotency answers 500 instead of touching the store or replaying.
func TestIdempotencyRefusesToRunBeforeTheScopeCheck(t *testing.T) {
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := httpx.Principal{TenantID: "t", KeyID: "k", Scopes: []string{"x"}}
			next.ServeHTTP(w, r.WithContext(httpx.WithPrincipal(r.Context(), p)))
		})
	})
	// A nil store: reaching it would panic, which Observe does not catch here.
	r.With(httpx.Idempotency(nil, time.Now, time.Hour, 1024)).Post("/op", func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the handler ran")
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	client, _ := httpxtest.NewClient(t)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/op", strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Idempotency-Key", "k1")
	resp, err := client.Do(req)
	require.NoError(t, err)
	assert.Equal(t, "internal_error", httpxtest.ReadProblem(t, resp, http.StatusInternalServerError).Code)
}
