package didregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/trust"
)

// liar is a real HTTP server in front of the honest registry that changes
// requests (req) and answers (resp) the way a compromised registry would.
func (e *env) liar(req func(r *http.Request), resp func(r *http.Request, status int, body []byte) (int, []byte)) *httptest.Server {
	e.t.Helper()
	proxy := httputil.NewSingleHostReverseProxy(mustURL(e.t, e.srv.URL))
	proxy.ModifyResponse = func(r *http.Response) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		status := r.StatusCode
		if resp != nil {
			status, b = resp(r.Request, status, b)
		}
		r.StatusCode = status
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if req != nil {
			req(r)
		}
		proxy.ServeHTTP(w, r)
	}))
	e.t.Cleanup(s.Close)
	return s
}

// lyingWorld is the registry's state the lying-registry test lies about.
type lyingWorld struct {
	rotated, deactivated string    // did:psr DIDs: one rotated to version 2, one deactivated
	hijacked             string    // a did:psr DID whose version 2 the registry made up
	issuer, vct          string    // an issuer whose accreditation was revoked
	accID                string    // that accreditation
	accredited, revoked  time.Time // instants (registry clock) with the accreditation active, then revoked
	approved, pending    string    // did:key verifiers: one approved registration, one never approved
	psrVerifier          string    // a did:psr verifier with an approved registration
	forged               string    // a did:key verifier whose approved registration nobody proved control of
}

