package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/web"
)

// The read endpoints the admin console needs beside the existing ones:
// whoami, the credential configurations with their schema, and the
// anchoring state. Each is held to its scope.

func decodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(readAll(t, resp), v))
}

func TestConsoleReadEndpoints(t *testing.T) {
	for name, open := range map[string]func(*testing.T) *testEnv{
		"sqlite":   func(t *testing.T) *testEnv { return newTestEnvWith(t, sqliteStore(t), testAppOpts{agency: true}) },
		"postgres": func(t *testing.T) *testEnv { return newTestEnvWith(t, postgresStore(t), testAppOpts{agency: true}) },
	} {
		t.Run(name, func(t *testing.T) {
			e := open(t)
			issue, issueRec := e.key("health", admin.ScopeCredentialsIssue)
			auditor, _ := e.key("health", admin.ScopeAuditRead)
			other, _ := e.key("benefits", admin.ScopeCredentialsIssue, admin.ScopeAuditRead)

			resp := e.do(http.MethodGet, "/admin/v1/whoami", issue, "")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var me admin.WhoAmI
			decodeBody(t, resp, &me)
			assert.Equal(t, admin.WhoAmI{Tenant: "health", KeyID: issueRec.ID, Scopes: []string{admin.ScopeCredentialsIssue}}, me)
			assert.Equal(t, "unauthenticated", problemCode(t, e.do(http.MethodGet, "/admin/v1/whoami", "", ""), http.StatusUnauthorized))
			assert.Equal(t, "unauthenticated", problemCode(t, e.do(http.MethodGet, "/admin/v1/whoami", "ssi_0123456789abcdef_nope", ""), http.StatusUnauthorized))

			resp = e.do(http.MethodGet, "/issuer/v1/configurations", issue, "")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var cfgs struct {
				Configurations []struct {
					ID         string          `json:"id"`
					Format     string          `json:"format"`
					Schema     json.RawMessage `json:"schema"`
					StatusBits int             `json:"status_bits"`
					Display    []struct{ Name string }
				}
			}
			decodeBody(t, resp, &cfgs)
			require.Len(t, cfgs.Configurations, 1)
			c := cfgs.Configurations[0]
			assert.Equal(t, "vaccination-pass", c.ID)
			assert.Equal(t, "dc+sd-jwt", c.Format)
			assert.Equal(t, 2, c.StatusBits)
			assert.Equal(t, "Vaccination pass", c.Display[0].Name)
			var schema struct {
				Type     string
				Required []string
			}
			require.NoError(t, json.Unmarshal(c.Schema, &schema))
			assert.Equal(t, "object", schema.Type)
			assert.Contains(t, schema.Required, "birth_date", "the schema every offer is validated against")

			resp = e.do(http.MethodGet, "/issuer/v1/configurations", other, "")
			decodeBody(t, resp, &cfgs)
			assert.Empty(t, cfgs.Configurations, "a tenant that does not issue here has none")
			assert.Equal(t, "insufficient_scope", problemCode(t, e.do(http.MethodGet, "/issuer/v1/configurations", auditor, ""), http.StatusForbidden))

			// The anchoring state: no ledger in this server (reachable
			// false), the tenant's lists only, each with its version.
			resp = e.do(http.MethodPost, "/issuer/v1/offers", issue, offerBody("case-1", "Ada"))
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(readAll(t, resp)))
			resp.Body.Close()
			var an struct {
				Ledger      struct{ Reachable bool } `json:"ledger"`
				StatusLists []struct {
					URI      string `json:"uri"`
					Version  uint64 `json:"version"`
					Anchored bool   `json:"anchored"`
				} `json:"status_lists"`
			}
			resp = e.do(http.MethodGet, "/issuer/v1/anchoring", auditor, "")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			decodeBody(t, resp, &an)
			assert.False(t, an.Ledger.Reachable)
			for _, l := range an.StatusLists {
				assert.False(t, l.Anchored, "nothing is anchored without a ledger")
			}
			resp = e.do(http.MethodGet, "/issuer/v1/anchoring", other, "")
			decodeBody(t, resp, &an)
			assert.Empty(t, an.StatusLists, "another tenant's lists are not shown")
			assert.Equal(t, "insufficient_scope", problemCode(t, e.do(http.MethodGet, "/issuer/v1/anchoring", issue, ""), http.StatusForbidden))
		})
	}
}

