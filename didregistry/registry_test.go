package didregistry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

type resolution struct {
	Document struct {
		ID                 string `json:"id"`
		VerificationMethod []struct {
			ID string `json:"id"`
		} `json:"verificationMethod"`
		AssertionMethod []string `json:"assertionMethod"`
	} `json:"didDocument"`
	Metadata struct {
		VersionID   string       `json:"versionId"`
		Created     time.Time    `json:"created"`
		Updated     time.Time    `json:"updated"`
		Deactivated bool         `json:"deactivated"`
		Anchor      AnchorStatus `json:"anchor"`
	} `json:"didDocumentMetadata"`
	ResolutionMetadata struct {
		ContentType string `json:"contentType"`
		Error       string `json:"error"`
	} `json:"didResolutionMetadata"`
}

func (e *env) resolve(didStr, query string) (int, resolution, []byte) {
	e.t.Helper()
	code, body, _ := e.do(http.MethodGet, "/1.0/identifiers/"+didStr+query, "", nil)
	var r resolution
	if code == http.StatusOK || code == http.StatusGone {
		require.NoError(e.t, json.Unmarshal(body, &r), string(body))
	}
	return code, r, body
}

func methodIDs(r resolution) []string {
	var out []string
	for _, vm := range r.Document.VerificationMethod {
		out = append(out, vm.ID[strings.IndexByte(vm.ID, '#')+1:])
	}
	return out
}