func (e *env) lyingWorld() lyingWorld {
	t := e.t
	var w lyingWorld
	w.rotated, _ = e.createRotated()

	ctl := newSigner(t)
	w.deactivated = e.createDID(ctl)
	op, err := SignOp(ctl, "ctl-1", Operation{Op: "deactivate", DID: w.deactivated, Version: 2})
	require.NoError(t, err)
	code, body, _ := e.do(http.MethodPost, "/registry/v1/dids/"+w.deactivated+"/operations", "health", map[string]string{"operation": op})
	require.Equal(t, http.StatusOK, code, string(body))
	e.waitAnchored(trust.KindDIDDocument, w.deactivated, 2)

	// The registry (which holds the ledger writer that anchors DIDs)
	// stores and anchors a version 2 that no controller signed: it adds
	// its own assertion key and signs the "operation" with it.
	w.hijacked = e.createDID(newSigner(t))
	e.waitAnchored(trust.KindDIDDocument, w.hijacked, 1)
	v1, err := e.st.GetDIDVersion(context.Background(), w.hijacked, 1)
	require.NoError(t, err)
	var st State
	require.NoError(t, json.Unmarshal(v1.State, &st))
	attacker := newSigner(t)
	vm, err := VMFor("sign-x", attacker, PurposeAssertionMethod)
	require.NoError(t, err)
	forgedOp, err := SignOp(attacker, "sign-x", Operation{Op: "update", DID: w.hijacked, Version: 2, AddVerificationMethod: []VMInput{vm}})
	require.NoError(t, err)
	next := st
	next.Version = 2
	k, err := keys.JWKFromPublic(attacker.Public())
	require.NoError(t, err)
	next.Keys = append(append([]Key(nil), st.Keys...), Key{ID: "sign-x", JWK: k, Purposes: []string{PurposeAssertionMethod}, AddedIn: 2})
	require.NoError(t, e.svc.putVersion(context.Background(), Actor{TenantID: "health", ID: "rogue"}, &next, forgedOp, "did.update", &v1))
	e.waitAnchored(trust.KindDIDDocument, w.hijacked, 2)

	w.issuer, w.vct = e.createDID(newSigner(t)), "https://health.example/vaccination"
	from := e.clock.Now().Add(-time.Hour)
	code, body, _ = e.do(http.MethodPost, "/registry/v1/accreditations", "operator",
		map[string]any{"issuer": w.issuer, "vct": []string{w.vct}, "valid_from": from, "valid_until": from.Add(365 * 24 * time.Hour)})
	require.Equal(t, http.StatusCreated, code, string(body))
	var acc struct{ Record Accreditation }
	require.NoError(t, json.Unmarshal(body, &acc))
	w.accID = acc.Record.ID
	w.accredited = e.clock.Now().Add(time.Minute)
	e.clock.Add(time.Hour)
	code, body, _ = e.do(http.MethodPost, "/registry/v1/accreditations/"+acc.Record.ID+"/revoke", "operator", map[string]string{"reason": "audit failed"})
	require.Equal(t, http.StatusOK, code, string(body))
	w.revoked = e.clock.Now().Add(time.Minute)
	accURL := e.svc.recordURL(KindAccreditation, acc.Record.ID)
	e.waitAnchored(KindAccreditation, accURL, 1)
	e.waitAnchored(KindAccreditation, accURL, 2)

	approvedKey, pendingKey, psrCtl := newSigner(t), newSigner(t), newSigner(t)
	var approvedKid, pendingKid string
	w.approved, approvedKid = keyDID(t, approvedKey)
	w.pending, pendingKid = keyDID(t, pendingKey)
	w.psrVerifier = e.createDID(psrCtl)
	e.waitAnchored(trust.KindDIDDocument, w.psrVerifier, 1)
	e.registerAs(w.approved, approvedKid, approvedKey, true)
	e.registerAs(w.pending, pendingKid, pendingKey, false)
	e.registerAs(w.psrVerifier, w.psrVerifier+"#ctl-1", psrCtl, true)

	// The registry's operator (who holds a ledger writer) records and
	// anchors an approved registration of a DID whose key it does not
	// hold, with a "proof" signed by another key under the DID's kid.
	victim, attacker := newSigner(t), newSigner(t)
	var victimKid string
	w.forged, victimKid = keyDID(t, victim)
	now := e.clock.Now()
	proof, err := jose.Sign(attacker, map[string]any{"typ": ControlTyp, "kid": victimKid},
		mustJSON(t, map[string]any{"iss": w.forged, "aud": "https://registry.example", "nonce": "made-up", "iat": now.Unix()}))
	require.NoError(t, err)
	forged := RPRegistration{ID: newRecordID("rp_"), Version: 1, Verifier: w.forged, Name: "Not the stadium",
		Credentials: []RPCredential{{VCT: rpVCT, Claims: []string{"vaccinated_within_policy"}, Purpose: "entry check"}},
		Status:      RPApproved, Tenant: "venues", DecidedBy: "operator", EffectiveAt: now,
		Control: &RPControl{Tenant: "venues", KeyID: victimKid, ProvenAt: now, Proof: proof}}
	require.NoError(t, e.svc.putRecord(context.Background(), Actor{TenantID: "operator"}, KindRPRegistration, forged.ID, w.forged, 1, forged, "rp.approve"))
	e.waitAnchored(KindRPRegistration, e.svc.recordURL(KindRPRegistration, forged.ID), 1)
	return w
}

