package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/issuer"
)

// TestIssuerRateSettings: --rate-per-client, --rate-per-code,
// --rate-window and --trusted-proxies (env SSI_RATE_PER_CLIENT …, YAML
// rate_per_client …) reach the issuer's configuration, for `ssi issuer`
// and `ssi dev` alike, with the documented defaults; 0 turns the
// per-client limit off.
func TestIssuerRateSettings(t *testing.T) {
	yml := filepath.Join(t.TempDir(), "ssi.yaml")
	require.NoError(t, os.WriteFile(yml, []byte("rate_per_client: 50\nrate_per_code: 3\nrate_window: 30s\ntrusted_proxies: [10.0.0.0/8]\n"), 0o600))
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for name, c := range map[string]struct {
		args []string
		env  map[string]string
		want issuer.Config
	}{
		"defaults": {nil, nil, issuer.Config{RatePerClient: 1200, RatePerCode: 10, RateWindow: time.Minute}},
		"flags": {[]string{"--rate-per-client", "5000", "--rate-per-code", "5", "--rate-window", "10s", "--trusted-proxies", "10.0.0.0/8"}, nil,
			issuer.Config{RatePerClient: 5000, RatePerCode: 5, RateWindow: 10 * time.Second, TrustedProxies: proxies}},
		"per client off": {[]string{"--rate-per-client=0"}, nil, issuer.Config{RatePerClient: issuer.RateOff, RatePerCode: 10, RateWindow: time.Minute}},
		"environment": {nil, map[string]string{"SSI_RATE_PER_CLIENT": "0", "SSI_RATE_PER_CODE": "4", "SSI_RATE_WINDOW": "2m", "SSI_TRUSTED_PROXIES": "10.0.0.0/8"},
			issuer.Config{RatePerClient: issuer.RateOff, RatePerCode: 4, RateWindow: 2 * time.Minute, TrustedProxies: proxies}},
		"config file": {[]string{"--config", yml}, nil, issuer.Config{RatePerClient: 50, RatePerCode: 3, RateWindow: 30 * time.Second, TrustedProxies: proxies}},
	} {
		t.Run(name, func(t *testing.T) {
			env := func(k string) string { return c.env[k] }
			rates := func(got issuer.Config) issuer.Config {
				return issuer.Config{RatePerClient: got.RatePerClient, RatePerCode: got.RatePerCode, RateWindow: got.RateWindow, TrustedProxies: got.TrustedProxies}
			}
			ic := issuerConfig{Server: config.DefaultServer(), IssuerRates: defaultIssuerRates()}
			_, err := config.Load(flag.NewFlagSet("ssi issuer", flag.ContinueOnError), &ic, c.args, env)
			require.NoError(t, err)
			assert.NoError(t, ic.IssuerRates.validate())
			assert.Equal(t, c.want, rates(ic.service(nil, nil)), "ssi issuer")

			dc := devConfig{Server: config.DefaultServer(), IssuerRates: defaultIssuerRates()}
			_, err = config.Load(flag.NewFlagSet("ssi dev", flag.ContinueOnError), &dc, c.args, env)
			require.NoError(t, err)
			var got issuer.Config
			dc.IssuerRates.apply(&got, dc.Server)
			assert.Equal(t, c.want, rates(got), "ssi dev")
		})
	}
}

// TestRateSettingsAreChecked: settings the issuer cannot honour are
// configuration errors, all reported at once.
func TestRateSettingsAreChecked(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"dev", "--check-config", "--data", t.TempDir(), "--rate-per-client", "-1",
		"--rate-per-code", "0", "--rate-window", "2h", "--trusted-proxies", "10.0.0.0/8,proxy.lan"}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	for _, want := range []string{"rate-per-client:", "rate-per-code:", "rate-window:", "trusted-proxies:", `"proxy.lan"`} {
		assert.Contains(t, stderr.String(), want)
	}
}

// TestDevRateLimits: `ssi dev` takes its rate limits and trusted proxies
// from the command line: behind the trusted proxy (the test, on
// 127.0.0.1) each client named by X-Forwarded-For has its budget of two
// nonces a window, and over it the answer is 429 with Retry-After.
func TestDevRateLimits(t *testing.T) {
	url, stop := startDev(t, t.TempDir(), "--rate-per-client", "2", "--trusted-proxies", "127.0.0.1")
	defer stop()
	nonce := func(client string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, url+"/issuers/health/nonce", nil)
		require.NoError(t, err)
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusTooManyRequests {
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
			assert.True(t, strings.Contains(string(b), "rate_limited"), string(b))
		}
		return resp.StatusCode, string(b)
	}
	for range 2 {
		code, b := nonce("198.51.100.1")
		require.Equal(t, http.StatusOK, code, b)
	}
	code, b := nonce("198.51.100.1")
	assert.Equal(t, http.StatusTooManyRequests, code, b)
	code, b = nonce("198.51.100.2")
	assert.Equal(t, http.StatusOK, code, "another client behind the proxy: %s", b)
}
