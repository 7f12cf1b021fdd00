package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/issuer/issuertest"
)

// offerBody is a valid offer request for the vaccination pass of the
// "health" agency of newTestAppWith.
func offerBody(subjectRef, givenName string) string {
	b, _ := json.Marshal(map[string]any{
		"credential_configuration_id": "vaccination-pass", "subject_ref": subjectRef,
		"subject_data": map[string]any{
			"given_name": givenName, "family_name": "Lovelace", "birth_date": "1950-12-10",
			"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -2, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}},
		},
	})
	return string(b)
}

// readAll reads and closes resp's body.
func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// problemCode reads resp, which must have the given status and be a
// problem document, and returns its code. Unlike httpxtest.ReadProblem it
// never prints the body, which may hold a secret the test is looking for.
func problemCode(t *testing.T, resp *http.Response, status int) string {
	t.Helper()
	b := readAll(t, resp)
	require.Equal(t, status, resp.StatusCode, "a %d-byte %s body", len(b), resp.Header.Get("Content-Type"))
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p struct {
		Code string `json:"code"`
	}
	require.NoError(t, json.Unmarshal(b, &p))
	return p.Code
}

// TestIdempotentReplayIsAuthorizedFirst is issue 13 fix 1: a stored
// response is bound to the API key that made it, and the route's scope is
// checked before any replay. An audit:read-only key of the same tenant that
// sends the very request (same Idempotency-Key, same body) of a full-scope
// key gets 403 insufficient_scope, not the stored secret; another key that
// does hold the scope has a key space of its own, so its request is
// processed afresh rather than given the other key's response.
func TestIdempotentReplayIsAuthorizedFirst(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnvWith(t, st, testAppOpts{agency: true})
		all := []string{admin.ScopeKeysManage, admin.ScopeAuditRead, admin.ScopeCredentialsIssue}
		full, _ := e.key("health", all...)
		other, _ := e.key("health", all...)
		auditor, _ := e.key("health", admin.ScopeAuditRead)

		t.Run("POST /admin/v1/keys", func(t *testing.T) {
			body := `{"scopes":["audit:read"]}`
			resp := e.do(http.MethodPost, "/admin/v1/keys", full, body, "Idempotency-Key", "K-keys")
			b := readAll(t, resp)
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
			var created admin.KeyView
			require.NoError(t, json.Unmarshal(b, &created))
			require.NotEmpty(t, created.Key)
			e.leaks.Secret(created.Key)

			resp = e.do(http.MethodPost, "/admin/v1/keys", auditor, body, "Idempotency-Key", "K-keys")
			assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
			assert.Equal(t, "insufficient_scope", problemCode(t, resp, http.StatusForbidden))

			resp = e.do(http.MethodPost, "/admin/v1/keys", other, body, "Idempotency-Key", "K-keys")
			b = readAll(t, resp)
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
			assert.Empty(t, resp.Header.Get("Idempotent-Replayed"), "another key's request is its own")
			var second admin.KeyView
			require.NoError(t, json.Unmarshal(b, &second))
			assert.NotEqual(t, created.Key, second.Key)
			assert.NotContains(t, string(b), created.Key)

			resp = e.do(http.MethodPost, "/admin/v1/keys", full, body, "Idempotency-Key", "K-keys")
			b = readAll(t, resp)
			assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"), "the maker still gets its replay")
			assert.Contains(t, string(b), created.Key)
		})

		t.Run("POST /issuer/v1/offers", func(t *testing.T) {
			body := offerBody("citizen-1", "Ada")
			resp := e.do(http.MethodPost, "/issuer/v1/offers", full, body, "Idempotency-Key", "K-offer")
			b := readAll(t, resp)
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
			var offer struct {
				OfferURI string `json:"offer_uri"`
				TxCode   string `json:"tx_code"`
			}
			require.NoError(t, json.Unmarshal(b, &offer))
			require.NotEmpty(t, offer.TxCode)
			u, err := url.Parse(offer.OfferURI)
			require.NoError(t, err)
			code := path.Base(u.Query().Get("credential_offer_uri"))
			require.NotEmpty(t, code)
			e.leaks.Secret(offer.TxCode)
			e.leaks.Secret(code)

			resp = e.do(http.MethodPost, "/issuer/v1/offers", auditor, body, "Idempotency-Key", "K-offer")
			assert.Empty(t, resp.Header.Get("Idempotent-Replayed"))
			assert.Equal(t, "insufficient_scope", problemCode(t, resp, http.StatusForbidden))

			resp = e.do(http.MethodPost, "/issuer/v1/offers", other, body, "Idempotency-Key", "K-offer")
			b = readAll(t, resp)
			require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
			assert.NotContains(t, string(b), offer.TxCode)
			assert.NotContains(t, string(b), code)
		})
		// The leak checker saw the secrets in neither 403.
		assert.GreaterOrEqual(t, e.leaks.Checked, 2)
	})
}

