package issuer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
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
// ttl set; and the core verifier refuses every tampered copy of it as
// status_unverifiable: a bad signature, typ other than statuslist+jwt, sub
// other than the credential's uri (E50), bits outside {1,2,4,8} or a zlib
// bomb (E52, even signed with the issuer's own key), a list past its exp
// (E53), and a list that shows a revoked credential valid, signed by
// another key (E50: refused for its signature, while the same content
// signed with the issuer's key would verify, so a revoked credential
// never passes on a forged list). An index beyond the list is refused
// (E51).
func TestServedListE50toE53(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
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
		for _, idx := range []int{v.List.Len(), -1} {
			_, err := v.List.Get(idx)
			assert.ErrorIs(t, err, statuslist.ErrIndexRange, "E51: index %d is refused", idx)
		}

		signer := e.svc.tenants["health"].Signer
		key := func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
			return jose.PublicKey{Key: signer.Public(), Alg: signer.Algorithm()}, nil
		}
		// resign re-signs from (a served token) with s after mutate changed
		// its header and claims; t is the (sub)test that calls it.
		resign := func(t *testing.T, from string, s keys.Signer, mutate func(h, c map[string]any)) string {
			t.Helper()
			var h, c map[string]any
			parts := strings.Split(from, ".")
			require.Len(t, parts, 3)
			hb, err := b64dec(parts[0])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(hb, &h))
			require.NoError(t, json.Unmarshal(payloadOf(t, from), &c))
			delete(h, "alg")
			mutate(h, c)
			payload, err := json.Marshal(c)
			require.NoError(t, err)
			out, err := jose.Sign(s, h, payload)
			require.NoError(t, err)
			return out
		}
		same := resign(t, tok, signer, func(_, _ map[string]any) {})
		_, err = statuslist.Verify(same, statuslist.VerifyOptions{URI: uri, Key: key, RequireExp: true, Now: e.clock.Now})
		require.NoError(t, err, "a copy re-signed unchanged verifies: each case below fails for its one defect")
		bomb, err := (func() (string, error) {
			l, err := statuslist.FromBytes(1, make([]byte, 8<<20)) // 64 Mi entries, all valid: inflates past the cap
			if err != nil {
				return "", err
			}
			return l.Encode()
		})()
		require.NoError(t, err)

		cases := []struct {
			name, tok, uri string
			now            time.Time
			cause          error // the precise cause, when the case has one
		}{
			{"E50 bad signature", tok[:len(tok)-4] + "AAAA", uri, e.clock.Now(), jose.ErrInvalidSignature},
			{"E50 typ is not statuslist+jwt", resign(t, tok, signer, func(h, _ map[string]any) { h["typ"] = "JWT" }), uri, e.clock.Now(), nil},
			{"E50 no typ", resign(t, tok, signer, func(h, _ map[string]any) { delete(h, "typ") }), uri, e.clock.Now(), nil},
			{"E50 sub is not the credential's uri", tok, uri + "x", e.clock.Now(), nil},
			{"E50 sub changed in the token", resign(t, tok, signer, func(_, c map[string]any) { c["sub"] = uri + "x" }), uri, e.clock.Now(), nil},
			{"E52 bits 3", resign(t, tok, signer, func(_, c map[string]any) { c["status_list"].(map[string]any)["bits"] = 3 }), uri, e.clock.Now(), statuslist.ErrInvalidBits},
			{"E52 zlib bomb", resign(t, tok, signer, func(_, c map[string]any) { c["status_list"].(map[string]any)["lst"] = bomb }), uri, e.clock.Now(), statuslist.ErrListTooLarge},
			{"E53 past exp", tok, uri, e.clock.Now().Add(25 * time.Hour), jose.ErrExpired},
			{"E53 no exp", resign(t, tok, signer, func(_, c map[string]any) { delete(c, "exp") }), uri, e.clock.Now(), nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := statuslist.Verify(c.tok, statuslist.VerifyOptions{URI: c.uri, Key: key, RequireExp: true,
					Now: func() time.Time { return c.now }})
				require.Error(t, err)
				assert.Equal(t, "status_unverifiable", errs.CodeOf(err))
				if c.cause != nil {
					assert.ErrorIs(t, err, c.cause)
				}
			})
		}

		// The forgery a revoked holder needs: the served list with its
		// revocation cleared, everything else (typ, kid, sub, iat, exp,
		// ttl, bits, size) the issuer's. Signed by another key under the
		// issuer's kid, it must fail for the signature alone: the control
		// re-signs the very same content with the issuer's key, which
		// verifies and shows the credential valid, so the key is the
		// forgery's one defect, and the refusal is what keeps the revoked
		// credential from passing (E50).
		t.Run("E50 a revoked credential's list forged valid", func(t *testing.T) {
			e := e.in(t)
			code, b := e.setStatus("health/all", rec.ID, ActionRevoke, "lost")
			require.Equal(t, http.StatusOK, code, string(b))
			assert.Equal(t, uint8(StatusRevoked), e.servedStatus(rec), "the served list shows the revocation")
			code, b, _ = e.do("GET", "/status/"+rec.ListID, "", nil, "")
			require.Equal(t, http.StatusOK, code)
			revoked := string(b)
			other, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			clean, err := statuslist.New(v.List.Bits(), v.List.Len())
			require.NoError(t, err)
			lst, err := clean.Encode()
			require.NoError(t, err)
			unrevoke := func(_, c map[string]any) { c["status_list"].(map[string]any)["lst"] = lst }
			opts := statuslist.VerifyOptions{URI: uri, Key: key, RequireExp: true, Now: e.clock.Now}

			control, err := statuslist.Verify(resign(t, revoked, signer, unrevoke), opts)
			require.NoError(t, err, "the forged content signed with the issuer's key verifies")
			got, err := control.List.Get(int(rec.Index))
			require.NoError(t, err)
			assert.Equal(t, uint8(StatusValid), got, "and shows the revoked credential valid")

			_, err = statuslist.Verify(resign(t, revoked, other, unrevoke), opts)
			require.Error(t, err)
			assert.Equal(t, "status_unverifiable", errs.CodeOf(err))
			assert.ErrorIs(t, err, jose.ErrInvalidSignature, "refused for its signature")
		})

		code, b, _ = e.do("GET", "/status/nope", "", nil, "")
		assert.Equal(t, http.StatusNotFound, code)
		assert.Equal(t, "status_list_not_found", errCode(b))
	})
}

