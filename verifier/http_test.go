package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/store"
)

// server is the verifier's routes on a real HTTP server, behind the body
// cap every ssi server has.
type server struct {
	*world
	srv   *httptest.Server
	key   string // presentations:create and :read of the venue
	other string // a key of another tenant with both scopes
	read  string // presentations:read only
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{}
	s.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + s.srv.Listener.Addr().String()
	s.world = newWorld(t, func(c *Config) { c.PublicURL = base })
	r := chi.NewRouter()
	r.Use(httpx.LimitBody(1 << 20))
	Routes(r, s.svc, s.st, httpx.DefaultMaxBody)
	s.srv.Config.Handler = r
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	ctx := context.Background()
	require.NoError(t, s.st.CreateTenant(ctx, store.Tenant{ID: "arena", Name: "Arena", Kind: "venue-operator"}))
	mk := func(tenant string, scopes ...string) string {
		k, rec, err := httpx.NewAPIKey(tenant, scopes, s.now)
		require.NoError(t, err)
		require.NoError(t, s.st.CreateAPIKey(ctx, rec))
		return k
	}
	s.key = mk("venue", ScopeCreate, ScopeRead)
	s.other = mk("arena", ScopeCreate, ScopeRead)
	s.read = mk("venue", ScopeRead)
	return s
}

func (s *server) do(t *testing.T, method, path, key, ctype string, body []byte) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), m
}

// create starts a transaction over HTTP and fetches its request object
// as a wallet does.
func (s *server) create(t *testing.T, mode string) (txn, string) {
	t.Helper()
	body, _ := json.Marshal(CreateRequest{Policy: "entry", ResponseMode: mode})
	code, _, m := s.do(t, "POST", "/verifier/v1/presentations", s.key, "application/json", body)
	require.Equal(t, http.StatusCreated, code, m)
	a, err := oid4vp.ParseAuthorizationURI(m["authorization_request_uri"].(string))
	require.NoError(t, err)
	u, err := url.Parse(a.RequestURI)
	require.NoError(t, err)
	code, ctype, raw := s.do(t, "GET", u.Path, "", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, RequestObjectMediaType, ctype)
	r, err := oid4vp.VerifyRequest(raw["raw"].(string), func(string, string) (joseKey, error) { return s.venueKey(), nil },
		oid4vp.VerifyOptions{ClientID: a.ClientID, Now: s.now})
	require.NoError(t, err)
	ru, err := url.Parse(r.ResponseURI)
	require.NoError(t, err)
	return txn{id: m["transaction_id"].(string), reqID: u.Path[strings.LastIndex(u.Path, "/")+1:], request: r}, ru.Path
}

func (s *server) post(t *testing.T, path string, f url.Values) (int, map[string]any) {
	t.Helper()
	code, _, m := s.do(t, "POST", path, "", "application/x-www-form-urlencoded", []byte(f.Encode()))
	return code, m
}

func (s *server) pending(t *testing.T, id string) {
	t.Helper()
	row, err := s.st.GetPresentation(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, store.PresentationPending, row.Status, "nothing stored")
	assert.Empty(t, row.Verdict)
}

// TestHTTPFlow: the venue creates, the wallet fetches (GET and POST with
// wallet_nonce) and answers; the venue's long poll returns the verdict.
func TestHTTPFlow(t *testing.T) {
	s := newServer(t)
	tx, respPath := s.create(t, oid4vp.DirectPostJWT)

	code, ctype, raw := s.do(t, "POST", "/verifier/v1/requests/"+tx.reqID, "", "application/x-www-form-urlencoded", []byte("wallet_nonce=wn-1"))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, RequestObjectMediaType, ctype)
	_, err := oid4vp.VerifyRequest(raw["raw"].(string), func(string, string) (joseKey, error) { return s.venueKey(), nil },
		oid4vp.VerifyOptions{ClientID: tx.request.ClientID, WalletNonce: "wn-1", Now: s.now})
	require.NoError(t, err)

	done := make(chan map[string]any)
	go func() {
		_, _, m := s.do(t, "GET", "/verifier/v1/presentations/"+tx.id+"?wait=10", s.read, "", nil)
		done <- m
	}()
	code, m := s.post(t, respPath, s.form(tx, s.present(s.issue(nil), tx, nil)))
	require.Equal(t, http.StatusOK, code, m)
	select {
	case v := <-done:
		assert.Equal(t, "green", v["verdict"])
		assert.Equal(t, "verified", v["status"])
		assert.Equal(t, "Erika", v["claims"].(map[string]any)["given_name"])
	case <-time.After(20 * time.Second):
		t.Fatal("the long poll did not return")
	}
}

