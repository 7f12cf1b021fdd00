package did

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

// webDID returns the did:web of an httptest server plus an optional path.
func webDID(srv *httptest.Server, path ...string) string {
	u, _ := url.Parse(srv.URL)
	d := "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A")
	for _, p := range path {
		d += ":" + p
	}
	return d
}

func docFor(did string) string {
	return `{"@context":["https://www.w3.org/ns/did/v1"],"id":"` + did + `",
	  "verificationMethod":[{"id":"#k1","type":"JsonWebKey2020","controller":"` + did + `",
	    "publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}],
	  "assertionMethod":["#k1"]}`
}

type webFixture struct {
	srv  *httptest.Server
	hits atomic.Int64
	mux  *http.ServeMux
}

func newWebFixture(t *testing.T) *webFixture {
	t.Helper()
	f := &webFixture{mux: http.NewServeMux()}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *webFixture) resolver(t *testing.T, allow bool, tweak ...func(*WebOptions)) *WebResolver {
	t.Helper()
	o := WebOptions{Client: f.srv.Client(), AllowPrivate: allow}
	for _, fn := range tweak {
		fn(&o)
	}
	r, err := NewWebResolver(o)
	require.NoError(t, err)
	return r
}

func TestDIDWebResolves(t *testing.T) {
	f := newWebFixture(t)
	root, user := webDID(f.srv), webDID(f.srv, "users", "alice")
	f.mux.HandleFunc("/.well-known/did.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", MediaTypeDIDJSON)
		fmt.Fprint(w, docFor(root))
	})
	f.mux.HandleFunc("/users/alice/did.json", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, docFor(user))
	})
	router := NewRouter().Handle("web", f.resolver(t, true))
	for _, d := range []string{root, user} {
		t.Run(d, func(t *testing.T) {
			res, err := router.Resolve(context.Background(), d, ResolveOptions{})
			require.NoError(t, err)
			assert.Equal(t, d, res.Document.ID)
			_, alg, err := ResolveKey(context.Background(), router, d+"#k1", AssertionMethod)
			require.NoError(t, err)
			assert.Equal(t, "EdDSA", alg)
		})
	}
}