// TestListTTLClamped is the issuer side of E53: whatever ListTTL says,
// the ttl of a served list, and its Cache-Control max-age, stay within the
// range verifiers clamp ttl to (statuslist.DefaultMinTTL to
// DefaultMaxTTL) and never exceed half the list's validity, when the list
// is re-signed.
func TestListTTLClamped(t *testing.T) {
	cases := []struct {
		name          string
		ttl, validity time.Duration
		want          time.Duration
	}{
		{"default", 0, 0, time.Minute},
		{"too short", time.Second, 0, statuslist.DefaultMinTTL},
		{"negative", -time.Hour, 0, time.Minute},
		{"in range", 10 * time.Minute, 0, 10 * time.Minute},
		{"too long", 30 * 24 * time.Hour, 48 * time.Hour, statuslist.DefaultMaxTTL},
		{"longer than half the list's life", 12 * time.Hour, 2 * time.Hour, time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, storetest.SQLite(t), envOpts{config: func(cfg *Config) { cfg.ListTTL, cfg.ListValidity = c.ttl, c.validity }})
			rec := e.issuedRecord("c1")
			_, err := e.svc.Publish(context.Background())
			require.NoError(t, err)
			code, b, h := e.do("GET", "/status/"+rec.ListID, "", nil, "")
			require.Equal(t, http.StatusOK, code)
			var claims struct {
				TTL int64 `json:"ttl"`
			}
			require.NoError(t, json.Unmarshal(payloadOf(t, string(b)), &claims))
			assert.Equal(t, int64(c.want/time.Second), claims.TTL, "the published ttl")
			assert.Equal(t, "max-age="+strconv.Itoa(int(c.want/time.Second)), h.Get("Cache-Control"))
		})
	}
}