// TestHostileInputs: every verifier route refuses bad input with a 4xx
// and its code, stores nothing, and never answers 500 (acceptance 5;
// SECURITY-CASES C42).
func TestHostileInputs(t *testing.T) {
	s := newServer(t)
	tx, respPath := s.create(t, oid4vp.DirectPostJWT)
	plainTx, plainPath := s.create(t, oid4vp.DirectPost)
	pres := s.present(s.issue(nil), tx, nil)
	k, err := tx.request.Metadata.EncryptionKey()
	require.NoError(t, err)
	pub, err := k.PublicKey()
	require.NoError(t, err)
	payload, _ := json.Marshal(map[string]any{"vp_token": map[string]any{"pass": []string{pres}}, "state": tx.request.State})
	jweWith := func(alg jwa.KeyEncryptionAlgorithm, enc jwa.ContentEncryptionAlgorithm, key any) url.Values {
		h := jwe.NewHeaders()
		require.NoError(t, h.Set("kid", k.Kid))
		out, err := jwe.Encrypt(payload, jwe.WithKey(alg, key), jwe.WithContentEncryption(enc), jwe.WithProtectedHeaders(h), jwe.WithCompact())
		require.NoError(t, err)
		return url.Values{"response": {string(out)}}
	}
	_, otherKey := encKeyPair(t)
	otherTx, _ := s.create(t, oid4vp.DirectPostJWT)

	cases := []struct {
		name string
		path string
		form url.Values
		code int
		err  string
	}{
		{"oversized vp_token", plainPath, url.Values{"vp_token": {strings.Repeat("x", 300<<10)}, "state": {plainTx.request.State}}, 413, "vp_token_too_large"},
		{"vp_token just over its cap", plainPath, url.Values{"vp_token": {`{"pass":["` + strings.Repeat("x", oid4vp.MaxResponseSize) + `"]}`}, "state": {plainTx.request.State}}, 413, "vp_token_too_large"},
		{"oversized body", plainPath, url.Values{"vp_token": {strings.Repeat("%", 300<<10)}, "state": {plainTx.request.State}}, 413, "body_too_large"},
		{"oversized JWE", respPath, url.Values{"response": {strings.Repeat("x", 300<<10)}}, 413, "vp_token_too_large"},
		{"JWE with another alg", respPath, jweWith(jwa.ECDH_ES_A128KW(), jwa.A128GCM(), pub), 400, "invalid_encrypted_response"},
		{"JWE with another enc", respPath, jweWith(jwa.ECDH_ES(), jwa.A128CBC_HS256(), pub), 400, "invalid_encrypted_response"},
		{"JWE to another key", respPath, jweWith(jwa.ECDH_ES(), jwa.A128GCM(), otherKey), 400, "invalid_encrypted_response"},
		{"plain response where encrypted is asked", respPath, url.Values{"vp_token": {`{"pass":["x~"]}`}, "state": {tx.request.State}}, 400, "invalid_request"},
		{"state of another transaction", respPath, s.form(txn{request: withState(tx.request, otherTx.request.State)}, pres), 400, "invalid_state"},
		{"malformed vp_token", plainPath, url.Values{"vp_token": {`{"pass":`}, "state": {plainTx.request.State}}, 400, "invalid_request"},
		{"repeated parameter", plainPath, url.Values{"vp_token": {`{"pass":["x~"]}`, `{"pass":["y~"]}`}, "state": {plainTx.request.State}}, 400, "invalid_request"},
		{"unknown request", "/verifier/v1/responses/" + oid4vp.NewNonce(), url.Values{"state": {"x"}}, 404, "presentation_not_found"},
		{"malformed request id", "/verifier/v1/responses/..%2f..", url.Values{"state": {"x"}}, 404, "presentation_not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, m := s.post(t, c.path, c.form)
			assert.Equal(t, c.code, code, m)
			assert.Equal(t, c.err, m["error"], m)
			assert.NotContains(t, m["error_description"], pres[:40])
			s.pending(t, tx.id)
			s.pending(t, plainTx.id)
		})
	}

	t.Run("wrong media type", func(t *testing.T) {
		code, _, m := s.do(t, "POST", respPath, "", "application/json", []byte(`{}`))
		assert.Equal(t, 415, code)
		assert.Equal(t, "invalid_request", m["error"])
		s.pending(t, tx.id)
	})
	t.Run("request object: unknown, wallet_nonce twice", func(t *testing.T) {
		code, _, m := s.do(t, "GET", "/verifier/v1/requests/"+oid4vp.NewNonce(), "", "", nil)
		assert.Equal(t, 404, code)
		assert.Equal(t, "presentation_not_found", m["error"])
		code, _, m = s.do(t, "POST", "/verifier/v1/requests/"+tx.reqID, "", "application/x-www-form-urlencoded", []byte("wallet_nonce=a&wallet_nonce=b"))
		assert.Equal(t, 400, code)
		assert.Equal(t, "invalid_request", m["error"])
	})
	t.Run("a second response to a finished transaction (C40, C42)", func(t *testing.T) {
		f := s.form(tx, pres)
		code, m := s.post(t, respPath, f)
		require.Equal(t, 200, code, m)
		code, m = s.post(t, respPath, f)
		assert.Equal(t, 409, code)
		assert.Equal(t, "nonce_used", m["error"])
		code, _, _ = s.do(t, "GET", "/verifier/v1/requests/"+tx.reqID, "", "", nil)
		assert.Equal(t, 409, code, "a finished request is not served again")
	})
	t.Run("venue API", func(t *testing.T) {
		code, _, m := s.do(t, "POST", "/verifier/v1/presentations", "", "application/json", []byte(`{"policy":"entry"}`))
		assert.Equal(t, 401, code, m)
		code, _, m = s.do(t, "POST", "/verifier/v1/presentations", s.read, "application/json", []byte(`{"policy":"entry"}`))
		assert.Equal(t, 403, code, m)
		code, _, m = s.do(t, "POST", "/verifier/v1/presentations", s.other, "application/json", []byte(`{"policy":"entry"}`))
		assert.Equal(t, 403, code, m)
		assert.Equal(t, "not_a_venue", m["code"])
		code, _, m = s.do(t, "GET", "/verifier/v1/presentations/"+tx.id, s.other, "", nil)
		assert.Equal(t, 404, code, "another tenant's transaction")
		assert.Equal(t, "presentation_not_found", m["code"])
		for body, want := range map[string]string{
			`{"policy":"nope"}`:                                        "unknown_policy",
			`{"policy":"entry","response_mode":"fragment"}`:            "invalid_argument",
			`{"policy":"entry","request_uri_method":"PUT"}`:            "invalid_request_uri_method",
			`{"policy":"entry","same_device_redirect_uri":"http://x"}`: "invalid_redirect_uri",
			`{"policy":"entry","polcy":"x"}`:                           "unknown_field",
			`{"policy":"entry"`:                                        "malformed_json",
			`{"policy":` + strings.Repeat("[", 10000) + `}`:            "json_too_deep",
		} {
			code, ctype, m := s.do(t, "POST", "/verifier/v1/presentations", s.key, "application/json", []byte(body))
			assert.Equal(t, "application/problem+json", ctype, body)
			assert.Less(t, code, 500, body)
			assert.GreaterOrEqual(t, code, 400, body)
			assert.Equal(t, want, m["code"], body)
		}
		code, _, _ = s.do(t, "GET", "/verifier/v1/presentations/"+tx.id+"?wait=abc", s.key, "", nil)
		assert.Equal(t, 400, code)
	})
}

