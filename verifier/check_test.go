package verifier

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/sdjwt/sdjwttest"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// TestGreen: a valid pass, both response modes: green, with exactly the
// policy's shown claims, once; nothing of the presentation kept.
func TestGreen(t *testing.T) {
	for _, mode := range []string{oid4vp.DirectPost, oid4vp.DirectPostJWT} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t)
			tx := w.start(mode)
			v := w.result(tx, w.present(w.issue(nil), tx, nil))
			assert.Equal(t, store.PresentationVerified, v.Status)
			assert.Equal(t, "green", v.Verdict)
			assert.Empty(t, v.Reasons)
			assert.Equal(t, map[string]any{"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1963-08-12"}, v.Claims)
			assert.ElementsMatch(t, []string{"vaccinated_within_policy", "given_name", "family_name", "birth_date"}, v.ClaimNames)
			assert.Equal(t, w.issDID, v.Issuer)
			assert.Equal(t, vctPass, v.VCT)
			again, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
			require.NoError(t, err)
			assert.Nil(t, again.Claims, "the shown claims are handed out once")
			assert.Equal(t, "green", again.Verdict)
			row, err := w.st.GetPresentation(context.Background(), tx.id)
			require.NoError(t, err)
			assert.Nil(t, row.EncKey)
			assert.NotContains(t, string(row.Request), "Erika")
		})
	}
}