// TestAdminAuthorization covers E58: no key or a bad key is 401; a key
// without credentials:revoke is 403 for revoke, suspend and unsuspend, and
// each refusal is audited (authz.denied, naming the route); across
// tenants 404. Nothing changes: the status stays valid, the list counts no
// change, and no status action is audited.
func TestAdminAuthorization(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		rec := e.issuedRecord("c1")
		l, err := st.GetStatusList(context.Background(), rec.ListID)
		require.NoError(t, err)
		seq := l.ChangeSeq
		denied := func(t *testing.T, tenant string) []store.AuditRecord {
			t.Helper()
			recs, err := st.ListAudit(context.Background(), store.AuditFilter{TenantID: tenant})
			require.NoError(t, err)
			var out []store.AuditRecord
			for _, r := range recs {
				if r.Action == "authz.denied" {
					out = append(out, r)
				}
			}
			return out
		}
		cases := []struct {
			name, auth string // auth: a key of e.keys, or a literal key when not one
			code       int
			want       string
			audited    bool // an authz.denied record in health's log
		}{
			{"no key", "", http.StatusUnauthorized, "unauthenticated", false},
			{"a malformed key", "not-a-key", http.StatusUnauthorized, "unauthenticated", false},
			{"an unknown key", "ssi_0123456789abcdef_" + strings.Repeat("A", 43), http.StatusUnauthorized, "unauthenticated", false},
			{"a key without credentials:revoke", "health/issue", http.StatusForbidden, "insufficient_scope", true},
			{"another tenant's key", "benefits/all", http.StatusNotFound, "credential_not_found", false},
		}
		wantDenied := 0
		for _, c := range cases {
			for _, a := range []string{ActionRevoke, ActionSuspend, ActionUnsuspend} {
				t.Run(c.name+" "+a, func(t *testing.T) {
					e := e.in(t)
					key, ok := e.keys[c.auth]
					if !ok {
						key = c.auth
					}
					code, b, _ := e.do("POST", "/issuer/v1/credentials/"+rec.ID+"/"+a, key, map[string]any{"reason": "x"}, "")
					assert.Equal(t, c.code, code)
					assert.Equal(t, c.want, errCode(b))
					if c.audited {
						wantDenied++
						d := denied(t, "health")
						if assert.Len(t, d, wantDenied, "the refusal is audited") {
							last := d[0] // ListAudit lists the newest first
							assert.Equal(t, "POST /issuer/v1/credentials/{id}/"+a, last.Target)
							assert.Equal(t, "denied", last.Outcome)
						}
					}
				})
			}
		}
		code, b, _ := e.do("POST", "/issuer/v1/offers", e.keys["health/revoke"], map[string]any{"credential_configuration_id": "vaccination-pass"}, "")
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, "insufficient_scope", errCode(b))
		wantDenied++

		got, err := st.GetCredential(context.Background(), "health", rec.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusValid, got.Status, "nothing changed")
		l, err = st.GetStatusList(context.Background(), rec.ListID)
		require.NoError(t, err)
		assert.Equal(t, seq, l.ChangeSeq, "the list counts no change")
		assert.Len(t, denied(t, "health"), wantDenied, "refusals are audited")
		assert.Empty(t, denied(t, "benefits"), "a cross-tenant miss is not the caller's authorization failure")
		assert.Zero(t, countWhere(t, st, "audit", "target = $1", rec.ID), "no status action audited")
	})
}

// TestRateLimits covers E59: token requests over the per-client or the
// per-code limit, and nonce requests over the per-client limit, get 429
// with a Retry-After of at most a minute, and the refused request changes
// nothing (no attempt counted, no token issued, no nonce stored).
func TestRateLimits(t *testing.T) {
	// A budget of 60 rather than the default (DefaultRatePerClient, 1,200),
	// so that spending it takes 60 requests.
	perClient := envOpts{config: func(c *Config) { c.RatePerClient = 60 }}
	t.Run("per client", func(t *testing.T) {
		backends(t, func(t *testing.T, st *store.Store) {
			e := newEnv(t, st, perClient)
			v := e.createOffer("health", "vaccination-pass", "c0", vaccSubject)
			w := e.fetchOffer(v)
			for i := range e.svc.cfg.RatePerClient { // each guess a new code: the per-code limit is not hit
				code, b, _ := e.do("POST", "/issuers/health/token", "", "grant_type="+strings.ReplaceAll(PreAuthGrant, ":", "%3A")+"&pre-authorized_code=guess-"+strconv.Itoa(i), "application/x-www-form-urlencoded")
				require.Equal(t, http.StatusBadRequest, code, string(b))
			}
			// Over the limit even with the right code and tx_code.
			refusedThenServed(t, e, st, w, v.ID, 0)
		})
	})
	t.Run("per code", func(t *testing.T) {
		backends(t, func(t *testing.T, st *store.Store) {
			// A fresh client address is not needed to hit it: the code's own
			// budget is smaller. Three a minute here, so that the code is
			// still alive (under its five tx_code attempts) when refused.
			e := newEnv(t, st, envOpts{config: func(c *Config) { c.RatePerCode = 3 }})
			v := e.createOffer("health", "vaccination-pass", "c1", vaccSubject)
			w := e.fetchOffer(v)
			wrong := "000000"
			if w.txCode == wrong {
				wrong = "111111"
			}
			for range e.svc.cfg.RatePerCode {
				code, b := w.tokenWith(wrong)
				require.Equal(t, http.StatusBadRequest, code, string(b))
			}
			refusedThenServed(t, e, st, w, v.ID, e.svc.cfg.RatePerCode)
		})
	})
	t.Run("nonces per client", func(t *testing.T) {
		backends(t, func(t *testing.T, st *store.Store) {
			e := newEnv(t, st, perClient)
			before := countWhere(t, st, "single_use", "kind = 'c_nonce'")
			for range e.svc.cfg.RatePerClient {
				code, b, _ := e.do("POST", "/issuers/health/nonce", "", nil, "")
				require.Equal(t, http.StatusOK, code, string(b))
			}
			code, b, h := e.do("POST", "/issuers/health/nonce", "", nil, "")
			assert.Equal(t, http.StatusTooManyRequests, code)
			assert.Equal(t, "rate_limited", errCode(b))
			retryAfter(t, h)
			assert.Equal(t, before+int64(e.svc.cfg.RatePerClient), countWhere(t, st, "single_use", "kind = 'c_nonce'"), "no nonce stored for the refused request")
		})
	})
}