// TestPoliciesRoute: GET /verifier/v1/policies lists the calling venue's
// policies (name, description, the claims asked and shown) to a key with
// presentations:read, and nothing to a key without it, to no key, or to
// a tenant that is not a venue.
func TestPoliciesRoute(t *testing.T) {
	s := newServer(t)
	k, rec, err := httpx.NewAPIKey("venue", []string{ScopeCreate}, s.now)
	require.NoError(t, err)
	require.NoError(t, s.st.CreateAPIKey(context.Background(), rec))
	for _, key := range []string{s.key, s.read} {
		code, ctype, m := s.do(t, "GET", "/verifier/v1/policies", key, "", nil)
		require.Equal(t, 200, code, m)
		assert.Equal(t, "application/json", ctype)
		assert.Equal(t, []any{map[string]any{
			"name": "entry", "description": "Admission with a vaccination pass", "vcts": []any{vctPass},
			"asks":  []any{"vaccinated_within_policy", "given_name", "family_name", "birth_date"},
			"shows": []any{"given_name", "family_name", "birth_date"},
		}}, m["policies"])
	}
	for _, c := range []struct {
		name, key string
		status    int
		code      string
	}{
		{"no key", "", 401, "unauthenticated"},
		{"without presentations:read", k, 403, "insufficient_scope"},
		{"not a venue", s.other, 403, "not_a_venue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, ctype, m := s.do(t, "GET", "/verifier/v1/policies", c.key, "", nil)
			assert.Equal(t, c.status, code, m)
			assert.Equal(t, "application/problem+json", ctype)
			assert.Equal(t, c.code, m["code"])
			assert.Nil(t, m["policies"])
		})
	}
}

