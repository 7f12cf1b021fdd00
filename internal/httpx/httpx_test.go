package httpx_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
)

type payload struct {
	Name  string   `json:"name"`
	Items []string `json:"items"`
}

// newServer serves a few routes through the real middleware chain and
// captures the log.
func newServer(t *testing.T) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	r := chi.NewRouter()
	r.Use(httpx.Observe(log, httpx.NewMetrics(prometheus.NewRegistry())))
	r.Use(httpx.LimitBody(1024))
	r.Post("/echo", httpx.H(func(w http.ResponseWriter, r *http.Request) error {
		var p payload
		if err := httpx.DecodeJSON(r, &p, 1024); err != nil {
			return err
		}
		return httpx.JSON(w, http.StatusOK, p)
	}))
	r.Get("/internal", httpx.H(func(http.ResponseWriter, *http.Request) error {
		return fmt.Errorf("querying: %w", errors.New(`pgx: ERROR: relation "tenants" (SQLSTATE 42P01) at store.go:42`))
	}))
	r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom at handler.go:7") })
	r.Get("/client", httpx.H(func(http.ResponseWriter, *http.Request) error {
		return errs.Wrap(errs.Invalid, "invalid_type", "the name GIVEN-Zelda is wrong", errors.New(`parsing "CAUSE-Zelda"`))
	}))
	r.Get("/oauth", httpx.OAuth(func(http.ResponseWriter, *http.Request) error {
		return errs.E(errs.Invalid, "invalid_grant", "the code is not valid")
	}))
	r.Get("/oauth-internal", httpx.OAuth(func(http.ResponseWriter, *http.Request) error {
		return errors.New("sql: database is closed")
	}))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, &logs
}

