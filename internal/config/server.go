package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Server is the configuration every ssi server command shares.
type Server struct {
	DataDir   string `yaml:"data_dir" flag:"data" usage:"data directory for the embedded store and ledger"`
	Store     string `yaml:"store" flag:"store" usage:"store DSN: sqlite:PATH or postgres://… (default: SQLite in the data directory)"`
	StoreFile string `yaml:"store_file" flag:"store-file" usage:"file holding the store DSN (a secret)"`
	Addr      string `yaml:"addr" flag:"addr" usage:"HTTP listen address"`
	// AdminAddr is the listener of the operator's endpoints (metrics,
	// pprof, health), kept off the public one; empty means the default
	// (see Resolve).
	AdminAddr string `yaml:"admin_addr" flag:"admin-addr" usage:"listen address for metrics, pprof and health, off the public listener (default 127.0.0.1:9090; 127.0.0.1:0 when --addr has port 0)"`
	PublicURL string `yaml:"public_url" flag:"public-url" usage:"the base URL clients use (default: http://ADDR)"`
	LogFormat string `yaml:"log_format" flag:"log-format" usage:"log format: text or json"`
	LogLevel  string `yaml:"log_level" flag:"log-level" usage:"log level: debug, info, warn or error"`
	KEK       string `yaml:"kek" flag:"kek" usage:"key-encryption key for signing keys at rest, base64 of 32 bytes (a secret)"`
	KEKFile   string `yaml:"kek_file" flag:"kek-file" usage:"file holding the key-encryption key"`

	MaxBody         int64         `yaml:"max_body" flag:"max-body" usage:"request body limit in bytes"`
	ReadTimeout     time.Duration `yaml:"read_timeout" flag:"read-timeout" usage:"HTTP read timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout" flag:"write-timeout" usage:"HTTP write timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout" flag:"idle-timeout" usage:"HTTP idle timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" flag:"shutdown-timeout" usage:"how long to drain requests on shutdown"`

	// TrustedProxies are the reverse proxies and load balancers whose
	// X-Forwarded-For names the client (httpx.ClientAddr); from any other
	// peer the header is ignored. Empty (the default) trusts none.
	TrustedProxies []string `yaml:"trusted_proxies" flag:"trusted-proxies" usage:"comma-separated addresses or CIDRs of the reverse proxies whose X-Forwarded-For names the client (default none: the header is ignored)"`
}

// DefaultAdminAddr is the admin listener's default address: loopback
// only, so that metrics and pprof are reached from the host (or through a
// deliberate --admin-addr), never from the public network.
const DefaultAdminAddr = "127.0.0.1:9090"

// DefaultServer returns the defaults: everything embedded under ./data.
func DefaultServer() Server {
	return Server{
		DataDir:         "data",
		Addr:            "127.0.0.1:8080",
		LogFormat:       "text",
		LogLevel:        "info",
		MaxBody:         64 << 10,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    30 * time.Second,
		IdleTimeout:     120 * time.Second,
		ShutdownTimeout: 15 * time.Second,
	}
}

// Resolve reads secrets given as files and fills derived defaults. Call it
// before Validate.
func (c *Server) Resolve() error {
	var problems []error
	if c.StoreFile != "" {
		s, err := ReadSecret(c.StoreFile)
		if err != nil {
			problems = append(problems, fmt.Errorf("store-file: %w", err))
		}
		c.Store = s
	}
	if c.KEKFile != "" {
		s, err := ReadSecret(c.KEKFile)
		if err != nil {
			problems = append(problems, fmt.Errorf("kek-file: %w", err))
		}
		c.KEK = s
	}
	if c.Store == "" && c.DataDir != "" {
		c.Store = "sqlite:" + filepath.Join(c.DataDir, "ssi.db")
	}
	if c.PublicURL == "" && c.Addr != "" {
		c.PublicURL = "http://" + c.Addr
	}
	if c.AdminAddr == "" {
		c.AdminAddr = DefaultAdminAddr
		// A server on a port the system picks (tests, a second instance)
		// gets its admin listener the same way, rather than a clash on
		// the fixed port; the banner prints where it is.
		if _, port, err := net.SplitHostPort(c.Addr); err == nil && port == "0" {
			c.AdminAddr = "127.0.0.1:0"
		}
	}
	// Every URL is the public URL plus a path starting with /.
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return errors.Join(problems...)
}