// TestSameDevice: the wallet gets a redirect with a fresh response_code,
// and the result is shown only with it (SECURITY-CASES C42).
func TestSameDevice(t *testing.T) {
	s := newServer(t)
	body, _ := json.Marshal(CreateRequest{Policy: "entry", ResponseMode: oid4vp.DirectPost, SameDeviceRedirectURI: "https://venue.example/done"})
	code, _, m := s.do(t, "POST", "/verifier/v1/presentations", s.key, "application/json", body)
	require.Equal(t, http.StatusCreated, code, m)
	id := m["transaction_id"].(string)
	a, err := oid4vp.ParseAuthorizationURI(m["authorization_request_uri"].(string))
	require.NoError(t, err)
	reqID := a.RequestURI[strings.LastIndex(a.RequestURI, "/")+1:]
	tok, err := s.svc.RequestObject(context.Background(), reqID, "")
	require.NoError(t, err)
	r, err := oid4vp.VerifyRequest(tok, func(string, string) (joseKey, error) { return s.venueKey(), nil }, oid4vp.VerifyOptions{ClientID: a.ClientID, Now: s.now})
	require.NoError(t, err)
	tx := txn{id: id, reqID: reqID, request: r}
	code, ans := s.post(t, "/verifier/v1/responses/"+reqID, s.form(tx, s.present(s.issue(nil), tx, nil)))
	require.Equal(t, 200, code, ans)
	redirect, err := url.Parse(ans["redirect_uri"].(string))
	require.NoError(t, err)
	assert.Equal(t, "venue.example", redirect.Host)
	rc := redirect.Query().Get("response_code")
	require.Len(t, rc, 43)

	code, _, _ = s.do(t, "GET", "/verifier/v1/presentations/"+id, s.key, "", nil)
	assert.Equal(t, 404, code, "no result without the response_code")
	code, _, _ = s.do(t, "GET", "/verifier/v1/presentations/"+id+"?response_code="+oid4vp.NewNonce(), s.key, "", nil)
	assert.Equal(t, 404, code, "nor with another one")
	code, _, m = s.do(t, "GET", "/verifier/v1/presentations/"+id+"?response_code="+rc, s.key, "", nil)
	require.Equal(t, 200, code, m)
	assert.Equal(t, "green", m["verdict"])
}