// retryAfter asserts a Retry-After of 1 to 61 seconds.
func retryAfter(t *testing.T, h http.Header) {
	t.Helper()
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if assert.NoError(t, err, "Retry-After is a number of seconds") {
		assert.True(t, secs >= 1 && secs <= 61, "Retry-After %d", secs)
	}
}

// refusedThenServed: w's token request with the right code and tx_code is
// refused with 429 while over a limit, counts no attempt beyond the
// attempts made before it and issues no token; a minute later the same
// request is served.
func refusedThenServed(t *testing.T, e *env, st *store.Store, w *wallet, offerID string, attempts int) {
	t.Helper()
	form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {w.code}, "tx_code": {w.txCode}}.Encode()
	code, b, h := e.do("POST", w.path("/token"), "", form, "application/x-www-form-urlencoded")
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, "rate_limited", errCode(b))
	retryAfter(t, h)
	o, err := st.GetOffer(context.Background(), offerID)
	require.NoError(t, err)
	assert.Equal(t, attempts, o.Attempts, "a refused request counts no attempt")
	assert.Nil(t, o.TokenHash, "and issues no token")
	e.clock.Add(time.Minute)
	code, b = w.tokenWith(w.txCode)
	assert.Equal(t, http.StatusOK, code, "the next window serves the code: %s", b)
}

// TestNewListWhenFull: when the open list has reached its allocation
// threshold, the next issuance opens a new list of at least 131,072
// entries.
func TestNewListWhenFull(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		first := e.issuedRecord("c1")
		_, err := store.Raw(st).Exec(context.Background(), "UPDATE status_lists SET allocated = size / 2 WHERE id = $1", first.ListID)
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

// TestStatusListIndex: GET /status?issuer=DID names the issuer's status
// lists once a version is published (a list only allocated is not), none
// of another tenant's, none for a DID of no tenant; without a DID it is
// invalid_issuer_parameter.
func TestStatusListIndex(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		index := func(iss string) []string {
			t.Helper()
			code, b, _ := e.do("GET", "/status?"+url.Values{"issuer": {iss}}.Encode(), "", nil, "")
			require.Equal(t, http.StatusOK, code, string(b))
			var out struct {
				Issuer string   `json:"issuer"`
				Lists  []string `json:"status_lists"`
			}
			require.NoError(t, json.Unmarshal(b, &out))
			assert.Equal(t, iss, out.Issuer)
			require.NotNil(t, out.Lists, "an empty index is [], not null")
			return out.Lists
		}
		rec := e.issuedRecord("c1")
		assert.Empty(t, index(e.dids["health"]), "allocated, not yet published")
		e.servedStatus(rec) // publishes
		assert.Equal(t, []string{e.srv.URL + "/status/" + rec.ListID}, index(e.dids["health"]))
		assert.Empty(t, index(e.dids["benefits"]), "another tenant's DID")
		assert.Empty(t, index("did:key:zUnknown"))
		for _, q := range []string{"", "?issuer=", "?issuer=https://issuer.example"} {
			code, b, _ := e.do("GET", "/status"+q, "", nil, "")
			assert.Equal(t, http.StatusBadRequest, code, q)
			assert.Equal(t, "invalid_issuer_parameter", errCode(b), q)
		}
	})
}
