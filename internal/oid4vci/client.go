package oid4vci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"syscall"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// Defaults of Options.
const (
	DefaultMaxResponse   = 1 << 20
	DefaultMaxBatch      = 16
	DefaultMaxCredential = sdjwt.DefaultMaxSize
	DefaultTimeout       = 10 * time.Second
)

// DPoPMode says when a token request carries a DPoP proof.
type DPoPMode int

const (
	// DPoPAuto uses DPoP when the authorization server's metadata lists
	// ES256 in dpop_signing_alg_values_supported.
	DPoPAuto DPoPMode = iota
	// DPoPNever never sends DPoP proofs (a bearer token).
	DPoPNever
	// DPoPAlways always sends one, whatever the metadata says.
	DPoPAlways
)

// Options configure a Client. The zero value is the production setting.
type Options struct {
	// Transport is the base transport (nil: a new one). An
	// *http.Transport is cloned and given a dialer that checks every
	// address it connects to. Any other RoundTripper (a test's recording
	// one) cannot be given that check, and is accepted only with
	// AllowLoopback; literal IP addresses in URLs are still checked.
	Transport http.RoundTripper
	// AllowLoopback permits 127.0.0.0/8 and ::1 (tests and development);
	// every other non-public address stays refused.
	AllowLoopback bool
	// AllowHTTP permits plain http:// URLs (tests and development).
	AllowHTTP bool
	// MaxResponse bounds every response body (default 1 MiB).
	MaxResponse int64
	// MaxBatch is the largest batch_size accepted (default 16); an issuer
	// advertising more is refused with batch_size_too_large.
	MaxBatch int
	// MaxCredential bounds one issued credential (default sdjwt's limit).
	MaxCredential int
	// Timeout bounds one request (default 10 s).
	Timeout time.Duration
	// DPoP says when to use DPoP (default DPoPAuto).
	DPoP DPoPMode
	// Now is the clock of proofs (nil: time.Now).
	Now func() time.Time
}

// Client is an OpenID4VCI wallet client. It is safe for concurrent use.
type Client struct {
	http *http.Client
	o    Options
}

// New returns a client for o. Errors: did.ErrClientConfig for a
// Transport that cannot be given the address check.
func New(o Options) (*Client, error) {
	if o.MaxResponse <= 0 {
		o.MaxResponse = DefaultMaxResponse
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxCredential <= 0 {
		o.MaxCredential = DefaultMaxCredential
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{o: o, http: &http.Client{
		Timeout: o.Timeout,
		// An issuer's endpoints are named in its metadata; a redirect is
		// never needed, and following one would skip the URL checks.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	var tr *http.Transport
	switch t := o.Transport.(type) {
	case *http.Transport:
		tr = t.Clone()
	case nil:
		tr = &http.Transport{
			TLSHandshakeTimeout:    5 * time.Second,
			ResponseHeaderTimeout:  o.Timeout,
			MaxResponseHeaderBytes: 64 << 10,
			MaxIdleConns:           64,
			MaxIdleConnsPerHost:    64,
			IdleConnTimeout:        30 * time.Second,
			ForceAttemptHTTP2:      true,
		}
	default:
		if !o.AllowLoopback {
			return nil, did.ErrClientConfig.With("a custom RoundTripper cannot be given the address check", nil)
		}
		c.http.Transport = t
		return c, nil
	}
	loopback := o.AllowLoopback
	tr.Proxy = nil // a proxy would connect for us and skip the check
	tr.DialTLSContext = nil
	tr.DialContext = (&net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return did.ErrAddressNotAllowed.With("", err)
			}
			if !addressAllowed(ap.Addr(), loopback) {
				return did.ErrAddressNotAllowed
			}
			return nil
		},
	}).DialContext
	c.http.Transport = tr
	return c, nil
}

func addressAllowed(a netip.Addr, loopback bool) bool {
	return did.PublicAddress(a) || (loopback && a.Unmap().IsLoopback())
}

// checkURL refuses a URL the client must not fetch before any connection
// is made: not absolute, userinfo, plain HTTP (unless allowed), or a
// literal IP address that is not public (names are checked at dial time).
func (c *Client) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil {
		return nil, ErrInvalidMetadata.With("a URL is not absolute", nil)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.o.AllowHTTP:
	default:
		return nil, did.ErrInsecureTransport
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !addressAllowed(a, c.o.AllowLoopback) {
		return nil, did.ErrAddressNotAllowed
	}
	return u, nil
}

// response is a bounded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request to raw (checked first) and reads at most
// MaxResponse bytes of the answer. Errors: the URL checks,
// ErrIssuerUnreachable, did.ErrResponseTooLarge.
func (c *Client) do(ctx context.Context, method, raw string, hdr http.Header, contentType string, body []byte) (*response, error) {
	u, err := c.checkURL(raw)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, ErrInvalidMetadata.With("a URL cannot be requested", err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL stays out of the cause, which is logged: an offer's
		// URL carries its code.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, did.ErrAddressNotAllowed) {
			return nil, did.ErrAddressNotAllowed.With("", err)
		}
		return nil, ErrIssuerUnreachable.With("", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.o.MaxResponse+1))
	if err != nil {
		return nil, ErrIssuerUnreachable.With("", err)
	}
	if int64(len(b)) > c.o.MaxResponse {
		return nil, did.ErrResponseTooLarge.With("the issuer's response is too large", nil)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// decode reads a 2xx JSON answer into v, or returns the issuer's error.
func (r *response) decode(what string, v any) error {
	if r.status < 200 || r.status > 299 {
		return r.issuerError(what)
	}
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return ErrIssuerResponse.With(what+": the answer is not application/json", nil)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return ErrIssuerResponse.With(what+": the answer is not JSON of the right shape", err)
	}
	return nil
}

var oauthCode = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// issuerError turns an error answer into ErrIssuerRefused with an
// *IssuerError cause; a code that is not a plain OAuth error code is
// replaced by "unknown".
func (r *response) issuerError(what string) error {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	code := e.Error
	if !oauthCode.MatchString(code) {
		code = "unknown"
	}
	return ErrIssuerRefused.With(fmt.Sprintf("%s: the issuer answered %d %s", what, r.status, code), &IssuerError{Status: r.status, Code: code})
}

// Response is an answer read by Do, at most MaxResponse bytes.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request with every check of the client (no non-public
// address, HTTPS unless allowed, no redirect followed, the size limit):
// the wallet's one HTTP client for untrusted servers, which the holder
// also uses to fetch OpenID4VP request objects and post responses.
// Errors: the URL checks, ErrIssuerUnreachable, did.ErrResponseTooLarge.
func (c *Client) Do(ctx context.Context, method, url string, hdr http.Header, contentType string, body []byte) (*Response, error) {
	r, err := c.do(ctx, method, url, hdr, contentType, body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: r.status, Header: r.header, Body: r.body}, nil
}
