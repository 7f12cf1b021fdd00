package issuer

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// issuedRecord issues one credential to subjectRef and returns its record.
func (e *env) issuedRecord(subjectRef string) store.IssuedCredential {
	e.t.Helper()
	require.Len(e.t, e.issue("health", "vaccination-pass", subjectRef, vaccSubject, 1), 1)
	recs, err := e.st.ListCredentials(context.Background(), "health", subjectRef, 0)
	require.NoError(e.t, err)
	require.Len(e.t, recs, 1)
	return recs[0]
}

func (e *env) setStatus(tenantKey, id, action, reason string) (int, []byte) {
	e.t.Helper()
	code, b, _ := e.do("POST", "/issuer/v1/credentials/"+id+"/"+action, e.keys[tenantKey], map[string]any{"reason": reason}, "")
	return code, b
}

// servedStatus publishes, fetches the served list and returns rec's entry.
func (e *env) servedStatus(rec store.IssuedCredential) uint8 {
	e.t.Helper()
	_, err := e.svc.Publish(context.Background())
	require.NoError(e.t, err)
	code, b, _ := e.do("GET", "/status/"+rec.ListID, "", nil, "")
	require.Equal(e.t, http.StatusOK, code)
	tok := e.verifyList(string(b), e.srv.URL+"/status/"+rec.ListID)
	v, err := tok.List.Get(int(rec.Index))
	require.NoError(e.t, err)
	return v
}

// TestRevocation covers revoke, suspend and unsuspend: idempotent, each
// call audited, and the served list follows.
func TestRevocation(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		rec := e.issuedRecord("c1")
		assert.Equal(t, uint8(StatusValid), e.servedStatus(rec))

		steps := []struct {
			action  string
			code    int
			changed bool
			want    uint8
		}{
			{ActionSuspend, http.StatusOK, true, StatusSuspended},
			{ActionSuspend, http.StatusOK, false, StatusSuspended},
			{ActionUnsuspend, http.StatusOK, true, StatusValid},
			{ActionUnsuspend, http.StatusOK, false, StatusValid},
			{ActionRevoke, http.StatusOK, true, StatusRevoked},
			{ActionRevoke, http.StatusOK, false, StatusRevoked},
			{ActionUnsuspend, http.StatusConflict, false, StatusRevoked},
			{ActionSuspend, http.StatusConflict, false, StatusRevoked},
		}
		for i, s := range steps {
			code, b := e.setStatus("health/all", rec.ID, s.action, "test step")
			require.Equal(t, s.code, code, "step %d %s: %s", i, s.action, b)
			if code == http.StatusOK {
				var out struct{ Changed bool }
				require.NoError(t, json.Unmarshal(b, &out))
				assert.Equal(t, s.changed, out.Changed, "step %d", i)
			} else {
				assert.Equal(t, "status_conflict", errCode(b))
			}
			assert.Equal(t, s.want, e.servedStatus(rec), "step %d %s", i, s.action)
		}
		code, b := e.setStatus("health/all", rec.ID, ActionRevoke, "")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, "reason_required", errCode(b))

		recs, err := st.ListAudit(context.Background(), store.AuditFilter{TenantID: "health", Limit: 100})
		require.NoError(t, err)
		counts := map[string]int{}
		for _, r := range recs {
			counts[r.Action]++
		}
		assert.Equal(t, 2, counts["credential.suspend"], "every successful call is audited")
		assert.Equal(t, 2, counts["credential.unsuspend"])
		assert.Equal(t, 2, counts["credential.revoke"])
		assert.Equal(t, 1, counts["credential.issue"])
	})
}

// TestServedListE50toE53 holds the served list to what a verifier checks
// (issuer side of E50–E53): typ statuslist+jwt, sub = the credentials'
// uri, a valid signature, every index in range, bits in {1,2}, exp and
// ttl set; a tampered or retargeted copy fails as status_unverifiable.
func TestServedListE50toE53(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{})
	rec := e.issuedRecord("c1")
	_, err := e.svc.Publish(context.Background())
	require.NoError(t, err)
	code, b, _ := e.do("GET", "/status/"+rec.ListID, "", nil, "")
	require.Equal(t, http.StatusOK, code)
	tok := string(b)
	uri := e.srv.URL + "/status/" + rec.ListID

	j, err := jose.ParseUnverified(tok, 0)
	require.NoError(t, err)
	assert.Equal(t, statuslist.Typ, j.Header.Typ)
	v := e.verifyList(tok, uri)
	assert.Equal(t, uri, v.Subject)
	assert.Contains(t, []int{1, 2}, v.List.Bits())
	assert.Less(t, int(rec.Index), v.List.Len(), "E51: the index is in range")
	assert.True(t, v.ExpiresAt.After(v.IssuedAt), "E53: exp is set")
	assert.Positive(t, v.TTL)

	key := func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
		s := e.svc.tenants["health"].Signer
		return jose.PublicKey{Key: s.Public(), Alg: s.Algorithm()}, nil
	}
	cases := []struct {
		name, tok, uri string
		now            time.Time
	}{
		{"E50 bad signature", tok[:len(tok)-4] + "AAAA", uri, e.clock.Now()},
		{"E50 sub is not the credential's uri", tok, uri + "x", e.clock.Now()},
		{"E53 past exp", tok, uri, e.clock.Now().Add(25 * time.Hour)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := statuslist.Verify(c.tok, statuslist.VerifyOptions{URI: c.uri, Key: key, RequireExp: true,
				Now: func() time.Time { return c.now }})
			require.Error(t, err)
			assert.Equal(t, "status_unverifiable", errs.CodeOf(err))
		})
	}
	code, b, _ = e.do("GET", "/status/nope", "", nil, "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "status_list_not_found", errCode(b))
}