// TestExpiredTransaction: a transaction past its TTL reads as expired and
// takes no response.
func TestExpiredTransaction(t *testing.T) {
	s := newServer(t)
	tx, path := s.create(t, oid4vp.DirectPost)
	f := s.form(tx, s.present(s.issue(nil), tx, nil))
	s.now = s.now.Add(6 * time.Minute)
	code, m := s.post(t, path, f)
	assert.Equal(t, 400, code)
	assert.Equal(t, "request_expired", m["error"])
	_, _, v := s.do(t, "GET", "/verifier/v1/presentations/"+tx.id, s.key, "", nil)
	assert.Equal(t, "expired", v["status"])
}

// TestAdhocQuery: a venue may send its own DCQL query instead of a
// policy: checked against its registration when the transaction is made
// (over_asking), every requested claim shown; a query over DCQL's limits
// or a nesting bomb is a 4xx with its code and stores nothing
// (acceptance 5).
func TestAdhocQuery(t *testing.T) {
	s := newServer(t)
	body, _ := json.Marshal(map[string]any{"dcql_query": json.RawMessage(entryQuery), "response_mode": "direct_post"})
	code, _, m := s.do(t, "POST", "/verifier/v1/presentations", s.key, "application/json", body)
	require.Equal(t, http.StatusCreated, code, m)
	a, err := oid4vp.ParseAuthorizationURI(m["authorization_request_uri"].(string))
	require.NoError(t, err)
	reqID := a.RequestURI[strings.LastIndex(a.RequestURI, "/")+1:]
	tok, err := s.svc.RequestObject(context.Background(), reqID, "")
	require.NoError(t, err)
	r, err := oid4vp.VerifyRequest(tok, func(string, string) (joseKey, error) { return s.venueKey(), nil }, oid4vp.VerifyOptions{ClientID: a.ClientID, Now: s.now})
	require.NoError(t, err)
	tx := txn{id: m["transaction_id"].(string), reqID: reqID, request: r}
	v := s.result(tx, s.present(s.issue(nil), tx, nil))
	assert.Equal(t, "green", v.Verdict, v.Reasons)
	assert.Equal(t, map[string]any{"vaccinated_within_policy": true, "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1963-08-12"}, v.Claims)

	claims := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"path":["c%d"]}`, i)
		}
		return b.String()
	}
	q := func(inner string) string {
		return `{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["` + vctPass + `"]},"claims":[` + inner + `]}]}`
	}
	for name, c := range map[string]struct {
		body   string
		status int
		code   string
	}{
		"10,000 claims":         {`{"dcql_query":` + q(claims(10000)) + `}`, 413, "body_too_large"},
		"2,000 claims":          {`{"dcql_query":` + q(claims(2000)) + `}`, 400, "dcql_limit_exceeded"},
		"a nesting bomb":        {`{"dcql_query":` + q(`{"path":["a"],"values":[`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`]}`) + `}`, 400, "json_too_deep"},
		"a path too long":       {`{"dcql_query":` + q(`{"path":[`+strings.Repeat(`"a",`, 40)+`"a"]}`) + `}`, 400, "dcql_limit_exceeded"},
		"not a query":           {`{"dcql_query":{"credentials":[]}}`, 400, "dcql_empty_array"},
		"another format":        {`{"dcql_query":{"credentials":[{"id":"m","format":"mso_mdoc","meta":{"doctype_value":"x"}}]}}`, 400, "dcql_unsupported_format"},
		"both policy and query": {`{"policy":"entry","dcql_query":` + entryQuery + `}`, 400, "invalid_argument"},
	} {
		code, _, m := s.do(t, "POST", "/verifier/v1/presentations", s.key, "application/json", []byte(c.body))
		assert.Equal(t, c.status, code, name)
		assert.Equal(t, c.code, m["code"], name)
	}
	s.trust.rp = RPDecision{Within: false, Reason: "over_asking", Excess: []string{"given_name"}}
	code, _, m = s.do(t, "POST", "/verifier/v1/presentations", s.key, "application/json", body)
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, "over_asking", m["code"])
	var n int64
	require.NoError(t, store.Raw(s.st).QueryRow(context.Background(), "SELECT COUNT(*) FROM verifier_transactions", nil, &n))
	assert.Equal(t, int64(1), n, "only the good query made a transaction")
}
