package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store/storetest"
	"github.com/ssi-project/ssi/internal/trust"
)

// waitListAnchored publishes and polls until version of the list at uri
// is anchored.
func (e *env) waitListAnchored(uri string, version uint64) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.svc.Publish(context.Background())
		require.NoError(e.t, err)
		_, err = e.ledger.Anchorer.Get(context.Background(), trust.KindStatusList, uri, version)
		if err == nil {
			return
		}
		if !errors.Is(err, anchor.ErrNotFound) && !errors.Is(err, anchor.ErrNotYet) {
			require.NoError(e.t, err)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("status list version %d was not anchored in time: %v", version, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rewriteBody replaces the body of r with f of it.
func rewriteBody(r *http.Response, f func([]byte) []byte) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	b = f(b)
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return nil
}

// hijacked returns an HTTP client whose every connection goes to srv,
// whatever host the URL names: a lying server in the network path of the
// issuer's real URL.
func hijacked(srv *httptest.Server) *http.Client {
	addr := srv.Listener.Addr().String()
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

// TestStatusThroughTrustClient is the status-list part of issue 14: the
// issuer serves each list version with its receipt and the list's
// latest-version proof, and trust.Client.Status reads a credential's
// status only from a list that verifies, is anchored and is the latest. A
// lying server in front of the issuer (serving the list from before a
// revocation as the latest, a tampered token, no latest-version proof, or
// another version's receipt) is refused, each with its own code.
func TestStatusThroughTrustClient(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{ledger: true})
	ctx := context.Background()
	rec := e.issuedRecord("c1")
	uri := e.srv.URL + "/status/" + rec.ListID
	issuerDID := e.dids["health"]
	e.waitListAnchored(uri, 1)
	newClient := func(hc *http.Client) *trust.Client {
		return trust.NewClient("http://registry.invalid", trust.Options{Trust: e.ledger.Trust, HTTP: hc, TTL: time.Second})
	}
	status := func(c *trust.Client, idx int) (trust.StatusResult, error) {
		var (
			res trust.StatusResult
			err error
		)
		// A fresh anchor needs its next block signed before it is provable.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if res, err = c.Status(ctx, issuerDID, uri, idx); errs.CodeOf(err) != "status_unavailable" && errs.CodeOf(err) != "anchor_required" {
				break
			}
		}
		return res, err
	}

	res, err := status(newClient(nil), int(rec.Index))
	require.NoError(t, err)
	assert.Equal(t, uint8(StatusValid), res.Value)
	assert.Equal(t, uint64(1), res.Version)
	assert.False(t, res.Expires.IsZero())
	_, err = newClient(nil).Status(ctx, "did:key:z6MkOther", uri, int(rec.Index))
	assert.Equal(t, "status_unverifiable", errs.CodeOf(err), "a list signed by someone else than the credential's issuer")

	code, b := e.setStatus("health/all", rec.ID, ActionRevoke, "test")
	require.Equal(t, http.StatusOK, code, string(b))
	e.waitListAnchored(uri, 2)
	res, err = status(newClient(nil), int(rec.Index))
	require.NoError(t, err)
	assert.Equal(t, uint8(StatusRevoked), res.Value)
	assert.Equal(t, uint64(2), res.Version)
	_, err = newClient(nil).Status(ctx, issuerDID, uri, 1<<20)
	assert.Equal(t, "status_index_out_of_range", errs.CodeOf(err))

	// A verified list is cached (within its ttl and the client's TTL).
	var hits atomic.Int64
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		httputil.NewSingleHostReverseProxy(mustParse(t, e.srv.URL)).ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	cached := trust.NewClient("http://registry.invalid", trust.Options{Trust: e.ledger.Trust, HTTP: hijacked(counting), TTL: time.Minute})
	for range 3 {
		res, err = cached.Status(ctx, issuerDID, uri, int(rec.Index))
		require.NoError(t, err)
		assert.Equal(t, uint8(StatusRevoked), res.Value)
	}
	assert.EqualValues(t, 1, hits.Load(), "one fetch for three reads")

	// Past three quarters of the issuer's ttl (60 s here) the cached list
	// is still served while one refresh runs; past the ttl itself it is not
	// used at all, even while every refresh fails (the issuer asked to be
	// asked again by then), whatever the client's own TTL and MaxAge allow.
	var down atomic.Bool
	var tries atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		httputil.NewSingleHostReverseProxy(mustParse(t, e.srv.URL)).ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	swr := trust.NewClient("http://registry.invalid", trust.Options{Trust: e.ledger.Trust, HTTP: hijacked(flaky), TTL: 10 * time.Minute, Now: clock})
	_, err = swr.Status(ctx, issuerDID, uri, int(rec.Index))
	require.NoError(t, err)
	require.EqualValues(t, 1, tries.Load())
	down.Store(true)
	offset.Store(int64(50 * time.Second))
	res, err = swr.Status(ctx, issuerDID, uri, int(rec.Index))
	require.NoError(t, err, "within the ttl, while the refresh fails")
	assert.Equal(t, uint8(StatusRevoked), res.Value)
	for deadline := time.Now().Add(5 * time.Second); tries.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the background refresh, polled with a deadline
	}
	assert.EqualValues(t, 2, tries.Load(), "one refresh started before the ttl ran out")
	offset.Store(int64(61 * time.Second))
	_, err = swr.Status(ctx, issuerDID, uri, int(rec.Index))
	assert.Equal(t, "status_unavailable", errs.CodeOf(err), "not used past the issuer's ttl")

	target := mustParse(t, e.srv.URL)
	liar := func(rewrite func(r *http.Request), body func(b []byte) []byte) *trust.Client {
		proxy := httputil.NewSingleHostReverseProxy(target)
		if body != nil {
			proxy.ModifyResponse = func(r *http.Response) error { return rewriteBody(r, body) }
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rewrite(r)
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return newClient(hijacked(srv))
	}
	latest := func(r *http.Request) {}
	for name, c := range map[string]struct {
		client *trust.Client
		code   string
	}{
		"the list from before the revocation, as the latest": {liar(func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, "/latest", "/versions/1", 1)
		}, nil), "stale_version"},
		"a tampered token": {liar(latest, func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"token":"ey`, `"token":"eX`, 1))
		}), "status_unverifiable"},
		"no latest-version proof": {liar(latest, func(b []byte) []byte {
			var v map[string]any
			require.NoError(t, json.Unmarshal(b, &v))
			delete(v["anchor"].(map[string]any), "latest")
			out, err := json.Marshal(v)
			require.NoError(t, err)
			return out
		}), "anchor_required"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.client.Status(ctx, issuerDID, uri, int(rec.Index))
			assert.Equal(t, c.code, errs.CodeOf(err))
		})
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
