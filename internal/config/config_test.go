package config

import (
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func load(t *testing.T, args []string, e map[string]string) (Server, error) {
	t.Helper()
	c := DefaultServer()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := Load(fs, &c, args, env(e))
	return c, err
}

func TestPrecedenceFlagsOverEnvOverFileOverDefaults(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ssi.yaml")
	require.NoError(t, os.WriteFile(file, []byte("addr: 127.0.0.1:1111\nlog_level: warn\nlog_format: json\nread_timeout: 3s\n"), 0o600))

	c, err := load(t, []string{"--config", file, "--addr", "127.0.0.1:3333"},
		map[string]string{"SSI_ADDR": "127.0.0.1:2222", "SSI_LOG_LEVEL": "debug"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:3333", c.Addr, "flag beats env and file")
	assert.Equal(t, "debug", c.LogLevel, "env beats file")
	assert.Equal(t, "json", c.LogFormat, "file beats default")
	assert.Equal(t, 3*time.Second, c.ReadTimeout, "file durations parse")
	assert.Equal(t, 30*time.Second, c.WriteTimeout, "default kept")

	// SSI_CONFIG names the file when --config is absent.
	c, err = load(t, nil, map[string]string{"SSI_CONFIG": file})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1111", c.Addr)
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.yaml")
	require.NoError(t, os.WriteFile(unknown, []byte("adr: x\n"), 0o600))

	_, err := load(t, []string{"--config", unknown}, nil)
	assert.Error(t, err, "an unknown key in the file is an error, not ignored")
	_, err = load(t, []string{"--read-timeout", "soon"}, nil)
	assert.Error(t, err, "a bad flag value is an error")
	_, err = load(t, nil, map[string]string{"SSI_MAX_BODY": "big"})
	assert.Error(t, err, "a bad env value is an error")
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := DefaultServer()
	c.Addr = "nope"
	c.Store = "mysql://x"
	c.LogFormat = "xml"
	c.KEK = "c2hvcnQ=" // 5 bytes
	c.MaxBody = 1
	c.ShutdownTimeout = -time.Second
	err := c.Validate()
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"addr:", "store:", "log-format:", "kek:", "max-body:", "shutdown-timeout:"} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "c2hvcnQ=", "a secret is never quoted")
}

func TestResolveTrimsTheTrailingSlashOfThePublicURL(t *testing.T) {
	c := DefaultServer()
	c.PublicURL = "https://agency.example/ssi/"
	require.NoError(t, c.Resolve())
	assert.Equal(t, "https://agency.example/ssi", c.PublicURL)
}

func TestResolveReadsSecretFilesAndDefaults(t *testing.T) {
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn")
	require.NoError(t, os.WriteFile(dsnFile, []byte("postgres://u@127.0.0.1/db\n"), 0o600))
	c := DefaultServer()
	c.StoreFile = dsnFile
	require.NoError(t, c.Resolve())
	assert.Equal(t, "postgres://u@127.0.0.1/db", c.Store)
	assert.Equal(t, "http://127.0.0.1:8080", c.PublicURL)
	require.NoError(t, c.Validate())

	d := DefaultServer()
	d.DataDir = dir
	require.NoError(t, d.Resolve())
	assert.True(t, strings.HasPrefix(d.Store, "sqlite:"))

	e := DefaultServer()
	e.KEKFile = filepath.Join(dir, "missing")
	assert.Error(t, e.Resolve())
}

// TestPublicURL: a plain base URL; and, for the production commands
// (RequireHTTPS), https outside loopback, since issuer identifiers, offer
// URIs and status list URLs are built on it.
func TestPublicURL(t *testing.T) {
	for u, https := range map[string]bool{
		"http://127.0.0.1:8080":         true,
		"http://localhost:8080":         true,
		"http://[::1]:8080":             true,
		"https://issuer.agency.example": true,
		"https://agency.example/ssi":    true,
		"http://0.0.0.0:8080":           false,
		"http://issuer.agency.example":  false,
		"http://10.0.0.5:8080":          false,
	} {
		c := DefaultServer()
		c.Store = "sqlite:ssi.db"
		c.PublicURL = u
		assert.NoError(t, c.Validate(), u)
		if err := c.RequireHTTPS(); https {
			assert.NoError(t, err, u)
		} else if assert.Error(t, err, u) {
			assert.Contains(t, err.Error(), "public-url:", u)
		}
	}
	for u, ok := range map[string]bool{
		"https://agency.example":     true,
		"https://agency.example?":    false,
		"https://agency.example#":    false,
		"https://agency.example?x=1": false,
		"https://u:p@agency.example": false,
		"http://u:p@agency.example":  false,
		"ftp://agency.example":       false,
		"agency.example":             false,
	} {
		c := DefaultServer()
		c.Store = "sqlite:ssi.db"
		c.PublicURL = u
		err := c.Validate()
		if ok {
			assert.NoError(t, err, u)
		} else if assert.Error(t, err, u) {
			assert.Contains(t, err.Error(), "public-url:", u)
			assert.NotContains(t, err.Error(), "u:p", "user information is never quoted")
		}
	}
}

// TestTrustedProxies: --trusted-proxies, SSI_TRUSTED_PROXIES and the YAML
// list trusted_proxies take addresses and CIDRs; anything else is a
// validation error naming the entry; the default trusts nobody.
func TestTrustedProxies(t *testing.T) {
	c, err := load(t, nil, nil)
	require.NoError(t, err)
	p, err := c.TrustedProxyPrefixes()
	require.NoError(t, err)
	assert.Empty(t, p, "no proxy is trusted by default")

	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("198.51.100.0/24")}
	list := "10.0.0.0/8, 192.0.2.10,2001:db8::/32,::1,::ffff:198.51.100.7/120"
	file := filepath.Join(t.TempDir(), "ssi.yaml")
	require.NoError(t, os.WriteFile(file, []byte("trusted_proxies: [10.0.0.0/8, 192.0.2.10, 2001:db8::/32, '::1', '::ffff:198.51.100.7/120']\n"), 0o600))
	for name, src := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"flag": {args: []string{"--trusted-proxies", list}},
		"env":  {env: map[string]string{"SSI_TRUSTED_PROXIES": list}},
		"yaml": {args: []string{"--config", file}},
	} {
		c, err := load(t, src.args, src.env)
		require.NoError(t, err, name)
		p, err := c.TrustedProxyPrefixes()
		require.NoError(t, err, name)
		assert.Equal(t, want, p, name)
	}

	c = DefaultServer()
	c.Store = "sqlite:ssi.db"
	c.TrustedProxies = []string{"10.0.0.0/8", "proxy.internal", "10.0.0.0/33", "fe80::1%eth0", "::ffff:10.0.0.0/90"}
	err = c.Validate()
	require.Error(t, err)
	for _, bad := range []string{`"proxy.internal"`, `"10.0.0.0/33"`, `"fe80::1%eth0"`, `"::ffff:10.0.0.0/90"`} {
		assert.Contains(t, err.Error(), bad)
	}
	assert.Contains(t, err.Error(), "trusted-proxies:")
	assert.NotContains(t, err.Error(), `"10.0.0.0/8"`)
}