// TestTrustCheckReasons: every failure of the trust check is red with its
// own reason code (issue 15, acceptance 2; SECURITY-CASES C34–C39, C43,
// C44, E57), with the trust layer stood in by a double. The acceptance
// rests on cmd/ssi's TestVerifierTrustFailuresEndToEnd and
// TestVerifierKeyRotationEndToEnd, which provoke the same failures with
// the real trust client against real services.
func TestTrustCheckReasons(t *testing.T) {
	other := josetest.New(t, keys.ES256)
	cases := []struct {
		name   string
		setup  func(w *world)
		cred   func(c *credential)
		kb     func(kb *sdjwt.KeyBinding)
		mangle func(w *world, pres string) string
		code   string
	}{
		{name: "unknown issuer", setup: func(w *world) { delete(w.trust.docs, w.issDID) }, code: "issuer_unknown"},
		{name: "issuer not a DID", cred: func(c *credential) { c.issuerDID = "https://issuer.example" }, code: "issuer_unknown"},
		{name: "not accredited for the vct", setup: func(w *world) {
			w.trust.accredited[w.issDID+"|"+vctPass] = Accreditation{Reason: "not_accredited"}
		}, code: "untrusted_issuer"},
		{name: "accreditation expired", setup: func(w *world) {
			w.trust.accredited[w.issDID+"|"+vctPass] = Accreditation{Reason: "expired"}
		}, code: "accreditation_expired"},
		{name: "key rotated out before iat (E57)", setup: func(w *world) {
			_, _, doc := keyDID(t, other) // the DID's document at iat has another key
			w.trust.docs[w.issDID] = doc
		}, code: "issuer_key_not_valid_at_iat"},
		{name: "kid of another DID (C44)", cred: func(c *credential) { c.kid = "did:key:zOther#k" }, code: "issuer_key_not_valid_at_iat"},
		{name: "deactivated before iat (E57)", setup: func(w *world) { w.trust.resolveErr = did.ErrDeactivated }, code: "issuer_key_not_valid_at_iat"},
		{name: "bad signature", cred: func(c *credential) { c.signer = other }, code: "invalid_signature"},
		{name: "tampered disclosure", mangle: func(_ *world, p string) string { return sdjwttest.TamperFirstDisclosure(t, p) }, code: "unreferenced_disclosure"},
		{name: "duplicated disclosure", mangle: func(_ *world, p string) string {
			parts := strings.Split(p, "~")
			return strings.Join(append(parts[:2], parts[1:]...), "~")
		}, code: "duplicate_disclosure"},
		{name: "unreferenced disclosure", mangle: func(w *world, p string) string {
			foreign := strings.Split(w.issue(nil), "~")[1]
			parts := strings.Split(p, "~")
			return strings.Join(append([]string{parts[0], foreign}, parts[1:]...), "~")
		}, code: "unreferenced_disclosure"},
		{name: "expired", cred: func(c *credential) { c.exp = c.iat.Add(time.Minute) }, code: "expired"},
		{name: "not yet valid", cred: func(c *credential) { c.nbf = c.iat.Add(2 * time.Hour) }, code: "not_yet_valid"},
		{name: "missing KB (C34)", mangle: func(_ *world, p string) string { return p[:strings.LastIndex(p, "~")+1] }, code: "kb_required"},
		{name: "wrong nonce (C35)", kb: func(kb *sdjwt.KeyBinding) { kb.Nonce = oid4vp.NewNonce() }, code: "invalid_nonce"},
		{name: "aud without the client_id prefix (C36)", kb: func(kb *sdjwt.KeyBinding) {
			kb.Audience = strings.TrimPrefix(kb.Audience, oid4vp.ClientIDPrefixDID)
		}, code: "invalid_audience"},
		{name: "aud of another venue (C41)", kb: func(kb *sdjwt.KeyBinding) { kb.Audience = oid4vp.ClientIDPrefixDID + "did:key:zOther" }, code: "invalid_audience"},
		{name: "stale iat (C37)", kb: func(kb *sdjwt.KeyBinding) { kb.IssuedAt = kb.IssuedAt.Add(-301 * time.Second) }, code: "stale_key_binding"},
		{name: "iat from the future (C37)", kb: func(kb *sdjwt.KeyBinding) { kb.IssuedAt = kb.IssuedAt.Add(61 * time.Second) }, code: "stale_key_binding"},
		{name: "bad sd_hash (C38)", mangle: func(_ *world, p string) string {
			parts := strings.Split(p, "~")
			return strings.Join(append(parts[:1:1], parts[2:]...), "~") // a disclosure dropped after binding
		}, code: "invalid_sd_hash"},
		{name: "KB signed by another key (C39)", kb: func(kb *sdjwt.KeyBinding) { kb.Signer = other }, code: "invalid_signature"},
		{name: "no status", cred: func(c *credential) { c.noStatus = true }, code: "status_missing"},
		{name: "revoked", setup: func(w *world) { w.trust.status[7] = StatusResult{Value: 1} }, code: "revoked"},
		{name: "suspended", setup: func(w *world) { w.trust.status[7] = StatusResult{Value: 2} }, code: "suspended"},
		{name: "status value 3", setup: func(w *world) { w.trust.status[7] = StatusResult{Value: 3} }, code: "status_invalid"},
		{name: "list signature bad (trust layer's code kept)", setup: func(w *world) { w.trust.statusErr = statuslist.ErrUnverifiable }, code: "status_unverifiable"},
		{name: "list not the anchored one (trust layer's code kept)", setup: func(w *world) { w.trust.statusErr = trust.ErrHashNotAnchored }, code: "hash_not_anchored"},
		{name: "list past its exp (trust layer's code kept)", setup: func(w *world) { w.trust.statusErr = trust.ErrStatusListExpired }, code: "status_list_expired"},
		{name: "list receipt forged (trust layer's code kept)", setup: func(w *world) { w.trust.statusErr = trust.ErrReceiptUnverified }, code: "receipt_unverified"},
		{name: "policy not met", cred: func(c *credential) { c.subject["vaccinated_within_policy"] = false }, code: "policy_not_met"},
		{name: "required claim missing (C43)", code: "dcql_claims_unsatisfied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			if c.setup != nil {
				c.setup(w)
			}
			tx := w.start(oid4vp.DirectPostJWT)
			var pres string
			if c.name == "required claim missing (C43)" {
				pres = w.presentOnly(w.issue(c.cred), tx, "/vaccinated_within_policy", "/given_name", "/family_name")
			} else {
				pres = w.present(w.issue(c.cred), tx, c.kb)
			}
			if c.mangle != nil {
				pres = c.mangle(w, pres)
			}
			v := w.result(tx, pres)
			assert.Equal(t, "red", v.Verdict)
			assert.Equal(t, store.PresentationRejected, v.Status)
			assert.Equal(t, []string{c.code}, v.Reasons)
			assert.Nil(t, v.Claims)
		})
	}
}

// presentOnly presents exactly the pointers given.
func (w *world) presentOnly(sd string, tx txn, ptrs ...string) string {
	p, err := sdjwt.Present(sd, ptrs, &sdjwt.KeyBinding{Signer: w.holder, Nonce: tx.request.Nonce, Audience: tx.request.ClientID, IssuedAt: w.now})
	require.NoError(w.t, err)
	return p
}