// TestPagesThroughTheServer: the pages come through the whole server's
// middleware with the page CSP and the headers every answer has, and the
// /admin/v1 API under the console's prefix is still the API.
func TestPagesThroughTheServer(t *testing.T) {
	e := newTestEnv(t, sqliteStore(t))
	resp := e.do(http.MethodGet, "/admin/", "", "")
	body := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `<script type="module" src="/admin/admin.js">`)
	assert.Equal(t, web.CSP, resp.Header.Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), "the page's own caching, not the API's no-store")
	assert.Equal(t, "unauthenticated", problemCode(t, e.do(http.MethodGet, "/admin/v1/audit", "", ""), http.StatusUnauthorized))
	assert.Equal(t, "page_not_found", problemCode(t, e.do(http.MethodGet, "/admin/missing.js", "", ""), http.StatusNotFound))
}

// TestDevAnchoringState: on `ssi dev` (a real ledger) a revocation's new
// list version shows as anchored in the anchoring state, with the
// ledger's height and the outbox depth.
func TestDevAnchoringState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev with its ledger")
	}
	d := newDevWallet(t)
	url := d.c.Base
	rec := d.issue(t, "case-anchoring")
	d.revoke(t, rec) // until the revoked list is served and anchored
	_, version, err := d.c.StatusList(context.Background(), rec.StatusList)
	require.NoError(t, err)

	type state struct {
		Ledger struct {
			Reachable   bool  `json:"reachable"`
			LastHeight  int64 `json:"last_height"`
			OutboxDepth int64 `json:"outbox_depth"`
		} `json:"ledger"`
		StatusLists []struct {
			URI            string `json:"uri"`
			Version        uint64 `json:"version"`
			Anchored       bool   `json:"anchored"`
			Height         int64  `json:"anchored_height"`
			PendingChanges bool   `json:"pending_changes"`
		} `json:"status_lists"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, url+"/issuer/v1/anchoring", d.key)
		require.Equal(t, http.StatusOK, code, string(body))
		var s state
		require.NoError(t, json.Unmarshal(body, &s))
		require.True(t, s.Ledger.Reachable)
		require.NotEmpty(t, s.StatusLists)
		require.Len(t, s.StatusLists, 1)
		l := s.StatusLists[0]
		require.Equal(t, rec.StatusList, l.URI)
		require.GreaterOrEqual(t, l.Version, version)
		if l.Anchored {
			assert.False(t, l.PendingChanges)
			assert.Positive(t, l.Height)
			assert.GreaterOrEqual(t, s.Ledger.LastHeight, l.Height)
			assert.GreaterOrEqual(t, s.Ledger.OutboxDepth, int64(0))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked list's version was not shown anchored: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDevPrintsTheConsoleURL: `ssi dev` names the admin console in its
// banner, and that URL serves it.
func TestDevPrintsTheConsoleURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev with its ledger")
	}
	dir := t.TempDir() // removed after the server stopped (cleanups run last first)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--data", dir, "--addr", "127.0.0.1:0", "--shutdown-timeout", "5s"}, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	sc := bufio.NewScanner(pr)
	var console string
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "  pages    agency admin console "); ok {
			console, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NotEmpty(t, console, "the banner names the console")
	require.True(t, strings.HasSuffix(console, "/admin/"), console)
	resp, err := http.Get(console)
	require.NoError(t, err)
	body := readAll(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, web.CSP, resp.Header.Get("Content-Security-Policy"))
	assert.Contains(t, string(body), "Agency admin console")
}