// registerAs registers verifier for the venues tenant with a control proof
// by signer as kid, approves it when approve is set, and waits for the
// anchors.
func (e *env) registerAs(verifier, kid string, signer keys.Signer, approve bool) {
	e.t.Helper()
	proof, err := SignRPControl(signer, kid, e.challenge("venues", verifier), e.clock.Now())
	require.NoError(e.t, err)
	code, body := e.register("venues", verifier, proof)
	require.Equal(e.t, http.StatusCreated, code, string(body))
	var reg struct{ Record RPRegistration }
	require.NoError(e.t, json.Unmarshal(body, &reg))
	subject := e.svc.recordURL(KindRPRegistration, reg.Record.ID)
	e.waitAnchored(KindRPRegistration, subject, 1)
	if approve {
		code, body, _ = e.do(http.MethodPost, "/registry/v1/relying-parties/"+reg.Record.ID+"/approve", "operator", map[string]string{})
		require.Equal(e.t, http.StatusOK, code, string(body))
		e.waitAnchored(KindRPRegistration, subject, 2)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestLyingRegistry is acceptance 2 of issue 14: a registry (or anything
// between it and the client) that serves an older DID version after a
// rotation, a deactivated DID as active, an accreditation as it was before
// its revocation, a registration that was never approved as allowed, or a
// registration of a DID its tenant does not control, is refused by
// trust.Client, each with its own stable code; through the honest registry
// the same calls succeed.
func TestLyingRegistry(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	w := e.lyingWorld()
	ctx := context.Background()
	client := func(srv *httptest.Server) *trust.Client {
		return trust.NewClient(srv.URL, trust.Options{Trust: e.ledger.Trust, RegistryURL: "https://registry.example", TTL: time.Second})
	}
	// Wait until every version is anchored and provable: the honest
	// registry answers every call.
	honest := client(e.srv)
	eventuallyOK(t, func() error {
		_, err := trust.NewClient(e.srv.URL, trust.Options{Trust: e.ledger.Trust, TTL: time.Second}).Resolve(ctx, w.rotated, did.ResolveOptions{})
		return err
	})

	t.Run("honest", func(t *testing.T) {
		res, err := honest.Resolve(ctx, w.rotated, did.ResolveOptions{})
		require.NoError(t, err)
		assert.Equal(t, "2", res.DocumentMetadata.VersionID)
		res, err = honest.Resolve(ctx, w.deactivated, did.ResolveOptions{})
		assert.ErrorIs(t, err, did.ErrDeactivated, "the honest registry says deactivated, and the client agrees")
		require.NotNil(t, res)
		assert.True(t, res.DocumentMetadata.Deactivated)

		d, err := honest.IsAccredited(ctx, w.issuer, w.vct, w.accredited)
		require.NoError(t, err)
		assert.True(t, d.Accredited, "accredited before the revocation")
		d, err = honest.IsAccredited(ctx, w.issuer, w.vct, w.revoked)
		require.NoError(t, err)
		assert.False(t, d.Accredited)
		assert.Equal(t, trust.ReasonNotAccredited, d.Reason)
		assert.Equal(t, StatusRevoked, d.Status)

		// A record read by ID carries its proofs too.
		for _, c := range []struct {
			query        string
			latest, next uint64
		}{{"", 2, 0}, {"?version=1", 2, 2}} {
			code, body, _ := e.do(http.MethodGet, "/registry/v1/accreditations/"+w.accID+c.query, "", nil)
			require.Equal(t, http.StatusOK, code, string(body))
			var view struct{ Anchor trust.Anchor }
			require.NoError(t, json.Unmarshal(body, &view))
			require.NotNil(t, view.Anchor.Latest)
			l, err := trust.VerifyLatest(view.Anchor.Latest, e.ledger.Trust)
			require.NoError(t, err)
			assert.Equal(t, c.latest, l.State.Version)
			if c.next == 0 {
				assert.Nil(t, view.Anchor.Next)
			} else if assert.NotNil(t, view.Anchor.Next) {
				assert.Equal(t, c.next, view.Anchor.Next.Entry.Version)
			}
		}

		for _, v := range []string{w.approved, w.psrVerifier} {
			rp, err := honest.CheckRP(ctx, v, rpVCT, []string{"vaccinated_within_policy"})
			require.NoError(t, err)
			assert.True(t, rp.Within, v)
			assert.Equal(t, "City Stadium", rp.Name)
			assert.Equal(t, "entry check", rp.Purpose)
		}
		rp, err := honest.CheckRP(ctx, w.approved, rpVCT, []string{"vaccinated_within_policy", "name"})
		require.NoError(t, err)
		assert.False(t, rp.Within)
		assert.Equal(t, trust.ReasonOverAsking, rp.Reason)
		assert.Equal(t, []string{"name"}, rp.Excess)
	})

	t.Run("an older version after a rotation", func(t *testing.T) {
		srv := e.liar(func(r *http.Request) { r.URL.RawQuery = "versionId=1" }, nil)
		_, err := client(srv).Resolve(ctx, w.rotated, did.ResolveOptions{})
		assert.Equal(t, "stale_version", errs.CodeOf(err))
		// Passed off as the version in force now, with the next version's
		// receipt stripped, it is stale too: now, or rather past the
		// ledger's bound on the rotation (its receipt's header time, plus
		// LedgerClockSkew), which this rotation of a moment ago may not be
		// yet.
		_, err = client(srv).ResolveAt(ctx, w.rotated, time.Now().Add(trust.LedgerClockSkew))
		assert.Equal(t, "stale_version", errs.CodeOf(err))
	})

	t.Run("the successor's receipt against a later header", func(t *testing.T) {
		// The log only grows and the ledger proves a leaf at any height, so
		// a receipt of the rotation can be built against any later header.
		// A registry serving version 1 with such a receipt of version 2
		// must not move the ledger's bound on the rotation (and so the
		// retired key's validity) past the rotation's entry time +
		// MaxBlockInterval + LedgerClockSkew.
		l := anchor.NewLedger(e.ledger.Node.Client(), e.ledger.Node.ChainID())
		v2, err := l.Get(ctx, trust.KindDIDDocument, w.rotated, 2)
		require.NoError(t, err)
		at := v2.Entry.Time.Add(trust.MaxBlockInterval + trust.LedgerClockSkew + time.Second)
		var h int64
		deadline := time.Now().Add(time.Minute)
		for {
			var bt time.Time
			h, bt, err = l.Status(ctx)
			require.NoError(t, err)
			if bt.After(at.Add(time.Second)) {
				break
			}
			require.True(t, time.Now().Before(deadline), "the ledger's blocks did not get past %v", at)
			time.Sleep(100 * time.Millisecond)
		}
		later, err := l.Receipt(ctx, anchor.Located{Found: true, Entry: v2.Entry, LeafIndex: v2.LeafIndex, Height: h - 1})
		require.NoError(t, err)
		require.NoError(t, trust.VerifyReceipt(later, e.ledger.Trust), "a genuine receipt, of a later header")
		resolution := func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/1.0/identifiers/") }
		srv := e.liar(func(r *http.Request) {
			if resolution(r) {
				r.URL.RawQuery = "versionId=1"
			}
		}, func(r *http.Request, status int, b []byte) (int, []byte) {
			if !resolution(r) {
				return status, b
			}
			var res, meta, anc map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(b, &res))
			require.NoError(t, json.Unmarshal(res["didDocumentMetadata"], &meta))
			require.NoError(t, json.Unmarshal(meta["anchor"], &anc))
			require.NotNil(t, anc["next"])
			anc["next"] = mustJSON(t, later)
			enc := func(v any) []byte {
				var buf bytes.Buffer
				je := json.NewEncoder(&buf)
				je.SetEscapeHTML(false)
				require.NoError(t, je.Encode(v))
				return bytes.TrimSpace(buf.Bytes())
			}
			meta["anchor"] = enc(anc)
			res["didDocumentMetadata"] = enc(meta)
			return status, enc(res)
		})
		res, err := client(srv).ResolveAt(ctx, w.rotated, v2.Entry.Time)
		require.NoError(t, err, "in force at the rotation's entry time, as the honest receipt also shows")
		assert.Equal(t, "1", res.DocumentMetadata.VersionID)
		_, err = client(srv).ResolveAt(ctx, w.rotated, at)
		assert.Equal(t, "stale_version", errs.CodeOf(err), "the later header does not keep the retired version in force")
	})

	t.Run("a DID version no controller signed", func(t *testing.T) {
		code, _, _ := e.do(http.MethodGet, "/1.0/identifiers/"+w.hijacked, "", nil)
		require.Equal(t, http.StatusOK, code, "the registry serves it: it is anchored, and its state derives its document")
		_, err := honest.Resolve(ctx, w.hijacked, did.ResolveOptions{})
		assert.Equal(t, "did_chain_unverified", errs.CodeOf(err))
		_, err = honest.ResolveAt(ctx, w.hijacked, time.Now())
		assert.Equal(t, "did_chain_unverified", errs.CodeOf(err))
	})

	t.Run("a proof older than MaxAge", func(t *testing.T) {
		// What a registry that kept a proof from before a rotation looks like
		// to the client: a genuine proof, too old.
		later := trust.NewClient(e.srv.URL, trust.Options{Trust: e.ledger.Trust, RegistryURL: "https://registry.example",
			MaxAge: 10 * time.Second, Now: func() time.Time { return time.Now().Add(time.Minute) }})
		_, err := later.Resolve(ctx, w.rotated, did.ResolveOptions{})
		assert.Equal(t, "proof_too_old", errs.CodeOf(err))
		_, err = later.IsAccredited(ctx, w.issuer, w.vct, w.revoked)
		assert.Equal(t, "proof_too_old", errs.CodeOf(err))
		_, err = later.CheckRP(ctx, w.approved, rpVCT, []string{"vaccinated_within_policy"})
		assert.Equal(t, "proof_too_old", errs.CodeOf(err))
	})

	t.Run("a deactivated DID as active", func(t *testing.T) {
		srv := e.liar(nil, func(_ *http.Request, status int, b []byte) (int, []byte) {
			return http.StatusOK, bytes.ReplaceAll(b, []byte(`"deactivated":true,`), nil)
		})
		res, err := client(srv).Resolve(ctx, w.deactivated, did.ResolveOptions{})
		assert.Equal(t, "did_deactivated", errs.CodeOf(err))
		if assert.NotNil(t, res) {
			assert.True(t, res.DocumentMetadata.Deactivated)
		}
		// Its version before the deactivation is stale.
		old := e.liar(func(r *http.Request) { r.URL.RawQuery = "versionId=1" }, nil)
		_, err = client(old).Resolve(ctx, w.deactivated, did.ResolveOptions{})
		assert.Equal(t, "stale_version", errs.CodeOf(err))
	})

	t.Run("an accreditation as it was before its revocation", func(t *testing.T) {
		srv := e.liar(func(r *http.Request) {
			q := r.URL.Query()
			q.Set("at", w.accredited.Format(time.RFC3339Nano))
			r.URL.RawQuery = q.Encode()
		}, func(_ *http.Request, status int, b []byte) (int, []byte) {
			var a map[string]any
			require.NoError(t, json.Unmarshal(b, &a))
			require.Equal(t, true, a["accredited"], "the lie")
			return status, b
		})
		_, err := client(srv).IsAccredited(ctx, w.issuer, w.vct, w.revoked)
		assert.Equal(t, "stale_version", errs.CodeOf(err))
	})

	t.Run("a registration never approved", func(t *testing.T) {
		srv := e.liar(nil, func(_ *http.Request, status int, b []byte) (int, []byte) {
			return status, bytes.ReplaceAll(b, []byte(`"within":false`), []byte(`"within":true`))
		})
		d, err := client(srv).CheckRP(ctx, w.pending, rpVCT, []string{"vaccinated_within_policy"})
		require.NoError(t, err)
		assert.False(t, d.Within, "the client decides from the records, not from the registry's word")
		assert.Equal(t, trust.ReasonNotApproved, d.Reason)
	})

	t.Run("a registration of a DID its tenant does not control", func(t *testing.T) {
		within := e.within(w.forged, "vaccinated_within_policy")
		require.True(t, within.Within, "the registry's own decision counts the forged registration")
		d, err := honest.CheckRP(ctx, w.forged, rpVCT, []string{"vaccinated_within_policy"})
		require.NoError(t, err)
		assert.False(t, d.Within)
		assert.Equal(t, trust.ReasonControlUnproven, d.Reason)
	})
}

func eventuallyOK(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in time: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