func TestDecodeJSONRejectsBadInput(t *testing.T) {
	srv, _ := newServer(t)
	client, lc := httpxtest.NewClient(t)
	deep := strings.Repeat(`{"name":`, 33) + `"x"` + strings.Repeat("}", 33)
	cases := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"oversized body", `{"name":"` + strings.Repeat("a", 2000) + `"}`, "application/json", 413, "body_too_large"},
		{"duplicate keys", `{"name":"a","name":"b"}`, "application/json", 400, "malformed_json"},
		{"depth over 32", deep, "application/json", 400, "json_too_deep"},
		{"unknown field", `{"name":"a","admin":true}`, "application/json", 400, "unknown_field"},
		{"case-variant field", `{"NAME":"a"}`, "application/json", 400, "unknown_field"},
		{"invalid utf-8", "{\"name\":\"\xff\xfe\"}", "application/json", 400, "invalid_utf8"},
		{"wrong type", `{"items":"x"}`, "application/json", 400, "invalid_type"},
		{"not json", `name=a`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"no media type", `{"name":"a"}`, "", 415, "unsupported_media_type"},
		{"a longer media type", `{"name":"a"}`, "application/jsonfoo", 415, "unsupported_media_type"},
		{"a parameter other than charset=utf-8", `{"name":"a"}`, "application/json; charset=utf-16", 415, "unsupported_media_type"},
		{"empty", ``, "application/json", 400, "malformed_json"},
		{"truncated", `{"name":`, "application/json", 400, "malformed_json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.Post(srv.URL+"/echo", tc.contentType, strings.NewReader(tc.body))
			require.NoError(t, err)
			p := httpxtest.ReadProblem(t, resp, tc.status)
			assert.Equal(t, tc.code, p.Code)
		})
	}
	assert.Equal(t, len(cases), lc.Checked)

	resp, err := client.Post(srv.URL+"/echo", "application/json; charset=utf-8", strings.NewReader(`{"name":"ok","items":["a"]}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestDeclaredContentLengthOverLimitIs413BeforeReading(t *testing.T) {
	srv, _ := newServer(t)
	client, _ := httpxtest.NewClient(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/echo", strings.NewReader(strings.Repeat("x", 4096)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	assert.Equal(t, "body_too_large", httpxtest.ReadProblem(t, resp, 413).Code)
}

func TestInternalErrorsNeverReachTheClient(t *testing.T) {
	srv, logs := newServer(t)
	client, lc := httpxtest.NewClient(t)
	for _, path := range []string{"/internal", "/panic"} {
		resp, err := client.Get(srv.URL + path)
		require.NoError(t, err)
		p := httpxtest.ReadProblem(t, resp, 500)
		assert.Equal(t, "internal_error", p.Code)
		assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	}
	assert.Equal(t, 2, lc.Checked)
	// The cause is in the log, for the operator.
	assert.Contains(t, logs.String(), "SQLSTATE 42P01")
	assert.Contains(t, logs.String(), "boom at handler.go:7")
}

// TestClientErrorsAreLoggedByKindCodeAndOffset is issue 13 fix 3 at the
// log: a client error's detail and cause are about the request, and may
// quote it, so neither is logged; a decoder's fault is logged by offset.
func TestClientErrorsAreLoggedByKindCodeAndOffset(t *testing.T) {
	srv, logs := newServer(t)
	resp, err := http.Get(srv.URL + "/client")
	require.NoError(t, err)
	resp.Body.Close()
	resp, err = http.Post(srv.URL+"/echo", "application/json", strings.NewReader(`{"name":"\ud800Zelda"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, logs.String(), `"code":"invalid_type"`)
	assert.Contains(t, logs.String(), `"code":"malformed_json","offset":9`)
	assert.NotContains(t, logs.String(), "Zelda")
}

func TestOAuthErrorForm(t *testing.T) {
	srv, _ := newServer(t)
	client, _ := httpxtest.NewClient(t)
	resp, err := client.Get(srv.URL + "/oauth")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"error":"invalid_grant","error_description":"the code is not valid"}`, string(body))

	resp, err = client.Get(srv.URL + "/oauth-internal")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 500, resp.StatusCode)
	assert.Contains(t, string(body), `"error":"server_error"`)
}

func TestAccessLogHasOneLinePerRequestWithRouteNotPath(t *testing.T) {
	srv, logs := newServer(t)
	resp, err := http.Post(srv.URL+"/echo?code=SECRET123", "application/json", strings.NewReader(`{"name":"Alice Citizen"}`))
	require.NoError(t, err)
	resp.Body.Close()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], `"route":"/echo"`)
	assert.Contains(t, lines[0], `"status":200`)
	assert.NotContains(t, logs.String(), "SECRET123", "query strings are never logged")
	assert.NotContains(t, logs.String(), "Alice", "bodies are never logged")
}

func TestRequestIDIsEchoedOrMinted(t *testing.T) {
	srv, _ := newServer(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/oauth", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "abc-123", resp.Header.Get("X-Request-Id"))

	req.Header.Set("X-Request-Id", "bad id\twith junk")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Len(t, resp.Header.Get("X-Request-Id"), 24, "an invalid inbound ID is replaced")
}

func TestChunkedBodyOverLimitIs413WhileReading(t *testing.T) {
	srv, _ := newServer(t)
	client, _ := httpxtest.NewClient(t)
	// io.MultiReader hides the length, so the request is sent chunked and
	// only the reading limit can catch it.
	body := io.MultiReader(strings.NewReader(`{"name":"` + strings.Repeat("a", 4096) + `"}`))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/echo", body)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1 // unknown: sent chunked
	resp, err := client.Do(req)
	require.NoError(t, err)
	assert.Equal(t, "body_too_large", httpxtest.ReadProblem(t, resp, 413).Code)
}

// TestBodyOverLimitIs413BeforeParsing is SECURITY-CASES A13: a body over
// the endpoint's limit is 413 body_too_large before anything parses it.
// With a declared Content-Length the handler is never entered; a chunked
// body is stopped while being read, so the decoder never sees it whole.
func TestBodyOverLimitIs413BeforeParsing(t *testing.T) {
	var entered, decoded atomic.Int64
	r := chi.NewRouter()
	r.Use(httpx.LimitBody(1024))
	r.Post("/parse", httpx.H(func(w http.ResponseWriter, r *http.Request) error {
		entered.Add(1)
		var p payload
		if err := httpx.DecodeJSON(r, &p, 1<<20); err != nil { // the middleware's cap still applies
			return err
		}
		decoded.Add(1)
		return httpx.JSON(w, http.StatusOK, p)
	}))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	client, _ := httpxtest.NewClient(t)
	body := `{"name":"` + strings.Repeat("a", 4096) + `"}`

	cases := []struct {
		name        string
		body        io.Reader
		length      int64
		wantEntered int64
	}{
		{"A13_declared_length_over_limit", strings.NewReader(body), int64(len(body)), 0},
		{"A13_chunked_over_limit", io.MultiReader(strings.NewReader(body)), -1, 1},
		{"A13_one_byte_over_limit", strings.NewReader(`{"name":"` + strings.Repeat("a", 1025-11) + `"}`), 1025, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			entered.Store(0)
			decoded.Store(0)
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/parse", tc.body)
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = tc.length
			resp, err := client.Do(req)
			require.NoError(t, err)
			assert.Equal(t, "body_too_large", httpxtest.ReadProblem(t, resp, http.StatusRequestEntityTooLarge).Code)
			assert.Equal(t, tc.wantEntered, entered.Load())
			assert.Zero(t, decoded.Load(), "nothing over the limit is decoded")
		})
	}
	t.Run("control_at_the_limit", func(t *testing.T) {
		ok := `{"name":"` + strings.Repeat("a", 1024-11) + `"}`
		require.Len(t, ok, 1024)
		resp, err := client.Post(srv.URL+"/parse", "application/json", strings.NewReader(ok))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// TestReadBodyLengths: ReadBody returns the whole body whether its
// announced length is true, shorter than what comes, or unknown, and
// refuses one over the limit either way.
func TestReadBodyLengths(t *testing.T) {
	body := strings.Repeat("abcdefgh", 300)
	for _, c := range []struct {
		name   string
		length int64
	}{{"true", int64(len(body))}, {"short", 100}, {"unknown", -1}, {"zero", 0}} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.ContentLength = c.length
		b, err := httpx.ReadBody(r, 1<<20)
		require.NoError(t, err, c.name)
		assert.Equal(t, body, string(b), c.name)

		r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.ContentLength = c.length
		_, err = httpx.ReadBody(r, int64(len(body))-1)
		assert.ErrorIs(t, err, httpx.ErrBodyTooLarge, c.name)
	}
	// A body longer than the buffer made up front grows past it.
	long := strings.Repeat("abcdefgh", 20<<10)
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(long))
	b, err := httpx.ReadBody(r, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, long, string(b))
	// An announced length is not memory held before the body comes: a
	// client that announces the largest body and sends a few bytes gets
	// a buffer of at most 64 KiB.
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("abc"))
	r.ContentLength = 1 << 20
	b, err = httpx.ReadBody(r, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, "abc", string(b))
	assert.LessOrEqual(t, cap(b), 64<<10+1, "the buffer made from the announced length")
}
