package httpx

import (
	"net/http"
	"net/netip"
	"strings"
)

// ForwardedFor is the header through which proxies pass on the address of
// the peer they received a request from.
const ForwardedFor = "X-Forwarded-For"

// ClientAddr returns the address of the client that sent r, for rate
// limits and logs. It is the peer's address (r.RemoteAddr) unless the peer
// is one of the trusted proxies; only then is X-Forwarded-For read, from
// its right-most entry leftwards (each entry was appended by the hop to
// its right), and the first entry that is not a trusted proxy is the
// client. So:
//
//   - X-Forwarded-For from an untrusted peer is ignored, whatever it says:
//     a client cannot choose its own address (trusted empty: never read);
//   - entries left of the first untrusted one are the client's own words
//     and never read;
//   - an entry that is not an IP address (or "IP:port") stops the walk at
//     the trusted hop that passed it on, whose address is returned: a
//     garbled header never yields an address the sender chose;
//   - a header of trusted proxies only yields the left-most of them.
//
// Addresses are normalised: an IPv4-mapped IPv6 address is returned as
// IPv4, and zones are dropped. A RemoteAddr that does not parse (no TCP
// peer) gives the invalid netip.Addr{}, which ClientKey maps to a key all
// such requests share. trusted holds the proxies' prefixes (a single
// address is a /32 or /128); IPv4 proxies must be given as IPv4 prefixes.
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, ok := parseHop(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !isTrusted(peer, trusted) {
		return peer
	}
	var entries []string
	for _, v := range r.Header.Values(ForwardedFor) {
		entries = append(entries, strings.Split(v, ",")...)
	}
	addr := peer // the last trusted hop so far
	for i := len(entries) - 1; i >= 0; i-- {
		e := strings.TrimSpace(entries[i])
		if e == "" {
			continue // an empty list element (RFC 9110 §5.6.1)
		}
		a, ok := parseHop(e)
		if !ok {
			return addr
		}
		if !isTrusted(a, trusted) {
			return a
		}
		addr = a
	}
	return addr
}

// parseHop parses an address as RemoteAddr ("IP:port", "[IPv6]:port")
// or an X-Forwarded-For entry ("IP", or "IP:port" as some proxies write
// it) carries it, normalised.
func parseHop(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientKey is the key under which a client address is rate limited: an
// IPv4 address itself, and for IPv6 the address's /64 prefix
// ("2001:db8:1:2::/64"). One IPv6 subscriber is given at least a /64
// (RFC 6177; often a /56 or /48) and picks addresses in it freely, privacy
// addresses change daily, so a limit per IPv6 address would give one
// client 2^64 budgets; per /64 it gets one, and the subscribers of one
// provider are not lumped together as a shorter prefix would. The invalid
// address (no TCP peer) is "unknown": such requests share one budget,
// never get one each.
func ClientKey(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