// TestTrustCheckOrder: the checks run in DESIGN §4's order: an unknown
// issuer is never looked up for accreditation or status.
func TestTrustCheckOrder(t *testing.T) {
	w := newWorld(t)
	tx := w.start(oid4vp.DirectPost)
	v := w.result(tx, w.present(w.issue(nil), tx, nil))
	require.Equal(t, "green", v.Verdict)
	assert.Equal(t, []string{"resolve", "accredited", "status"}, w.trust.calls)

	w = newWorld(t)
	w.trust.accredited = map[string]Accreditation{}
	tx = w.start(oid4vp.DirectPost)
	v = w.result(tx, w.present(w.issue(nil), tx, nil))
	assert.Equal(t, []string{"untrusted_issuer"}, v.Reasons)
	assert.Equal(t, []string{"resolve", "accredited"}, w.trust.calls)
}

// TestReplay: a presentation replayed to its own (finished) transaction
// is nonce_used and changes nothing; replayed to another transaction of
// the venue it is red with invalid_nonce (SECURITY-CASES C40).
func TestReplay(t *testing.T) {
	w := newWorld(t)
	tx := w.start(oid4vp.DirectPost)
	pres := w.present(w.issue(nil), tx, nil)
	require.Equal(t, "green", w.result(tx, pres).Verdict)
	_, err := w.svc.Respond(context.Background(), tx.reqID, w.form(tx, pres))
	assert.Equal(t, "nonce_used", errs.CodeOf(err))
	row, err := w.st.GetPresentation(context.Background(), tx.id)
	require.NoError(t, err)
	assert.Equal(t, "green", row.Verdict)

	tx2 := w.start(oid4vp.DirectPost)
	f := w.form(tx2, pres)
	v := func() *View {
		_, err := w.svc.Respond(context.Background(), tx2.reqID, f)
		require.NoError(t, err)
		v, err := w.svc.Get(context.Background(), "venue", tx2.id, 0, "")
		require.NoError(t, err)
		return v
	}()
	assert.Equal(t, []string{"invalid_nonce"}, v.Reasons)
}

// TestRequiredCredentialSetMissing: a response that answers no option of
// a required credential set is red.
func TestRequiredCredentialSetMissing(t *testing.T) {
	q := `{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["urn:ssi:vaccination-pass"]},"claims":[{"path":["vaccinated_within_policy"]}]},
		{"id":"id","format":"dc+sd-jwt","meta":{"vct_values":["urn:ssi:vaccination-pass"]},"claims":[{"path":["given_name"]}]}],
		"credential_sets":[{"options":[["pass"]]},{"options":[["id"]],"required":true}]}`
	w := newWorld(t, func(c *Config) {
		c.Venues[0].Policies[0].DCQL = []byte(q)
		c.Venues[0].Policies[0].Show = nil
	})
	tx := w.start(oid4vp.DirectPost)
	pres := w.presentOnly(w.issue(nil), tx, "/vaccinated_within_policy")
	v := w.result(tx, pres)
	assert.Equal(t, []string{"dcql_credential_set_unsatisfied"}, v.Reasons)
}

