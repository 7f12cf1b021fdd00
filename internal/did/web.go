package did

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
)

// Defaults of the did:web client.
const (
	DefaultWebTimeout  = 5 * time.Second
	DefaultWebMaxBytes = 256 << 10
	// MaxRedirects is the most redirects a fetch follows, all on the
	// original host and over HTTPS.
	MaxRedirects = 3
)

// Errors of the did:web client (and of any fetch made with NewHTTPClient).
var (
	ErrAddressNotAllowed = errs.E(errs.Forbidden, "address_not_allowed", "the host resolves to an address that may not be fetched")
	ErrRedirectRefused   = errs.E(errs.Forbidden, "redirect_not_allowed", "the fetch was redirected to another host or scheme")
	ErrTooManyRedirects  = errs.E(errs.Forbidden, "too_many_redirects", "the fetch was redirected too many times")
	ErrInsecureTransport = errs.E(errs.Forbidden, "insecure_transport", "only HTTPS may be used")
	ErrResponseTooLarge  = errs.E(errs.Invalid, "response_too_large", "the fetched document is too large")
	ErrClientConfig      = errs.E(errs.Internal, "http_client_config", "the HTTP client cannot be made safe")
)

// WebOptions configure the did:web resolver and NewHTTPClient.
type WebOptions struct {
	// Client is the HTTP client to start from (nil: a new one). Its
	// Transport must be nil or an *http.Transport, which is cloned and given
	// a dialer that checks every resolved address; any other RoundTripper is
	// refused unless AllowPrivate is set. The proxy is always turned off,
	// because a proxy would connect on our behalf and skip the check.
	Client *http.Client
	// AllowPrivate permits loopback, private, link-local and other
	// non-public addresses. Development and tests only.
	AllowPrivate bool
	// Timeout bounds a whole fetch, redirects included (default 5 s).
	Timeout time.Duration
	// MaxBytes bounds a response body (default 256 KiB).
	MaxBytes int64
}

// WebResolver resolves did:web DIDs over HTTPS (the did:web method spec).
type WebResolver struct {
	client   *http.Client
	maxBytes int64
	allowPrv bool
}

var _ Resolver = (*WebResolver)(nil)

// NewWebResolver returns a did:web resolver using a client made safe by
// NewHTTPClient.
func NewWebResolver(o WebOptions) (*WebResolver, error) {
	c, err := NewHTTPClient(o)
	if err != nil {
		return nil, err
	}
	max := o.MaxBytes
	if max <= 0 {
		max = DefaultWebMaxBytes
	}
	return &WebResolver{client: c, maxBytes: max, allowPrv: o.AllowPrivate}, nil
}

// NewHTTPClient returns a copy of o.Client for fetching untrusted URLs:
// HTTPS only, at most MaxRedirects redirects and only to the same host, a
// total timeout, no proxy, and (unless o.AllowPrivate) a dial-time check
// that refuses every connection to a loopback, private, link-local,
// unspecified, multicast, CGNAT, benchmark, reserved or cloud-metadata
// address, IPv4-mapped, NAT64 and 6to4 forms included. The check runs on the
// address actually dialled, after DNS, so a hostname that resolves to
// 127.0.0.1 is refused too. A refused connection fails with
// address_not_allowed.
func NewHTTPClient(o WebOptions) (*http.Client, error) {
	c := &http.Client{}
	if o.Client != nil {
		*c = *o.Client
	}
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = &http.Transport{
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  5 * time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			MaxIdleConns:           16,
			IdleConnTimeout:        30 * time.Second,
			ForceAttemptHTTP2:      true,
		}
	case *http.Transport:
		tr = t.Clone()
	default:
		if !o.AllowPrivate {
			return nil, ErrClientConfig.With("a custom RoundTripper cannot be given the address check", nil)
		}
	}
	if tr != nil {
		tr.Proxy = nil
		tr.DialTLSContext = nil
		tr.DialContext = (&net.Dialer{
			Timeout: 5 * time.Second,
			Control: func(network, address string, _ syscall.RawConn) error {
				if o.AllowPrivate {
					return nil
				}
				return checkDialAddress(address)
			},
		}).DialContext
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		} else {
			tr.TLSClientConfig = tr.TLSClientConfig.Clone()
		}
		if tr.TLSClientConfig.MinVersion < tls.VersionTLS12 {
			tr.TLSClientConfig.MinVersion = tls.VersionTLS12
		}
		c.Transport = tr
	}
	c.Timeout = o.Timeout
	if c.Timeout <= 0 {
		c.Timeout = DefaultWebTimeout
	}
	c.CheckRedirect = checkRedirect
	c.Jar = nil
	return c, nil
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return ErrTooManyRedirects
	}
	if req.URL.Scheme != "https" {
		return ErrInsecureTransport.With("a redirect left HTTPS", nil)
	}
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		return ErrRedirectRefused
	}
	return nil
}

