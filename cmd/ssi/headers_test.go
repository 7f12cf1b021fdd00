package main

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi"
	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/store"
)

// documentedRequest is one operation of openapi.yaml made concrete: its
// path parameters substituted, and the media type of its body ("" for
// none).
type documentedRequest struct {
	method, path, media string
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// documentedRequests lists every operation of openapi.yaml, sorted, with
// the path parameters filled in with values that route (the tenant
// "health", action "suspend", version 1, "x" for the rest).
func documentedRequests(t *testing.T) []documentedRequest {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(ssi.OpenAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	values := map[string]string{"{tenant}": "health", "{action}": "suspend", "{version}": "1", "{did}": "did:psr:x"}
	var out []documentedRequest
	for path, item := range doc.Paths.Map() {
		concrete := pathParam.ReplaceAllStringFunc(path, func(p string) string {
			if v, ok := values[p]; ok {
				return v
			}
			return "x"
		})
		for method, op := range item.Operations() {
			r := documentedRequest{method: method, path: concrete}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for mt := range op.RequestBody.Value.Content {
					r.media = mt
				}
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].method+out[i].path < out[j].method+out[j].path })
	return out
}

// assertSecurityHeaders holds one response to issue 13 fix 5: nosniff,
// no referrer, no-store unless it is a served status list (which says how
// long it may be cached), and HSTS exactly when the public URL is https.
func assertSecurityHeaders(t *testing.T, what string, resp *http.Response, https bool) {
	t.Helper()
	h := resp.Header
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), what)
	assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"), what)
	if strings.HasPrefix(what, "GET /status/") && !strings.Contains(what, "/receipt") && resp.StatusCode == http.StatusOK {
		assert.True(t, strings.HasPrefix(h.Get("Cache-Control"), "max-age="), "%s: %s", what, h.Get("Cache-Control"))
	} else {
		assert.Equal(t, "no-store", h.Get("Cache-Control"), "%s (%d)", what, resp.StatusCode)
	}
	if https {
		assert.Equal(t, "max-age=63072000", h.Get("Strict-Transport-Security"), what)
	} else {
		assert.Empty(t, h.Get("Strict-Transport-Security"), what)
	}
}

// TestEveryRouteSendsTheSecurityHeaders is issue 13 fix 5: every
// operation of openapi.yaml, answered by a real newApp server, without
// credentials and with a key holding every scope (a success, or the
// handler's own error), and the router's own 404 and 405, carries the
// security headers; with an https public URL, HSTS too.
func TestEveryRouteSendsTheSecurityHeaders(t *testing.T) {
	reqs := documentedRequests(t)
	require.Greater(t, len(reqs), 25)
	backends(t, func(t *testing.T, st *store.Store) {
		walkSecurityHeaders(t, newTestEnvWith(t, st, testAppOpts{agency: true}), reqs, false)
	})
	t.Run("https public URL", func(t *testing.T) {
		e := newTestEnvWith(t, sqliteStore(t), testAppOpts{agency: true, publicURL: "https://issuer.agency.example"})
		walkSecurityHeaders(t, e, reqs, true)
	})
}

// walkSecurityHeaders sends every request of reqs to e twice, without
// credentials and with a key of every scope, then the router's own 404
// and 405, and holds each response to assertSecurityHeaders.
func walkSecurityHeaders(t *testing.T, e *testEnv, reqs []documentedRequest, https bool) {
	t.Helper()
	key, _ := e.key("health", admin.KnownScopes...)
	statuses := map[int]int{}
	for _, r := range reqs {
		for _, auth := range []string{"", key} {
			body := ""
			switch r.media {
			case "":
			case "application/json":
				body = "{}"
			default:
				body = "x=1"
			}
			var hdr []string
			if r.media != "" {
				hdr = []string{"Content-Type", r.media}
			}
			resp := e.do(r.method, r.path, auth, body, hdr...)
			readAll(t, resp)
			statuses[resp.StatusCode]++
			assertSecurityHeaders(t, r.method+" "+r.path, resp, https)
		}
	}
	for _, r := range []documentedRequest{{method: "GET", path: "/no/such/route"}, {method: "DELETE", path: "/healthz"}} {
		resp := e.do(r.method, r.path, "", "")
		readAll(t, resp)
		assertSecurityHeaders(t, r.method+" "+r.path, resp, https)
	}
	require.NotZero(t, statuses[http.StatusOK], "some operations succeeded: %v", statuses)
	// The admin listener's answers too (no HSTS: it is plain http on
	// loopback, whatever the public URL).
	for _, path := range []string{"/metrics", "/healthz", "/readyz", "/debug/pprof/", "/no/such/route"} {
		resp, err := e.client.Get(e.admin.URL + path)
		require.NoError(t, err)
		readAll(t, resp)
		assertSecurityHeaders(t, "admin GET "+path, resp, false)
	}
}