// TestAdminAddr: the admin listener (metrics, pprof, health) defaults to
// loopback port 9090, follows a public listener on port 0 to port 0, is set
// by flag, env or YAML like every setting, and is never the public address.
func TestAdminAddr(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ssi.yaml")
	require.NoError(t, os.WriteFile(file, []byte("admin_addr: 127.0.0.1:7000\n"), 0o600))
	for name, c := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"default":             {nil, nil, DefaultAdminAddr},
		"public port 0":       {[]string{"--addr", "127.0.0.1:0"}, nil, "127.0.0.1:0"},
		"public port 0, IPv6": {[]string{"--addr", "[::1]:0"}, nil, "127.0.0.1:0"},
		"flag":                {[]string{"--admin-addr", "127.0.0.1:9100", "--addr", "127.0.0.1:0"}, nil, "127.0.0.1:9100"},
		"environment":         {nil, map[string]string{"SSI_ADMIN_ADDR": "10.0.0.5:9100"}, "10.0.0.5:9100"},
		"config file":         {[]string{"--config", file}, nil, "127.0.0.1:7000"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := load(t, c.args, c.env)
			require.NoError(t, err)
			require.NoError(t, cfg.Resolve())
			assert.Equal(t, c.want, cfg.AdminAddr)
			assert.NoError(t, cfg.Validate())
		})
	}
	for name, addr := range map[string]string{"not host:port": "9090", "no port": "127.0.0.1:", "the public address": "127.0.0.1:8080"} {
		c := DefaultServer()
		c.AdminAddr = addr
		require.NoError(t, c.Resolve())
		err := c.Validate()
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "admin-addr:", name)
		}
	}
}