// token redeems a fresh offer of the "health" agency and returns its
// bearer access token; e must be newTestEnvWith(…, testAppOpts{agency: true}).
func (e *testEnv) token(t *testing.T, issueKey string) string {
	t.Helper()
	ctx := context.Background()
	c := &issuertest.Client{HTTP: e.client, Base: e.srv.URL}
	var subject map[string]any
	require.NoError(t, json.Unmarshal([]byte(offerBody("x", "Ada")), &struct {
		S *map[string]any `json:"subject_data"`
	}{&subject}))
	o, err := c.CreateOffer(ctx, issueKey, "vaccination-pass", "citizen-token", subject)
	require.NoError(t, err)
	sess, err := c.Redeem(ctx, o.OfferURI, o.TxCode)
	require.NoError(t, err)
	e.leaks.Secret(sess.Token)
	return sess.Token
}

// bodyEndpoint is one endpoint that reads a request body.
type bodyEndpoint struct {
	path  string
	media string // the one media type it reads
	body  string // a body it would take
	auth  string // API key or access token
	oauth bool   // errors in the OAuth form
}

// bodyEndpoints lists every endpoint that reads a body, with credentials
// that pass authentication and authorization, so that the body is what
// decides the answer.
func (e *testEnv) bodyEndpoints(t *testing.T) []bodyEndpoint {
	t.Helper()
	key, _ := e.key("health", admin.KnownScopes...)
	tok := e.token(t, key)
	reason := `{"reason":"x"}`
	var out []bodyEndpoint
	for _, p := range []struct{ path, body string }{
		{"/admin/v1/keys", `{"scopes":["audit:read"]}`},
		{"/issuer/v1/offers", offerBody("citizen-2", "Ada")},
		{"/issuer/v1/credentials/c1/revoke", reason},
		{"/issuer/v1/credentials/c1/suspend", reason},
		{"/issuer/v1/credentials/c1/unsuspend", reason},
		{"/registry/v1/dids", `{"operation":"x"}`},
		{"/registry/v1/dids/did:psr:x/operations", `{"operation":"x"}`},
		{"/registry/v1/accreditations", `{"issuer":"did:psr:x","vct":["urn:x"]}`},
		{"/registry/v1/accreditations/a1/suspend", reason},
		{"/registry/v1/relying-parties/challenges", `{"verifier":"did:psr:x"}`},
		{"/registry/v1/relying-parties", `{"verifier":"did:psr:x","name":"x"}`},
		{"/registry/v1/relying-parties/r1/approve", reason},
	} {
		out = append(out, bodyEndpoint{path: p.path, media: "application/json", body: p.body, auth: key})
	}
	return append(out,
		bodyEndpoint{path: "/issuers/health/token", media: "application/x-www-form-urlencoded", oauth: true,
			body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=x&tx_code=1"},
		bodyEndpoint{path: "/issuers/health/credential", media: "application/json", oauth: true, auth: tok,
			body: `{"credential_configuration_id":"vaccination-pass","proofs":{"jwt":["x"]}}`},
	)
}

// post sends body to ep with the Content-Type contentType ("": none).
func (e *testEnv) post(t *testing.T, ep bodyEndpoint, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+ep.path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if ep.auth != "" {
		req.Header.Set("Authorization", "Bearer "+ep.auth)
	}
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	return resp
}

// TestBodyMediaTypesAreExact is issue 13 fix 2: every endpoint that reads
// a body compares its media type exactly, after parsing it; a longer type
// (application/jsonfoo), another one, none, or one with a parameter other
// than charset=utf-8 is 415, unsupported_media_type, or invalid_request on
// the OAuth endpoints.
func TestBodyMediaTypesAreExact(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnvWith(t, st, testAppOpts{agency: true})
		for _, ep := range e.bodyEndpoints(t) {
			t.Run(ep.path, func(t *testing.T) {
				other := "application/json"
				if ep.media == other {
					other = "application/x-www-form-urlencoded"
				}
				for _, ct := range []string{
					"application/x-www-form-urlencodedX",
					"application/jsonfoo",
					ep.media + "foo",
					ep.media + "; garbage",
					ep.media + ";charset=utf-8;;",
					ep.media + "; charset=iso-8859-1",
					ep.media + "; boundary=x",
					ep.media + ", " + ep.media,
					"text/plain",
					other,
					"",
				} {
					resp := e.post(t, ep, ct, ep.body)
					b := readAll(t, resp)
					require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "Content-Type %q: %.300s", ct, b)
					if ep.oauth {
						assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
						assert.JSONEq(t, `"invalid_request"`, string(mustField(t, b, "error")), "Content-Type %q", ct)
					} else {
						assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
						assert.JSONEq(t, `"unsupported_media_type"`, string(mustField(t, b, "code")), "Content-Type %q", ct)
					}
				}
				// The media type itself, in any letter case and with
				// charset=utf-8, gets past the check.
				for _, ct := range []string{ep.media, strings.ToUpper(ep.media) + "; charset=UTF-8"} {
					resp := e.post(t, ep, ct, ep.body)
					readAll(t, resp)
					assert.NotEqual(t, http.StatusUnsupportedMediaType, resp.StatusCode, "Content-Type %q", ct)
				}
			})
		}
	})
}

// mustField returns the raw JSON of the member name of the object b.
func mustField(t *testing.T, b []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m), "%.300s", b)
	return m[name]
}
