package verifier

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/bundle"
)

// TestBundleLists: the bundle's status lists are every list each status
// index (a real HTTP server here) names for each issuer of the policy,
// and the lists of those issuers that presentations named. An index that
// does not answer for an issuer (500, 404, not its JSON), or names a list
// of another origin or an over-long URI, costs that issuer a Missing record
// (status_index_unavailable), not the bundle; indexes none of which answer
// for anyone (the issuer services down), or one that is not an absolute
// URL (the configuration), fail it.
func TestBundleLists(t *testing.T) {
	var srv *httptest.Server
	answer := map[string][]string{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch iss := r.URL.Query().Get("issuer"); {
		case r.URL.Path != "/status" || iss == "did:psr:500":
			http.Error(w, "no", http.StatusInternalServerError)
		case iss == "did:psr:404":
			http.NotFound(w, r)
		case iss == "did:psr:garbled":
			_, _ = io.WriteString(w, `{"status_lists": "not a list"`)
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"status_lists": answer[iss]})
		}
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
	s := &Service{log: slog.New(slog.DiscardHandler)}
	s.noteList("did:psr:a", srv.URL+"/status/seen")
	s.noteList("did:psr:other", srv.URL+"/status/not-ours")
	answer["did:psr:a"] = []string{srv.URL + "/status/1", srv.URL + "/status/2"}
	answer["did:psr:b"] = []string{}
	index := []string{srv.URL + "/status"}
	got, missing, err := s.bundleLists([]string{"did:psr:a", "did:psr:b"}, index, maxBundleLists, get)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		srv.URL + "/status/1": "did:psr:a", srv.URL + "/status/2": "did:psr:a",
		srv.URL + "/status/seen": "did:psr:a",
	}, got, "the index's lists and the seen ones of the policy's issuers")
	assert.Empty(t, missing)

	got, missing, err = s.bundleLists([]string{"did:psr:a"}, nil, maxBundleLists, get)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{srv.URL + "/status/seen": "did:psr:a"}, got, "without an index, the seen lists")
	assert.Empty(t, missing)

	answer["did:psr:foreign"] = []string{"https://elsewhere.example/status/1", srv.URL + "/status/f"}
	answer["did:psr:long"] = []string{srv.URL + "/status/" + strings.Repeat("x", maxListURI)}
	got, missing, err = s.bundleLists([]string{"did:psr:a", "did:psr:500", "did:psr:404", "did:psr:garbled", "did:psr:foreign", "did:psr:long"}, index, maxBundleLists, get)
	require.NoError(t, err, "an index that misbehaves for some issuers does not fail the bundle")
	assert.Equal(t, map[string]string{
		srv.URL + "/status/1": "did:psr:a", srv.URL + "/status/2": "did:psr:a",
		srv.URL + "/status/seen": "did:psr:a", srv.URL + "/status/f": "did:psr:foreign",
	}, got, "the other issuers' lists, and the foreign index's own-origin list")
	assert.ElementsMatch(t, []bundle.Missing{
		{Issuer: "did:psr:500", Reason: bundle.MissingIndex}, {Issuer: "did:psr:404", Reason: bundle.MissingIndex},
		{Issuer: "did:psr:garbled", Reason: bundle.MissingIndex}, {Issuer: "did:psr:foreign", Reason: bundle.MissingIndex},
		{Issuer: "did:psr:long", Reason: bundle.MissingIndex},
	}, missing)

	_, _, err = s.bundleLists([]string{"did:psr:500", "did:psr:garbled"}, index, maxBundleLists, get)
	assert.ErrorContains(t, err, "no status index answered", "when no index answers for anyone, the bundle fails (the venue keeps its last one)")

	_, _, err = s.bundleLists([]string{"did:psr:a"}, []string{"/status"}, maxBundleLists, get)
	assert.ErrorContains(t, err, "not an absolute URL")
}