// TestDIDLifecycle is acceptance 1 and 2 of the registry issue: create →
// rotate → deactivate over HTTP; every version resolvable and anchored with
// a verifying receipt; non-controller and stale updates refused; a
// tampered row refused.
func TestDIDLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctl, sign1, sign2 := newSigner(t), newSigner(t), newSigner(t)
		vm1, err := VMFor("sign-1", sign1, PurposeAssertionMethod)
		require.NoError(t, err)
		tok, didStr, err := SignCreate(ctl, "ctl-1", []VMInput{vm1}, []ServiceInput{{ID: "status", Type: "StatusList", ServiceEndpoint: "https://health.example/status"}})
		require.NoError(t, err)

		code, body, hdr := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
		require.Equal(t, http.StatusCreated, code, string(body))
		assert.Equal(t, "/1.0/identifiers/"+didStr, hdr.Get("Location"))
		code, body, _ = e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
		assert.Equal(t, http.StatusConflict, code)
		assert.Equal(t, "did_exists", problemCode(body))

		// Rotate: add sign-2, retire sign-1.
		e.clock.Add(time.Hour)
		vm2, err := VMFor("sign-2", sign2, PurposeAssertionMethod)
		require.NoError(t, err)
		rotate := Operation{Op: "update", DID: didStr, Version: 2, AddVerificationMethod: []VMInput{vm2}, RetireVerificationMethod: []string{"sign-1"}}
		opTok, err := SignOp(ctl, "ctl-1", rotate)
		require.NoError(t, err)

		// Another tenant cannot even see the DID to update it.
		code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "benefits", map[string]string{"operation": opTok})
		assert.Equal(t, http.StatusNotFound, code)
		assert.Equal(t, "did_not_found", problemCode(body))

		code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "health", map[string]string{"operation": opTok})
		require.Equal(t, http.StatusOK, code, string(body))

		// Acceptance 2: a non-controller key is 403, whether it names itself
		// or claims a controller's kid; a stale version is 409.
		v3 := Operation{Op: "update", DID: didStr, Version: 3, Service: &[]ServiceInput{}}
		for name, tokf := range map[string]func() (string, error){
			"assertion key names itself":      func() (string, error) { return SignOp(sign2, "sign-2", v3) },
			"assertion key claims controller": func() (string, error) { return SignOp(sign2, "ctl-1", v3) },
			"retired key":                     func() (string, error) { return SignOp(sign1, "sign-1", v3) },
			"unrelated key":                   func() (string, error) { return SignOp(newSigner(t), "ctl-1", v3) },
		} {
			t.Run(name, func(t *testing.T) {
				bad, err := tokf()
				require.NoError(t, err)
				code, body, _ := e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "health", map[string]string{"operation": bad})
				assert.Equal(t, http.StatusForbidden, code, string(body))
				assert.Equal(t, "not_controller", problemCode(body))
			})
		}
		stale, err := SignOp(ctl, "ctl-1", Operation{Op: "update", DID: didStr, Version: 2, Service: &[]ServiceInput{}})
		require.NoError(t, err)
		code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "health", map[string]string{"operation": stale})
		assert.Equal(t, http.StatusConflict, code)
		assert.Equal(t, "stale_version", problemCode(body))

		// Deactivate.
		e.clock.Add(time.Hour)
		deact, err := SignOp(ctl, "ctl-1", Operation{Op: "deactivate", DID: didStr, Version: 3})
		require.NoError(t, err)
		code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "health", map[string]string{"operation": deact})
		require.Equal(t, http.StatusOK, code, string(body))
		after, err := SignOp(ctl, "ctl-1", Operation{Op: "update", DID: didStr, Version: 4, Service: &[]ServiceInput{}})
		require.NoError(t, err)
		code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "health", map[string]string{"operation": after})
		assert.Equal(t, http.StatusConflict, code)
		assert.Equal(t, "did_already_deactivated", problemCode(body))

		// Every version is anchored, with a receipt that verifies offline
		// against the validator set alone.
		for v := uint64(1); v <= 3; v++ {
			rc := e.waitAnchored(trust.KindDIDDocument, didStr, v)
			require.NoError(t, trust.VerifyReceipt(rc, e.ledger.Trust), "receipt of version %d", v)
		}

		// Historical resolution.
		code, r1, _ := e.resolve(didStr, "?versionId=1")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "1", r1.Metadata.VersionID)
		assert.ElementsMatch(t, []string{"ctl-1", "sign-1"}, methodIDs(r1))
		assert.Equal(t, "anchored", r1.Metadata.Anchor.Status)
		require.NotNil(t, r1.Metadata.Anchor.Receipt)
		require.NoError(t, trust.VerifyReceipt(r1.Metadata.Anchor.Receipt, e.ledger.Trust), "the served receipt verifies")

		code, r2, _ := e.resolve(didStr, "?versionId=2")
		require.Equal(t, http.StatusOK, code)
		assert.ElementsMatch(t, []string{"ctl-1", "sign-2"}, methodIDs(r2))
		assert.Equal(t, r1.Metadata.Created, r2.Metadata.Created)
		assert.True(t, r2.Metadata.Updated.After(r1.Metadata.Updated))

		between := url.QueryEscape(r1.Metadata.Updated.Add(30 * time.Minute).Format(time.RFC3339Nano))
		code, rt, _ := e.resolve(didStr, "?versionTime="+between)
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "1", rt.Metadata.VersionID, "versionTime picks the version in force then")

		code, latest, _ := e.resolve(didStr, "")
		assert.Equal(t, http.StatusGone, code)
		assert.True(t, latest.Metadata.Deactivated)
		assert.Equal(t, "deactivated", latest.ResolutionMetadata.Error)
		assert.Empty(t, latest.Document.VerificationMethod)

		// Tamper with version 2 behind the registry's back, keeping the row
		// self-consistent: only the ledger can tell, and it does.
		var forged State
		raw, err := store.Raw(st).QueryBytes(context.Background(), "SELECT state FROM did_versions WHERE did = $1 AND version = 2", didStr)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &forged))
		forged.Services = []ServiceInput{{ID: "status", Type: "StatusList", ServiceEndpoint: "https://attacker.example/status"}}
		doc, err := forged.DocumentBytes()
		require.NoError(t, err)
		fs, _ := json.Marshal(forged)
		sum := sha256.Sum256(doc)
		n, err := store.Raw(st).Exec(context.Background(), "UPDATE did_versions SET document = $1, state = $2, sha256 = $3 WHERE did = $4 AND version = 2",
			doc, fs, hex.EncodeToString(sum[:]), didStr)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		code, _, body = e.resolve(didStr, "?versionId=2")
		assert.Equal(t, http.StatusConflict, code)
		assert.Equal(t, "anchor_mismatch", problemCode(body))
		assert.NotContains(t, string(body), "attacker.example", "the tampered document is never served")
	})
}