// TestAdminAuthorization covers E58: no key is 401; a key without
// credentials:revoke is 403 and the refusal is audited; across tenants 404.
func TestAdminAuthorization(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		rec := e.issuedRecord("c1")
		code, b, _ := e.do("POST", "/issuer/v1/credentials/"+rec.ID+"/revoke", "", map[string]any{"reason": "x"}, "")
		assert.Equal(t, http.StatusUnauthorized, code)
		assert.Equal(t, "unauthenticated", errCode(b))
		code, b = e.setStatus("health/issue", rec.ID, ActionRevoke, "x")
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, "insufficient_scope", errCode(b))
		code, b = e.setStatus("benefits/all", rec.ID, ActionRevoke, "x")
		assert.Equal(t, http.StatusNotFound, code)
		assert.Equal(t, "credential_not_found", errCode(b))
		code, b, _ = e.do("POST", "/issuer/v1/offers", e.keys["health/revoke"], map[string]any{"credential_configuration_id": "vaccination-pass"}, "")
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, "insufficient_scope", errCode(b))

		got, err := st.GetCredential(context.Background(), "health", rec.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusValid, got.Status, "nothing changed")
		recs, err := st.ListAudit(context.Background(), store.AuditFilter{TenantID: "health"})
		require.NoError(t, err)
		denied := 0
		for _, r := range recs {
			if r.Action == "authz.denied" {
				denied++
			}
		}
		assert.Equal(t, 2, denied, "refusals are audited")
	})
}

// TestRateLimits covers E59: token requests over the per-client limit get
// 429 with Retry-After.
func TestRateLimits(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{})
	var last int
	var hdr http.Header
	var body []byte
	for range e.svc.cfg.RatePerClient + 1 {
		last, body, hdr = e.do("POST", "/issuers/health/token", "", "grant_type="+strings.ReplaceAll(PreAuthGrant, ":", "%3A")+"&pre-authorized_code=guess", "application/x-www-form-urlencoded")
	}
	assert.Equal(t, http.StatusTooManyRequests, last)
	assert.Equal(t, "rate_limited", errCode(body))
	assert.NotEmpty(t, hdr.Get("Retry-After"))

	// Per code: a fresh client address is not needed to hit it, the code's
	// own budget (10 a minute) is smaller.
	e2 := newEnv(t, storetest.SQLite(t), envOpts{})
	w := e2.fetchOffer(e2.createOffer("health", "vaccination-pass", "c1", vaccSubject))
	for range e2.svc.cfg.RatePerCode {
		w.tokenWith("999999")
	}
	code, b := w.tokenWith(w.txCode)
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, "rate_limited", errCode(b))
}

// TestNewListWhenFull: when the open list has reached its allocation
// threshold, the next issuance opens a new list of at least 131,072
// entries.
func TestNewListWhenFull(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		first := e.issuedRecord("c1")
		_, err := st.ExecRaw(context.Background(), "UPDATE status_lists SET allocated = size / 2 WHERE id = $1", first.ListID)
		require.NoError(t, err)
		second := e.issuedRecord("c2")
		assert.NotEqual(t, first.ListID, second.ListID, "a new list was opened")
		l, err := st.GetStatusList(context.Background(), second.ListID)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, l.Size, 131072)
		third := e.issuedRecord("c3")
		assert.Equal(t, second.ListID, third.ListID, "the new list is used until it fills")
	})
}

// TestNoSecretsInLogs covers E60 for the issuer: after a full flow with
// failures on the way, the logs contain no tx_code, pre-authorized code,
// access token, proof, credential, disclosure or subject data.
func TestNoSecretsInLogs(t *testing.T) {
	var logs safeBuf
	e := newEnv(t, storetest.SQLite(t), envOpts{log: &logs})
	offer := e.createOffer("health", "vaccination-pass", "c1", vaccSubject)
	w := e.fetchOffer(offer)
	code, _ := w.tokenWith("000000")
	require.Equal(t, http.StatusBadRequest, code)
	code, b := w.tokenWith(w.txCode)
	require.Equal(t, http.StatusOK, code, string(b))
	h, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	bad := w.proof(h, "stale-nonce", nil)
	code, _ = w.credential(map[string]any{"credential_configuration_id": "vaccination-pass", "proofs": map[string]any{"jwt": []string{bad}}})
	require.Equal(t, http.StatusBadRequest, code)
	creds := w.batch(1)
	require.NotEmpty(t, logs.String(), "the logger was used")
	parts := strings.Split(creds[0], "~")
	for name, secret := range map[string]string{
		"tx_code": offer.TxCode, "pre-authorized code": w.code, "access token": w.token, "proof": bad,
		"credential JWT": parts[0], "disclosure": parts[1], "subject data": "Lovelace", "API key": e.keys["health/all"],
	} {
		assert.NotContains(t, logs.String(), secret, "the logs contain the %s", name)
	}
}

// safeBuf is a goroutine-safe log sink.
type safeBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *safeBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRunDropsStaleSubjectData: the background worker clears the subject
// data of an offer whose code expired unredeemed.
func TestRunDropsStaleSubjectData(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{})
	v := e.createOffer("health", "vaccination-pass", "c1", vaccSubject)
	o, err := e.st.GetOffer(context.Background(), v.ID)
	require.NoError(t, err)
	require.NotNil(t, o.SubjectData)
	e.clock.Add(11 * time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err = e.st.GetOffer(context.Background(), v.ID)
		require.NoError(t, err)
		if o.SubjectData == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "the subject data was not dropped")
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}
