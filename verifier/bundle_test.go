package verifier

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBundleLists: the bundle's status lists are every list each status
// index (a real HTTP server here) names for each issuer of the policy,
// and the lists of those issuers that presentations named; an index
// naming a list of another origin, or not answering, fails the bundle.
func TestBundleLists(t *testing.T) {
	var srv *httptest.Server
	answer := map[string][]string{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lists, ok := answer[r.URL.Query().Get("issuer")]
		if r.URL.Path != "/status" || !ok {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status_lists": lists})
	}))
	defer srv.Close()
	get := func(u, _ string, into any) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %d", u, resp.StatusCode)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, into)
	}
	s := &Service{}
	s.noteList("did:psr:a", srv.URL+"/status/seen")
	s.noteList("did:psr:other", srv.URL+"/status/not-ours")
	answer["did:psr:a"] = []string{srv.URL + "/status/1", srv.URL + "/status/2"}
	answer["did:psr:b"] = []string{}
	got, err := s.bundleLists([]string{"did:psr:a", "did:psr:b"}, []string{srv.URL + "/status"}, get)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		srv.URL + "/status/1": "did:psr:a", srv.URL + "/status/2": "did:psr:a",
		srv.URL + "/status/seen": "did:psr:a",
	}, got, "the index's lists and the seen ones of the policy's issuers")

	got, err = s.bundleLists([]string{"did:psr:a"}, nil, get)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{srv.URL + "/status/seen": "did:psr:a"}, got, "without an index, the seen lists")

	answer["did:psr:b"] = []string{"https://elsewhere.example/status/1"}
	_, err = s.bundleLists([]string{"did:psr:b"}, []string{srv.URL + "/status"}, get)
	assert.ErrorContains(t, err, "another origin")

	_, err = s.bundleLists([]string{"did:psr:unknown"}, []string{srv.URL + "/status"}, get)
	assert.ErrorContains(t, err, "answered 500", "an index that does not answer fails the bundle")

	_, err = s.bundleLists([]string{"did:psr:a"}, []string{"/status"}, get)
	assert.ErrorContains(t, err, "not an absolute URL")
}