// TestDIDWebRefusesPrivateAddresses proves the dial-time check: without the
// development allowance neither the IP literal nor a hostname that resolves
// to loopback reaches the server.
func TestDIDWebRefusesPrivateAddresses(t *testing.T) {
	f := newWebFixture(t)
	f.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "{}") })
	u, err := url.Parse(f.srv.URL)
	require.NoError(t, err)
	r := f.resolver(t, false)
	for name, d := range map[string]string{
		"ip literal":             webDID(f.srv),
		"hostname to loopback":   "did:web:localhost%3A" + u.Port(),
		"metadata address":       "did:web:169.254.169.254",
		"private network":        "did:web:10.0.0.1",
		"hostname, default port": "did:web:localhost",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.Resolve(context.Background(), d, ResolveOptions{})
			assert.Equal(t, "address_not_allowed", errs.CodeOf(err))
		})
	}
	assert.Zero(t, f.hits.Load(), "no request may reach a refused address")

	// The same client refuses a custom RoundTripper it cannot guard.
	_, err = NewWebResolver(WebOptions{Client: &http.Client{Transport: roundTripFunc(nil)}})
	assert.Equal(t, "http_client_config", errs.CodeOf(err))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDIDWebFetchLimits(t *testing.T) {
	f := newWebFixture(t)
	other := newWebFixture(t)
	root := webDID(f.srv)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	// /r/N/did.json redirects N times on the same host, then lands on the
	// document of did:web:<host>:r:3 (the only chain short enough to land).
	f.mux.HandleFunc("/final/did.json", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, docFor(webDID(f.srv, "r", "3")))
	})
	f.mux.HandleFunc("/r/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		_, _ = fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/r/"), "%d", &n)
		if n <= 1 {
			http.Redirect(w, r, "/final/did.json", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d/did.json", n-1), http.StatusFound)
	})
	f.mux.HandleFunc("/other-host/did.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+"/did.json", http.StatusFound)
	})
	f.mux.HandleFunc("/plain/did.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/final/did.json", http.StatusFound)
	})
	f.mux.HandleFunc("/big/did.json", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"id":"`+webDID(f.srv, "big")+`","x":"`+strings.Repeat("a", 4096)+`"}`)
	})
	f.mux.HandleFunc("/slow/did.json", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	f.mux.HandleFunc("/impostor/did.json", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, docFor(root))
	})
	f.mux.HandleFunc("/garbage/did.json", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"id":"x","id":"y"}`)
	})
	f.mux.HandleFunc("/fail/did.json", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})

	r := f.resolver(t, true, func(o *WebOptions) {
		o.MaxBytes = 2048
		o.Timeout = 300 * time.Millisecond
	})
	tests := []struct {
		name, did, code string
	}{
		{"three redirects on the same host", webDID(f.srv, "r", "3"), ""},
		{"four redirects", webDID(f.srv, "r", "4"), "too_many_redirects"},
		{"redirect to another host", webDID(f.srv, "other-host"), "redirect_not_allowed"},
		{"redirect to http", webDID(f.srv, "plain"), "insecure_transport"},
		{"body over the cap", webDID(f.srv, "big"), "response_too_large"},
		{"timeout", webDID(f.srv, "slow"), "did_resolution_failed"},
		{"document for another DID", webDID(f.srv, "impostor"), "invalid_did_document"},
		{"duplicate members", webDID(f.srv, "garbage"), "invalid_did_document"},
		{"not found", webDID(f.srv, "nobody"), "did_not_found"},
		{"server error", webDID(f.srv, "fail"), "did_resolution_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Resolve(context.Background(), tc.did, ResolveOptions{})
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
	assert.Zero(t, other.hits.Load(), "the redirect to another host must not be followed")
}

func TestWebURL(t *testing.T) {
	tests := []struct{ did, url, code string }{
		{"did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json", ""},
		{"did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json", ""},
		{"did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json", ""},
		{"did:web:Example.COM", "https://example.com/.well-known/did.json", ""},
		{"did:web:example.com:..:secret", "", "invalid_did"},
		{"did:web:example.com:a%2Fb", "", "invalid_did"},
		{"did:web:example.com%2F@evil.com", "", "invalid_did"},
		{"did:web:example.com%3A0", "", "invalid_did"},
		{"did:web:example.com%3A99999", "", "invalid_did"},
		{"did:web:-bad-.com", "", "invalid_did"},
		{"did:web:a..b", "", "invalid_did"},
		{"did:key:z6Mk", "", "method_not_supported"},
	}
	for _, tc := range tests {
		t.Run(tc.did, func(t *testing.T) {
			got, err := WebURL(tc.did)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			assert.Equal(t, tc.url, got)
		})
	}
}

func TestPublicAddress(t *testing.T) {
	tests := map[string]bool{
		"8.8.8.8":              true,
		"2606:4700:4700::1111": true,
		"127.0.0.1":            false,
		"10.1.2.3":             false,
		"172.16.0.1":           false,
		"192.168.1.1":          false,
		"169.254.169.254":      false, // cloud metadata
		"100.64.0.1":           false, // CGNAT
		"0.0.0.0":              false,
		"255.255.255.255":      false,
		"224.0.0.1":            false,
		"::1":                  false,
		"::":                   false,
		"fe80::1":              false,
		"fd00:ec2::254":        false, // AWS IPv6 metadata
		"::ffff:127.0.0.1":     false, // IPv4-mapped loopback
		"64:ff9b::a9fe:a9fe":   false, // NAT64 of 169.254.169.254
		"2002:7f00:1::1":       false, // 6to4 of 127.0.0.1
		"64:ff9b::808:808":     true,  // NAT64 of 8.8.8.8
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			assert.Equal(t, want, PublicAddress(netip.MustParseAddr(in)))
		})
	}
}
