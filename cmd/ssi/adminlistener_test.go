package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
)

// assertAdminListener holds a running server to issue 13 fix 6: /metrics
// and pprof answer on the admin listener (loopback) and 404 on the public
// one; /healthz and /readyz answer on both.
func assertAdminListener(t *testing.T, url, admin string) {
	t.Helper()
	assert.True(t, strings.HasPrefix(admin, "http://127.0.0.1:"), "the admin listener is on loopback: %s", admin)
	assert.NotEqual(t, url, admin)
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		code, body := get(t, url+path, "")
		assert.Equal(t, http.StatusNotFound, code, "public %s", path)
		assert.Contains(t, string(body), `"code":"route_not_found"`, "public %s", path)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		code, _ := get(t, url+path, "")
		assert.Equal(t, http.StatusOK, code, "public %s", path)
		code, _ = get(t, admin+path, "")
		assert.Equal(t, http.StatusOK, code, "admin %s", path)
	}
	code, body := get(t, admin+"/metrics", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), `ssi_http_requests_total{method="GET",route="/healthz",status="200"}`, "the public listener's requests are counted")
	assert.Contains(t, string(body), "ssi_store_open_connections")
	assert.NotContains(t, string(body), `route="/metrics"`, "the admin listener's own requests are not")
	code, _ = get(t, admin+"/debug/pprof/", "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, admin+"/debug/pprof/heap?debug=1", "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, admin+"/debug/pprof/cmdline", "")
	assert.Equal(t, http.StatusNotFound, code, "the command line (and a --kek on it) is not served")
}

// TestMetricsAreOnTheAdminListener runs ssi dev and ssi issuer and holds
// both to assertAdminListener; it fails while /metrics is public.
func TestMetricsAreOnTheAdminListener(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev, a validator and ssi issuer")
	}
	t.Run("ssi dev", func(t *testing.T) {
		url, admin, stop := startServer(t, "dev", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--shutdown-timeout", "5s")
		defer stop()
		assertAdminListener(t, url, admin)
	})
	t.Run("ssi issuer", func(t *testing.T) {
		dir := t.TempDir()
		l := startRPCLedger(t, dir, "issuer-cmd")
		kek, err := devKEK("", dir) // reads dir/kek
		require.NoError(t, err)
		_, err = newSealedKey(dir, "health-issuing", keys.ES256, kek)
		require.NoError(t, err)
		b, err := json.Marshal([]issuerTenantFile{{ID: "health", DID: "did:example:health", KeyID: "did:example:health#issuing-1",
			KeyFile: filepath.Join(dir, "keys", "health-issuing.key"), Configurations: []string{"vaccination-pass"}}})
		require.NoError(t, err)
		tenants := filepath.Join(dir, "tenants.json")
		require.NoError(t, os.WriteFile(tenants, b, 0o600))
		data := filepath.Join(dir, "data")
		runCmd(t, "migrate", "--data", data)
		url, admin, stop := startServer(t, "issuer", "--data", data, "--addr", "127.0.0.1:0", "--tenants", tenants,
			"--ledger-rpc", l.rpcURL, "--ledger-key-file", l.keyFile, "--kek-file", l.kekFile)
		defer stop()
		code, _ := get(t, url+"/.well-known/openid-credential-issuer/issuers/health", "")
		assert.Equal(t, http.StatusOK, code, "the issuer serves its agency")
		assertAdminListener(t, url, admin)
	})
}
