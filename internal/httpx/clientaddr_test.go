package httpx

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	cases := []struct {
		name    string
		remote  string
		xff     []string // one entry per header line
		trusted []netip.Prefix
		want    string
	}{
		{"no proxy, no header", "192.0.2.1:1234", nil, nil, "192.0.2.1"},
		{"spoofed by a peer when no proxy is trusted", "192.0.2.1:1234", []string{"203.0.113.9"}, nil, "192.0.2.1"},
		{"spoofed over two lines by a peer when no proxy is trusted", "192.0.2.1:1234", []string{"203.0.113.9", "198.51.100.1"}, nil, "192.0.2.1"},
		{"spoofed by an untrusted peer", "192.0.2.1:1234", []string{"203.0.113.9"}, proxies, "192.0.2.1"},
		{"an untrusted peer claims to be a proxy's client", "192.0.2.1:1234", []string{"203.0.113.9, 10.0.0.5"}, proxies, "192.0.2.1"},
		{"a loopback peer is not trusted unless listed", "127.0.0.2:1234", []string{"203.0.113.9"}, proxies, "127.0.0.2"},
		{"a trusted proxy's client", "10.0.0.1:1234", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"a single trusted address", "192.0.2.10:1", []string{"203.0.113.9"}, []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}, "203.0.113.9"},
		{"the client's own entries are not read", "10.0.0.1:1234", []string{"1.1.1.1, 203.0.113.9"}, proxies, "203.0.113.9"},
		{"a spoofed proxy address left of the client", "10.0.0.1:1234", []string{"10.0.0.9, 203.0.113.9"}, proxies, "203.0.113.9"},
		{"two trusted hops", "10.0.0.1:1234", []string{"203.0.113.9, 10.0.0.2"}, proxies, "203.0.113.9"},
		{"the right-most line is the last hop's", "10.0.0.1:1234", []string{"1.1.1.1", "203.0.113.9"}, proxies, "203.0.113.9"},
		{"a trusted proxy without the header", "10.0.0.1:1234", nil, proxies, "10.0.0.1"},
		{"trusted proxies only: the left-most", "10.0.0.1:1234", []string{"10.0.0.3, 10.0.0.2"}, proxies, "10.0.0.3"},
		{"empty list elements", "10.0.0.1:1234", []string{"203.0.113.9, , ", ""}, proxies, "203.0.113.9"},
		{"garbage right-most: the proxy", "10.0.0.1:1234", []string{"203.0.113.9, garbage"}, proxies, "10.0.0.1"},
		{"garbage after a trusted hop: that hop", "10.0.0.1:1234", []string{"203.0.113.9, garbage, 10.0.0.2"}, proxies, "10.0.0.2"},
		{"obfuscated entry: the proxy", "10.0.0.1:1234", []string{"unknown"}, proxies, "10.0.0.1"},
		{"a prefix is not an address", "10.0.0.1:1234", []string{"203.0.113.0/24"}, proxies, "10.0.0.1"},
		{"five octets", "10.0.0.1:1234", []string{"1.2.3.4.5"}, proxies, "10.0.0.1"},
		{"a zone is dropped", "10.0.0.1:1234", []string{"fe80::1%eth0x"}, proxies, "fe80::1"},
		{"an entry with a port", "10.0.0.1:1234", []string{"203.0.113.9:5678"}, proxies, "203.0.113.9"},
		{"an IPv6 entry", "10.0.0.1:1234", []string{"2001:db8:1:2::5"}, proxies, "2001:db8:1:2::5"},
		{"an IPv6 entry with a port", "10.0.0.1:1234", []string{"[2001:db8:1:2::5]:443"}, proxies, "2001:db8:1:2::5"},
		{"an IPv4-mapped entry", "10.0.0.1:1234", []string{"::ffff:203.0.113.9"}, proxies, "203.0.113.9"},
		{"an IPv4-mapped trusted peer", "[::ffff:10.0.0.1]:1234", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"an IPv4-mapped peer", "[::ffff:192.0.2.1]:1234", nil, nil, "192.0.2.1"},
		{"an IPv6 trusted proxy", "[2001:db8:ffff::1]:1234", []string{"2001:db8:1:2::5"}, proxies, "2001:db8:1:2::5"},
		{"an IPv6 peer with a zone", "[fe80::1%eth0]:1234", nil, nil, "fe80::1"},
		{"no TCP peer", "pipe", []string{"203.0.113.9"}, proxies, "invalid IP"},
		{"no port", "192.0.2.1", nil, nil, "192.0.2.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add(ForwardedFor, v)
			}
			assert.Equal(t, c.want, ClientAddr(r, c.trusted).String())
		})
	}
}

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1":                "192.0.2.1",
		"2001:db8:1:2::1":          "2001:db8:1:2::/64",
		"2001:db8:1:2:aaaa:bbbb::": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":          "2001:db8:1:3::/64",
		"::1":                      "::/64",
	} {
		assert.Equal(t, want, ClientKey(netip.MustParseAddr(addr)), addr)
	}
	assert.Equal(t, "unknown", ClientKey(netip.Addr{}))
}

// FuzzClientAddr: whatever X-Forwarded-For holds, ClientAddr does not
// panic; from an untrusted peer the answer is the peer; from a trusted
// one it is the peer or an address the header spells.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range []string{
		"203.0.113.9",                    // one client
		"1.1.1.1, 203.0.113.9, 10.0.0.2", // a spoofed entry, the client, a second proxy
		"garbage, 10.0.0.2",              // garbage behind a trusted hop
		"[2001:db8::1]:443",              // IPv6 with a port
		"::ffff:10.0.0.1",                // a mapped proxy address
		", ,,",                           // empty elements only
		"fe80::1%25eth0",                 // a zone
	} {
		f.Add(seed)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(ForwardedFor, xff)
		r.RemoteAddr = "192.0.2.1:1"
		if got := ClientAddr(r, trusted); got != netip.MustParseAddr("192.0.2.1") {
			t.Fatalf("an untrusted peer's header was read: %v", got)
		}
		r.RemoteAddr = "10.0.0.1:1"
		got := ClientAddr(r, trusted)
		if !got.IsValid() {
			t.Fatalf("a trusted peer gave no address")
		}
		if got == netip.MustParseAddr("10.0.0.1") {
			return
		}
		for _, e := range strings.Split(xff, ",") {
			if a, ok := parseHop(strings.TrimSpace(e)); ok && a == got {
				return
			}
		}
		t.Fatalf("%v is neither the peer nor an entry of the header %q", got, xff)
	})
}