// Validate reports every problem at once. It never quotes a secret.
func (c *Server) Validate() error {
	var p []error
	add := func(format string, args ...any) { p = append(p, fmt.Errorf(format, args...)) }
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		add("addr: %q is not host:port", c.Addr)
	}
	// Empty is the default, which Resolve fills in.
	if _, port, err := net.SplitHostPort(c.AdminAddr); c.AdminAddr != "" && (err != nil || port == "") {
		add("admin-addr: %q is not host:port", c.AdminAddr)
	} else if c.AdminAddr == c.Addr && port != "0" {
		add("admin-addr: must differ from addr: metrics and pprof stay off the public listener")
	}
	switch {
	case c.Store == "":
		add("store: no store configured (set --store or --data)")
	case strings.HasPrefix(c.Store, "postgres://"), strings.HasPrefix(c.Store, "postgresql://"):
		if _, err := url.Parse(c.Store); err != nil {
			add("store: the PostgreSQL DSN does not parse")
		}
	case strings.HasPrefix(c.Store, "sqlite:"):
		if strings.TrimPrefix(c.Store, "sqlite:") == "" {
			add("store: sqlite: needs a path")
		}
	default:
		add("store: must start with sqlite: or postgres://")
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("public-url: must be an absolute http(s) URL")
	} else {
		switch {
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.PublicURL, "#") || u.User != nil:
			add("public-url: must have no query, fragment or user information")
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		add("log-format: %q is not text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("log-level: %q is not debug, info, warn or error", c.LogLevel)
	}
	if c.KEK != "" {
		if b, err := base64.StdEncoding.DecodeString(c.KEK); err != nil || len(b) != 32 {
			add("kek: must be the base64 encoding of exactly 32 bytes")
		}
	}
	if c.MaxBody < 1024 || c.MaxBody > 16<<20 {
		add("max-body: %d is outside 1 KiB to 16 MiB", c.MaxBody)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout},
		{"idle-timeout", c.IdleTimeout}, {"shutdown-timeout", c.ShutdownTimeout},
	} {
		if t.d <= 0 || t.d > 10*time.Minute {
			add("%s: %s is outside (0, 10m]", t.name, t.d)
		}
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		p = append(p, err)
	}
	return errors.Join(p...)
}

// TrustedProxyPrefixes parses TrustedProxies: each entry is a CIDR
// ("10.0.0.0/8", "2001:db8::/32") or one address (a /32 or /128). An
// IPv4-mapped IPv6 entry is taken as the IPv4 address or prefix it maps,
// as client addresses are compared unmapped. The error names every entry
// that is neither.
func (c *Server) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var bad []string
	for _, e := range c.TrustedProxies {
		p, err := parseProxy(strings.TrimSpace(e))
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q", e))
			continue
		}
		out = append(out, p)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("trusted-proxies: %s is not an IP address or CIDR", strings.Join(bad, ", "))
	}
	return out, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("a zone")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, errors.New("a mapped prefix wider than IPv4")
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// RequireHTTPS reports a public URL that is plain http on a host other
// than a loopback address. The production commands call it: issuer
// identifiers, offer URIs, status list and DID document URLs are all built
// on the public URL, and OpenID4VCI and the Token Status List require
// https for them. `ssi dev` does not, so that a demo can be reached over
// a local network.
func (c *Server) RequireHTTPS() error {
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Scheme == "https" || loopback(u.Hostname()) {
		return nil // a URL that does not parse is Validate's to report
	}
	return fmt.Errorf("public-url: must be https unless the host is a loopback address (%s)", u.Host)
}

// loopback reports whether host is localhost or a loopback IP address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