func TestUpdateWithTamperedStateIsRefused(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	ctl := newSigner(t)
	tok, didStr, err := SignCreate(ctl, "ctl-1", nil, nil)
	require.NoError(t, err)
	code, body, _ := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
	require.Equal(t, http.StatusCreated, code, string(body))
	e.waitAnchored(trust.KindDIDDocument, didStr, 1)

	// An attacker adds their own controller key to the stored state only.
	evil := newSigner(t)
	var st State
	raw, err := store.Raw(e.st).QueryBytes(context.Background(), "SELECT state FROM did_versions WHERE did = $1 AND version = 1", didStr)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &st))
	ej, err := keys.JWKFromPublic(evil.Public())
	require.NoError(t, err)
	st.Keys = append(st.Keys, Key{ID: "evil", JWK: ej, Purposes: []string{PurposeCapabilityInvocation}, AddedIn: 1})
	b, _ := json.Marshal(st)
	_, err = store.Raw(e.st).Exec(context.Background(), "UPDATE did_versions SET state = $1 WHERE did = $2", b, didStr)
	require.NoError(t, err)

	op, err := SignOp(evil, "evil", Operation{Op: "deactivate", DID: didStr, Version: 2})
	require.NoError(t, err)
	code, body, _ = e.do(http.MethodPost, "/registry/v1/dids/"+didStr+"/operations", "health", map[string]string{"operation": op})
	assert.Equal(t, http.StatusConflict, code)
	assert.Equal(t, "anchor_mismatch", problemCode(body))
	_, err = e.st.GetDIDVersion(context.Background(), didStr, 2)
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing was stored")
}

// TestAccreditationOverTime is acceptance 3: answers before, during and
// after the validity window, and after revocation (which does not rewrite
// the past).
func TestAccreditationOverTime(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		issuer := "did:psr:" + strings.Repeat("A", 44)
		vct := "https://health.example/vaccination"
		from := e.clock.Now().Add(24 * time.Hour)
		until := from.Add(30 * 24 * time.Hour)

		// Only registry operators accredit.
		code, body, _ := e.do(http.MethodPost, "/registry/v1/accreditations", "health",
			map[string]any{"issuer": issuer, "vct": []string{vct}, "valid_from": from, "valid_until": until})
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, "insufficient_scope", problemCode(body))

		code, body, _ = e.do(http.MethodPost, "/registry/v1/accreditations", "operator",
			map[string]any{"issuer": issuer, "vct": []string{vct}, "valid_from": from, "valid_until": until})
		require.Equal(t, http.StatusCreated, code, string(body))
		var created struct{ Record Accreditation }
		require.NoError(t, json.Unmarshal(body, &created))
		id := created.Record.ID

		check := func(at time.Time, v string) (bool, string) {
			t.Helper()
			q := url.Values{"issuer": {issuer}, "vct": {v}, "at": {at.Format(time.RFC3339Nano)}}
			code, body, _ := e.do(http.MethodGet, "/registry/v1/trust/issuers?"+q.Encode(), "", nil)
			require.Equal(t, http.StatusOK, code, string(body))
			var d Decision
			require.NoError(t, json.Unmarshal(body, &d))
			return d.Accredited, d.Status
		}
		before := from.Add(-time.Hour)
		during := from.Add(time.Hour)
		afterWindow := until.Add(time.Hour)
		ok, _ := check(before, vct)
		assert.False(t, ok, "before the window")
		ok, _ = check(during, vct)
		assert.True(t, ok, "during the window")
		ok, status := check(afterWindow, vct)
		assert.False(t, ok, "after the window")
		assert.Equal(t, "outside_validity", status)
		ok, _ = check(during, "https://other.example/vct")
		assert.False(t, ok, "another vct")

		// Suspend then reinstate then revoke, each at its own instant.
		e.clock.Set(during.Add(time.Hour))
		code, body, _ = e.do(http.MethodPost, "/registry/v1/accreditations/"+id+"/suspend", "operator", map[string]string{"reason": "audit"})
		require.Equal(t, http.StatusOK, code, string(body))
		ok, status = check(during.Add(2*time.Hour), vct)
		assert.False(t, ok)
		assert.Equal(t, StatusSuspended, status)
		e.clock.Set(during.Add(3 * time.Hour))
		code, _, _ = e.do(http.MethodPost, "/registry/v1/accreditations/"+id+"/reinstate", "operator", map[string]string{"reason": "cleared"})
		require.Equal(t, http.StatusOK, code)
		ok, _ = check(during.Add(4*time.Hour), vct)
		assert.True(t, ok)
		revokedAt := during.Add(5 * time.Hour)
		e.clock.Set(revokedAt)
		code, _, _ = e.do(http.MethodPost, "/registry/v1/accreditations/"+id+"/revoke", "operator", map[string]string{"reason": "withdrawn"})
		require.Equal(t, http.StatusOK, code)
		ok, status = check(revokedAt.Add(time.Minute), vct)
		assert.False(t, ok, "after revocation")
		assert.Equal(t, StatusRevoked, status)
		ok, _ = check(during, vct)
		assert.True(t, ok, "revocation does not rewrite the past")
		code, body, _ = e.do(http.MethodPost, "/registry/v1/accreditations/"+id+"/reinstate", "operator", map[string]string{})
		assert.Equal(t, http.StatusConflict, code)
		assert.Equal(t, "record_revoked", problemCode(body))

		// Every version is anchored and the record read verifies.
		for v := uint64(1); v <= 4; v++ {
			rc := e.waitAnchored(trust.KindAccreditation, "https://registry.example/registry/v1/accreditations/"+id, v)
			require.NoError(t, trust.VerifyReceipt(rc, e.ledger.Trust))
		}
		code, body, _ = e.do(http.MethodGet, "/registry/v1/accreditations/"+id+"?version=1", "", nil)
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, string(body), `"status":"anchored"`)

		// Every change is audited in the operator's log.
		recs, err := st.ListAudit(context.Background(), store.AuditFilter{TenantID: "operator", Limit: 100})
		require.NoError(t, err)
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action)
		}
		for _, a := range []string{"accreditation.create", "accreditation.suspend", "accreditation.reinstate", "accreditation.revoke"} {
			assert.Contains(t, actions, a)
		}
	})
}