// TestBundleListsOverLimit: lists over the bundle's limit are left out and
// their issuer recorded (too_many_status_lists), whether the index named
// them or presentations did; and once noteList has remembered
// maxBundleLists lists, an issuer whose list it could not keep is recorded
// too. Nothing is dropped silently.
func TestBundleListsOverLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lists := map[string][]string{
			"did:psr:a": {"http://" + r.Host + "/status/a1", "http://" + r.Host + "/status/a2"},
			"did:psr:b": {"http://" + r.Host + "/status/b1"},
		}[r.URL.Query().Get("issuer")]
		_ = json.NewEncoder(w).Encode(map[string]any{"status_lists": lists})
	}))
	defer srv.Close()
	get := func(u, _ string, into any) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(into)
	}
	s := &Service{log: slog.New(slog.DiscardHandler)}
	index := []string{srv.URL + "/status"}
	got, missing, err := s.bundleLists([]string{"did:psr:a", "did:psr:b"}, index, 2, get)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{srv.URL + "/status/a1": "did:psr:a", srv.URL + "/status/a2": "did:psr:a"}, got)
	assert.Equal(t, []bundle.Missing{{Issuer: "did:psr:b", Reason: bundle.MissingOverLimit}}, missing, "b's list is over the limit: b is recorded")

	s.noteList("did:psr:c", srv.URL+"/status/c1")
	_, missing, err = s.bundleLists([]string{"did:psr:a", "did:psr:c"}, index, 2, get)
	require.NoError(t, err)
	assert.Equal(t, []bundle.Missing{{Issuer: "did:psr:c", Reason: bundle.MissingOverLimit}}, missing, "a seen list over the limit")

	for i := range maxBundleLists {
		s.noteList("did:psr:d", fmt.Sprintf("%s/status/d%d", srv.URL, i))
	}
	s.noteList("did:psr:e", srv.URL+"/status/e1")
	got, missing, err = s.bundleLists([]string{"did:psr:e"}, nil, maxBundleLists, get)
	require.NoError(t, err)
	assert.Empty(t, got, "noteList kept no more lists")
	assert.Equal(t, []bundle.Missing{{Issuer: "did:psr:e", Reason: bundle.MissingOverLimit}}, missing, "but remembers whose it did not keep")

	s = &Service{log: slog.New(slog.DiscardHandler)}
	s.noteList("did:psr:f", srv.URL+"/status/"+strings.Repeat("f", maxListURI))
	got, missing, err = s.bundleLists([]string{"did:psr:f"}, nil, maxBundleLists, get)
	require.NoError(t, err)
	assert.Empty(t, got, "a URI over maxListURI is not kept")
	assert.Equal(t, []bundle.Missing{{Issuer: "did:psr:f", Reason: bundle.MissingOverLimit}}, missing, "and its issuer is recorded")
}

// TestFitLists: the status lists that do not fit the bundle's size budget
// are left out, in order, and their issuers named.
func TestFitLists(t *testing.T) {
	b := &bundle.Bundle{Verifier: "did:key:z", StatusLists: []bundle.StatusList{
		{Issuer: "did:psr:a", URI: "https://a.example/status/1", Token: strings.Repeat("a", 1000)},
		{Issuer: "did:psr:b", URI: "https://b.example/status/1", Token: strings.Repeat("b", 5000)},
		{Issuer: "did:psr:c", URI: "https://c.example/status/1", Token: strings.Repeat("c", 1000)},
	}}
	base, err := json.Marshal(&bundle.Bundle{Verifier: "did:key:z"})
	require.NoError(t, err)
	over := fitLists(b, len(base)+4000)
	assert.Equal(t, []string{"did:psr:b"}, over)
	require.Len(t, b.StatusLists, 2)
	assert.Equal(t, "did:psr:a", b.StatusLists[0].Issuer)
	assert.Equal(t, "did:psr:c", b.StatusLists[1].Issuer)

	// The missing records count in the budget too.
	b.Missing = []bundle.Missing{{Issuer: "did:psr:x", URI: "https://x.example/" + strings.Repeat("x", 1500), Reason: bundle.MissingList}}
	assert.Equal(t, []string{"did:psr:c"}, fitLists(b, len(base)+3000))
	require.Len(t, b.StatusLists, 1)
}