func checkDialAddress(address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ErrAddressNotAllowed.With("", err)
	}
	if !PublicAddress(ap.Addr()) {
		return ErrAddressNotAllowed
	}
	return nil
}

var blockedPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // CGNAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"240.0.0.0/4",     // reserved, broadcast
		"100::/64",        // discard
		"2001:db8::/32",   // documentation
		"fec0::/10",       // deprecated site-local
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// PublicAddress reports whether ip is a globally routable unicast address
// that an untrusted fetch may connect to. Loopback, RFC 1918 and ULA
// private, link-local (which holds the 169.254.169.254 metadata service),
// unspecified, multicast and the reserved ranges above are not; IPv4
// embedded in IPv4-mapped, NAT64 or 6to4 addresses is judged as IPv4.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64.Contains(ip):
			return PublicAddress(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			return PublicAddress(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() || ip.Zone() != "" {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// WebURL maps a did:web DID to the HTTPS URL of its document: the first
// id segment is the host (a port is written "%3A"), further ":"-separated
// segments are path segments, and the file is /.well-known/did.json without
// a path or /<path>/did.json with one. Percent-encoding elsewhere, IP-literal
// IPv6 hosts, empty, "." or ".." segments and a bad port are invalid_did.
func WebURL(did string) (string, error) {
	d, err := parseMethod(did, "web")
	if err != nil {
		return "", err
	}
	parts := strings.Split(d.ID, ":")
	host := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(parts[0], "%3A", ":"), "%3a", ":"))
	name, port, hasPort := strings.Cut(host, ":")
	if !validHostname(name) {
		return "", ErrInvalidDID.With("the did:web host is not a valid hostname", nil)
	}
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", ErrInvalidDID.With("the did:web port is not valid", nil)
		}
	}
	path := "/.well-known"
	if len(parts) > 1 {
		path = ""
		for _, seg := range parts[1:] {
			if seg == "" || seg == "." || seg == ".." || strings.Contains(seg, "%") {
				return "", ErrInvalidDID.With("the did:web path is not valid", nil)
			}
			path += "/" + seg
		}
	}
	return "https://" + host + path + "/did.json", nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 || strings.Contains(h, "%") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Resolve implements Resolver for did:web: it fetches WebURL(did) with the
// safe client, refuses a body over MaxBytes, a non-200 answer (404 and 410
// are did_not_found), a document that does not parse, and a document whose
// id is not did. Network failures are did_resolution_failed; refusals keep
// their codes (address_not_allowed, redirect_not_allowed,
// too_many_redirects, insecure_transport, response_too_large).
func (w *WebResolver) Resolve(ctx context.Context, did string, _ ResolveOptions) (*Resolution, error) {
	u, err := WebURL(did)
	if err != nil {
		return nil, err
	}
	if host, _, _ := strings.Cut(strings.TrimPrefix(u, "https://"), "/"); !w.allowPrv {
		h, _, err := net.SplitHostPort(host)
		if err != nil {
			h = host
		}
		if ip, err := netip.ParseAddr(h); err == nil && !PublicAddress(ip) {
			return nil, ErrAddressNotAllowed
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, ErrInvalidDID.With("", err)
	}
	req.Header.Set("Accept", MediaTypeDIDJSON+", application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return nil, fmt.Errorf("fetching did:web document: %w", e.With("", err))
		}
		return nil, ErrResolutionFailed.With("the DID document could not be fetched", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, ErrNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, ErrResolutionFailed.With(fmt.Sprintf("the DID host answered %d", resp.StatusCode), nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, w.maxBytes+1))
	if err != nil {
		return nil, ErrResolutionFailed.With("the DID document could not be read", err)
	}
	if int64(len(body)) > w.maxBytes {
		return nil, ErrResponseTooLarge
	}
	doc, err := ParseDocument(body)
	if err != nil {
		return nil, ErrInvalidDocument.With("", err)
	}
	if doc.ID != did {
		return nil, ErrInvalidDocument.With("the document id is not the resolved DID", nil)
	}
	return &Resolution{Document: doc}, nil
}