// TestHostileInputs is acceptance 4: every route answers 400 or 404 with a
// problem code, never 500, and stores nothing.
func TestHostileInputs(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	privJWK := base64.RawURLEncoding.EncodeToString([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`))
	cases := []struct {
		name, path string
		codes      []int
	}{
		{"malformed DID", "/1.0/identifiers/not-a-did", []int{400}},
		{"empty method", "/1.0/identifiers/did::abc", []int{400}},
		{"10 KB DID", "/1.0/identifiers/did:psr:" + strings.Repeat("A", 10_000), []int{400}},
		{"unknown method", "/1.0/identifiers/did:nosuch:abc", []int{400}},
		{"psr with a bad id", "/1.0/identifiers/did:psr:0OIl", []int{400}},
		{"psr that does not exist", "/1.0/identifiers/did:psr:" + strings.Repeat("A", 44), []int{404}},
		{"did:jwk with a private key", "/1.0/identifiers/did:jwk:" + privJWK, []int{400}},
		{"did:web at loopback", "/1.0/identifiers/did:web:127.0.0.1", []int{400}},
		{"did:web at metadata address", "/1.0/identifiers/did:web:169.254.169.254", []int{400}},
		{"did:web at localhost", "/1.0/identifiers/did:web:localhost%3A8080", []int{400}},
		{"NUL in DID", "/1.0/identifiers/did:key:z6Mk%00", []int{400}},
		{"SQL in DID", "/1.0/identifiers/did:psr:'%20OR%201=1--", []int{400}},
		{"bad versionId", "/1.0/identifiers/did:psr:" + strings.Repeat("A", 44) + "?versionId=-1", []int{400}},
		{"bad versionTime", "/1.0/identifiers/did:psr:" + strings.Repeat("A", 44) + "?versionTime=yesterday", []int{400}},
		{"versionId on did:key", "/1.0/identifiers/did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp?versionId=1", []int{400}},
		{"unknown accreditation", "/registry/v1/accreditations/acc_nope", []int{404}},
		{"accreditation bad version", "/registry/v1/accreditations/acc_x?version=zero", []int{400}},
		{"issuer check without issuer", "/registry/v1/trust/issuers?vct=x", []int{400}},
		{"issuer check with a bad time", "/registry/v1/trust/issuers?issuer=did:key:z6Mk&vct=x&at=soon", []int{400}},
		{"rp check with bad DID", "/registry/v1/trust/relying-parties?verifier=nope&vct=x", []int{400}},
		{"accreditations of a bad issuer", "/registry/v1/accreditations?issuer=did:", []int{400}},
		{"unknown registration", "/registry/v1/relying-parties/rp_nope", []int{404}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, hdr := e.do(http.MethodGet, tc.path, "", nil)
			assert.Contains(t, tc.codes, code, string(body))
			assert.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
			assert.NotEmpty(t, problemCode(body))
		})
	}

	writes := []struct {
		name, path, tenant string
		body               any
		code               string
	}{
		{"create with garbage", "/registry/v1/dids", "health", map[string]string{"operation": "x.y.z"}, ""},
		{"create with alg none", "/registry/v1/dids", "health", map[string]string{"operation": "eyJhbGciOiJub25lIn0.e30."}, "unsupported_alg"},
		{"create with unknown member", "/registry/v1/dids", "health", []byte(`{"operation":"a","extra":1}`), "unknown_field"},
		{"create with duplicate member", "/registry/v1/dids", "health", []byte(`{"operation":"a","operation":"b"}`), "malformed_json"},
		{"update of a malformed DID", "/registry/v1/dids/did:psr:x/operations", "health", map[string]string{"operation": "a.b.c"}, "invalid_did"},
		{"accredit a 10 KB DID", "/registry/v1/accreditations", "operator", map[string]any{"issuer": "did:psr:" + strings.Repeat("A", 10_000), "vct": []string{"x"}, "valid_from": time.Now(), "valid_until": time.Now().Add(time.Hour)}, "invalid_did"},
		{"accredit an inverted window", "/registry/v1/accreditations", "operator", map[string]any{"issuer": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "vct": []string{"x"}, "valid_from": time.Now(), "valid_until": time.Now().Add(-time.Hour)}, "invalid_record"},
		{"unknown accreditation action", "/registry/v1/accreditations/acc_x/explode", "operator", map[string]string{}, "record_not_found"},
		{"register with no credentials", "/registry/v1/relying-parties", "venues", map[string]any{"verifier": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "name": "x", "credentials": []any{}}, "invalid_record"},
	}
	for _, tc := range writes {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := e.do(http.MethodPost, tc.path, tc.tenant, tc.body)
			assert.Contains(t, []int{400, 404}, code, string(body))
			if tc.code != "" {
				assert.Equal(t, tc.code, problemCode(body))
			} else {
				assert.NotEmpty(t, problemCode(body))
			}
		})
	}
	recs, err := e.st.ListRecords(context.Background(), KindAccreditation, "")
	require.NoError(t, err)
	assert.Empty(t, recs, "nothing was stored")
	depth, err := e.st.OutboxDepth(context.Background(), anchor.Topic)
	require.NoError(t, err)
	assert.Zero(t, depth, "nothing was enqueued")
	assert.Equal(t, len(cases)+len(writes), e.leaks.Checked)
}

// TestTrustCheckUsesTheClock: an issuer check without at answers for the
// injected clock's now, not the machine's: the decision names that
// instant, and moving the clock into and out of the validity window
// changes the answer.
func TestTrustCheckUsesTheClock(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	issuer, vct := "did:psr:"+strings.Repeat("B", 44), "https://health.example/vaccination"
	from, until := e.clock.Now().Add(time.Hour), e.clock.Now().Add(48*time.Hour)
	code, body, _ := e.do(http.MethodPost, "/registry/v1/accreditations", "operator", map[string]any{
		"issuer": issuer, "vct": []string{vct}, "valid_from": from, "valid_until": until,
	})
	require.Equal(t, http.StatusCreated, code, string(body))
	check := func() Decision {
		t.Helper()
		q := url.Values{"issuer": {issuer}, "vct": {vct}}
		code, body, _ := e.do(http.MethodGet, "/registry/v1/trust/issuers?"+q.Encode(), "", nil)
		require.Equal(t, http.StatusOK, code, string(body))
		var d Decision
		require.NoError(t, json.Unmarshal(body, &d))
		return d
	}
	for _, c := range []struct {
		name       string
		at         time.Time
		accredited bool
	}{
		{"before the window", from.Add(-time.Hour), false},
		{"during the window", from.Add(time.Hour), true},
		{"after the window", until.Add(time.Hour), false},
	} {
		e.clock.Set(c.at)
		d := check()
		assert.True(t, c.at.Equal(d.At), "%s: the decision is for the clock's now, got %v", c.name, d.At)
		assert.Equal(t, c.accredited, d.Accredited, c.name)
	}
}
