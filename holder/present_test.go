package holder

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store/storetest"
)

// TestPresentationRequestsRefused: requests the wallet cannot read are
// refused with a code before anything is fetched.
func TestPresentationRequestsRefused(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{})
	tok := e.signUp("ada", "correct horse battery")
	for name, tc := range map[string]struct {
		body any
		code string
	}{
		"nothing":                    {map[string]any{}, "invalid_authorization_request"},
		"both forms":                 {map[string]any{"authorization_request_uri": "openid4vp://?client_id=x&request_uri=https://v.example/r", "request_uri": "https://v.example/r", "client_id": "x"}, "invalid_authorization_request"},
		"request_uri alone":          {map[string]any{"request_uri": "https://v.example/r"}, "invalid_authorization_request"},
		"another scheme":             {map[string]any{"authorization_request_uri": "https://v.example/?client_id=x"}, "invalid_request"},
		"by value":                   {map[string]any{"authorization_request_uri": "openid4vp://?client_id=decentralized_identifier:did:key:z6Mk&request=eyJ"}, "invalid_request"},
		"x509 client":                {map[string]any{"authorization_request_uri": "openid4vp://?client_id=x509_san_dns:v.example&request_uri=https%3A%2F%2Fv.example%2Fr"}, "invalid_client"},
		"request_uri on a private":   {map[string]any{"authorization_request_uri": "openid4vp://?client_id=decentralized_identifier:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK&request_uri=http%3A%2F%2F10.0.0.1%2Fr"}, "address_not_allowed"},
		"unknown member in the body": {map[string]any{"authorization_request_uri": "openid4vp://?client_id=x", "wallet": "y"}, "unknown_field"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/wallet/v1/presentations", tok, tc.body)
			assert.GreaterOrEqual(t, r.code, 400, string(r.body))
			assert.Less(t, r.code, 500, string(r.body))
			assert.Equal(t, tc.code, r.errCode(), string(r.body))
		})
	}
}

// TestHistoryFiltersAndExport: filters narrow the history, bad ones are
// refused, and the CSV export cannot smuggle a spreadsheet formula.
func TestHistoryFiltersAndExport(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{})
	tok := e.signUp("ada", "correct horse battery")
	a, err := e.svc.Authenticate(context.Background(), tok)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, e.svc.record(ctx, a, "online", Verifier{DID: "did:x:1", Name: "=HYPERLINK(\"http://evil\")"}, "c1", []string{"given_name"}, "shared"))
	e.clock.Add(time.Hour)
	require.NoError(t, e.svc.record(ctx, a, "offline", Verifier{DID: "did:x:2", Name: "Door"}, "c1", []string{"birth_date"}, "offline_qr"))

	var h struct{ History []HistoryEntry }
	r := e.do(http.MethodGet, "/wallet/v1/history?channel=offline", tok, nil)
	require.Equal(t, http.StatusOK, r.code)
	r.json(t, &h)
	require.Len(t, h.History, 1)
	assert.Equal(t, "did:x:2", h.History[0].Verifier)
	r = e.do(http.MethodGet, "/wallet/v1/history?to="+e.clock.Now().Add(-time.Minute).Format(time.RFC3339), tok, nil)
	r.json(t, &h)
	require.Len(t, h.History, 1)
	assert.Equal(t, "did:x:1", h.History[0].Verifier)
	for _, q := range []string{"channel=carrier-pigeon", "from=yesterday", "to=2026-13-01T00:00:00Z"} {
		r := e.do(http.MethodGet, "/wallet/v1/history?"+q, tok, nil)
		assert.Equal(t, http.StatusBadRequest, r.code, q)
		assert.Equal(t, "invalid_history_filter", r.errCode())
	}
	r = e.do(http.MethodGet, "/wallet/v1/history/export?format=xml", tok, nil)
	assert.Equal(t, "invalid_history_filter", r.errCode())

	r = e.do(http.MethodGet, "/wallet/v1/history/export?format=csv", tok, nil)
	require.Equal(t, http.StatusOK, r.code)
	assert.Equal(t, "text/csv; charset=utf-8", r.hdr.Get("Content-Type"))
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, []string{"id", "at", "channel", "verifier", "verifier_name", "credential_id", "claims", "outcome"}, rows[0])
	assert.Equal(t, `'=HYPERLINK("http://evil")`, rows[2][4], "a formula is defused")
	assert.Equal(t, "given_name", rows[2][6])
	r = e.do(http.MethodGet, "/wallet/v1/history/export", tok, nil)
	require.Equal(t, http.StatusOK, r.code)
	r.json(t, &h)
	assert.Len(t, h.History, 2)
}