// TestOverAskingPolicyRefused: New refuses a policy the registration does
// not allow, and a policy whose rule or shown claims the query does not
// request.
func TestOverAskingPolicyRefused(t *testing.T) {
	w := newWorld(t)
	cfg := w.svc.cfg
	cfg.Venues = []Venue{w.venue}
	w.trust.rp = RPDecision{Within: false, Reason: "over_asking", Excess: []string{"birth_date"}}
	_, err := New(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than the registration allows")

	w.trust.rp = RPDecision{Within: true}
	for _, edit := range []func(p *Policy){
		func(p *Policy) { p.Rule = "email == true" },
		func(p *Policy) { p.Show = []string{"email"} },
		func(p *Policy) { p.VCTs = []string{"urn:other"} },
		func(p *Policy) { p.Rule = "vaccinated_within_policy = true" },
		func(p *Policy) { p.DCQL = []byte(`{"credentials":[]}`) },
	} {
		v := w.venue
		v.Policies = []Policy{w.venue.Policies[0]}
		edit(&v.Policies[0])
		cfg.Venues = []Venue{v}
		_, err := New(context.Background(), cfg)
		assert.Error(t, err)
	}
}

func TestRule(t *testing.T) {
	conds, err := bundle.ParseRule(`a == true && b.c == "x" && n == 3`)
	require.NoError(t, err)
	assert.True(t, bundle.Holds(conds, map[string]any{"a": true, "b": map[string]any{"c": "x"}, "n": int64(3)}))
	assert.False(t, bundle.Holds(conds, map[string]any{"a": true, "b": map[string]any{"c": "y"}, "n": int64(3)}))
	assert.False(t, bundle.Holds(conds, map[string]any{"a": "true", "b": map[string]any{"c": "x"}, "n": int64(3)}))
	assert.False(t, bundle.Holds(conds, map[string]any{"b": map[string]any{"c": "x"}, "n": int64(3)}))
	for _, bad := range []string{"a", "a ==", "== 1", `a == "x`, "a == x", "a b == 1"} {
		_, err := bundle.ParseRule(bad)
		assert.Error(t, err, bad)
	}
}

var _ = did.ErrNotFound

// TestDeferredRegistrationCheck: a verifier started before its registry
// serves refuses transactions until WaitRegistrations passed, and an
// over-asking policy keeps it refusing.
func TestDeferredRegistrationCheck(t *testing.T) {
	w := newWorld(t)
	cfg := w.svc.cfg
	cfg.Venues = []Venue{w.venue}
	cfg.DeferRegistrationCheck = true
	w.trust.rp = RPDecision{Within: false, Reason: "not_registered"}
	svc, err := New(context.Background(), cfg)
	require.NoError(t, err)
	_, err = svc.Create(context.Background(), "venue", CreateRequest{Policy: "entry"})
	assert.Equal(t, "verifier_not_ready", errs.CodeOf(err))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, svc.WaitRegistrations(ctx, time.Millisecond), context.DeadlineExceeded, "not registered yet: it keeps trying")
	w.trust.rp = RPDecision{Within: true}
	require.NoError(t, svc.WaitRegistrations(context.Background(), time.Millisecond))
	_, err = svc.Create(context.Background(), "venue", CreateRequest{Policy: "entry"})
	require.NoError(t, err)

	svc, err = New(context.Background(), cfg)
	require.NoError(t, err)
	w.trust.rp = RPDecision{Within: false, Reason: "over_asking"}
	assert.Error(t, svc.WaitRegistrations(context.Background(), time.Millisecond), "over-asking is refused for good")
	_, err = svc.Create(context.Background(), "venue", CreateRequest{Policy: "entry"})
	assert.Equal(t, "verifier_not_ready", errs.CodeOf(err))
}

// TestRunPurges: the purge loop drops finished transactions past Keep and
// expired single-use values, and stops with its context.
func TestRunPurges(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.Keep = time.Hour })
	tx := w.start(oid4vp.DirectPost)
	require.Equal(t, "green", w.result(tx, w.present(w.issue(nil), tx, nil)).Verdict)
	w.now = w.now.Add(2 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.svc.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := w.st.GetPresentation(context.Background(), tx.id); errors.Is(err, store.ErrNotFound) {
			break
		}
		require.True(t, time.Now().Before(deadline), "not purged")
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

// TestTrustLayerDown: when the trust layer cannot be reached the response
// is not judged: temporarily_unavailable, nothing recorded, and the same
// response passes once it is back.
func TestTrustLayerDown(t *testing.T) {
	w := newWorld(t)
	tx := w.start(oid4vp.DirectPost)
	f := w.form(tx, w.present(w.issue(nil), tx, nil))
	for _, down := range []error{trust.ErrStatusUnavailable, trust.ErrRegistry, errs.E(errs.Internal, "internal", "a fault")} {
		w.trust.statusErr = down
		_, err := w.svc.Respond(context.Background(), tx.reqID, f)
		assert.Equal(t, "temporarily_unavailable", errs.CodeOf(err))
	}
	row, err := w.st.GetPresentation(context.Background(), tx.id)
	require.NoError(t, err)
	assert.Equal(t, store.PresentationPending, row.Status)
	w.trust.statusErr = nil
	_, err = w.svc.Respond(context.Background(), tx.reqID, f)
	require.NoError(t, err)
	v, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
	require.NoError(t, err)
	assert.Equal(t, "green", v.Verdict)
}

// TestAccreditationMapping: the trust client's decision, mapped to the
// reasons of the check.
func TestAccreditationMapping(t *testing.T) {
	assert.Equal(t, Accreditation{Accredited: true}, accreditation(trust.AccreditationDecision{Accredited: true, Status: trust.StatusActive}))
	assert.Equal(t, Accreditation{Reason: "expired"}, accreditation(trust.AccreditationDecision{Reason: trust.ReasonNotAccredited, Status: trust.StatusOutsideValidity}))
	assert.Equal(t, Accreditation{Reason: trust.ReasonNotAccredited}, accreditation(trust.AccreditationDecision{Reason: trust.ReasonNotAccredited, Status: trust.StatusRevoked}))
	assert.Equal(t, Accreditation{Reason: trust.ReasonNotAccredited}, accreditation(trust.AccreditationDecision{Reason: trust.ReasonNotAccredited}))
}
