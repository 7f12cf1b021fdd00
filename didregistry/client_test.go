package didregistry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/trust"
)

// createDID creates and rotates a DID over HTTP and waits for both anchors.
func (e *env) createRotated() (string, time.Time) {
	e.t.Helper()
	ctl, s1, s2 := newSigner(e.t), newSigner(e.t), newSigner(e.t)
	vm1, err := VMFor("sign-1", s1, PurposeAssertionMethod)
	require.NoError(e.t, err)
	tok, d, err := SignCreate(ctl, "ctl-1", []VMInput{vm1}, []ServiceInput{{ID: "web", Type: "LinkedDomains", ServiceEndpoint: "https://health.example/?a=1&b=<2>"}})
	require.NoError(e.t, err)
	code, body, _ := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
	require.Equal(e.t, http.StatusCreated, code, string(body))
	v1Time := e.clock.Now()
	e.clock.Add(time.Hour)
	vm2, err := VMFor("sign-2", s2, PurposeAssertionMethod)
	require.NoError(e.t, err)
	op, err := SignOp(ctl, "ctl-1", Operation{Op: "update", DID: d, Version: 2, AddVerificationMethod: []VMInput{vm2}, RetireVerificationMethod: []string{"sign-1"}})
	require.NoError(e.t, err)
	code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+d+"/operations", "health", map[string]string{"operation": op})
	require.Equal(e.t, http.StatusOK, code, string(body))
	e.waitAnchored(trust.KindDIDDocument, d, 1)
	e.waitAnchored(trust.KindDIDDocument, d, 2)
	return d, v1Time
}

func TestClientVerifiesAnchorsAndCaches(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	d, v1Time := e.createRotated()
	var hits atomic.Int64
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		httputil.NewSingleHostReverseProxy(mustURL(t, e.srv.URL)).ServeHTTP(w, r)
	}))
	defer counting.Close()
	pinned := e.ledger.Trust
	c := trust.NewClient(counting.URL, trust.Options{Trust: pinned, TTL: time.Minute})

	res, err := c.Resolve(context.Background(), d, did.ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2", res.DocumentMetadata.VersionID)
	pub, alg, err := did.ResolveKey(context.Background(), did.NewRouter().Handle(Method, c), d+"#sign-2", did.Relationship(PurposeAssertionMethod))
	require.NoError(t, err, "the verifier finds the current assertion key through the client")
	assert.NotNil(t, pub)
	assert.Equal(t, "ES256", alg)

	old, err := c.ResolveAt(context.Background(), d, v1Time.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "1", old.DocumentMetadata.VersionID, "the key valid at an earlier iat is found in the version then")

	before := hits.Load()
	_, err = c.Resolve(context.Background(), d, did.ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, before, hits.Load(), "a second resolution within the TTL is served from the cache")

	_, err = c.Resolve(context.Background(), "did:psr:"+string(bytes.Repeat([]byte("A"), 44)), did.ResolveOptions{})
	assert.ErrorIs(t, err, did.ErrNotFound)
}

// TestClientRefusesALyingRegistry: a registry (or a proxy in front of it)
// that alters the document (hash_not_anchored), or serves a receipt for
// another version or none (anchor_required), is caught by a client that
// pins the validators.
func TestClientRefusesALyingRegistry(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	d, _ := e.createRotated()
	pinned := e.ledger.Trust
	rewrite := func(from, to string) *httptest.Server {
		proxy := httputil.NewSingleHostReverseProxy(mustURL(t, e.srv.URL))
		proxy.ModifyResponse = func(r *http.Response) error {
			b, _ := io.ReadAll(r.Body)
			b = bytes.ReplaceAll(b, []byte(from), []byte(to))
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
			r.Header.Del("Content-Length")
			return nil
		}
		s := httptest.NewServer(proxy)
		t.Cleanup(s.Close)
		return s
	}
	for name, c := range map[string]struct {
		srv  *httptest.Server
		code string
	}{
		// The receipt verifies and anchors other bytes for this version.
		"altered service endpoint": {rewrite("health.example", "attack.example"), "hash_not_anchored"},
		"altered version":          {rewrite(`"versionId":"2"`, `"versionId":"1"`), "anchor_required"},
		"anchor stripped":          {rewrite(`"status":"anchored"`, `"status":"pending"`), "anchor_required"},
	} {
		t.Run(name, func(t *testing.T) {
			cl := trust.NewClient(c.srv.URL, trust.Options{Trust: pinned})
			_, err := cl.Resolve(context.Background(), d, did.ResolveOptions{})
			require.Error(t, err)
			assert.Equal(t, c.code, errs.CodeOf(err))
		})
	}
	// Another ledger's validators do not vouch for this one.
	other := newLedger(t, storetestSQLite(t))
	c := trust.NewClient(e.srv.URL, trust.Options{Trust: other.Trust})
	_, err := c.Resolve(context.Background(), d, did.ResolveOptions{})
	assert.Equal(t, "receipt_unverified", errs.CodeOf(err))

	// The version from before the rotation, served as the current one with
	// its genuine receipt, is stale.
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.RawQuery = "versionId=1"
		httputil.NewSingleHostReverseProxy(mustURL(t, e.srv.URL)).ServeHTTP(w, r)
	}))
	t.Cleanup(old.Close)
	_, err = trust.NewClient(old.URL, trust.Options{Trust: pinned}).Resolve(context.Background(), d, did.ResolveOptions{})
	assert.Equal(t, "stale_version", errs.CodeOf(err))
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// TestClientSharesConcurrentMisses: concurrent resolutions of one DID
// that miss the trust client's cache make one request to the registry
// (and one verification), whose answer all of them get: a verifier under
// load does not fetch the same answer once per request in flight.
func TestClientSharesConcurrentMisses(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	d, _ := e.createRotated()
	var resolutions atomic.Int64
	arrived, release := make(chan struct{}, 64), make(chan struct{})
	proxy := httputil.NewSingleHostReverseProxy(mustURL(t, e.srv.URL))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/1.0/identifiers/") {
			resolutions.Add(1)
			arrived <- struct{}{}
			<-release
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c := trust.NewClient(srv.URL, trust.Options{Trust: e.ledger.Trust, TTL: time.Minute})
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = c.Resolve(context.Background(), d, did.ResolveOptions{}) })
	}
	<-arrived
	// Time for the others to reach the registry, were they not sharing
	// the first one's fetch; passing does not depend on it.
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), resolutions.Load())
}
