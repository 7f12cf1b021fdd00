package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/store"
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
