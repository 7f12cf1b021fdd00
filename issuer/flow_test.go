package issuer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// TestFullFlow is acceptance 1: a wallet over real HTTP takes an offer
// through metadata, token, nonce and a batch credential request of 3, and
// gets credentials the core verifier accepts with the right iss, vct, cnf,
// status and derived claims; the 3 copies have different cnf keys, salts
// and status indices. The status list then serves, verifies and anchors.
func TestFullFlow(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{ledger: true})
		ctx := context.Background()

		code, b, _ := e.do("GET", "/.well-known/openid-credential-issuer/issuers/health", "", nil, "")
		require.Equal(t, http.StatusOK, code)
		var md map[string]any
		require.NoError(t, json.Unmarshal(b, &md))
		assert.Equal(t, e.srv.URL+"/issuers/health", md["credential_issuer"])
		assert.Equal(t, e.srv.URL+"/issuers/health/nonce", md["nonce_endpoint"])
		assert.Contains(t, md["credential_configurations_supported"], "vaccination-pass")
		code, _, _ = e.do("GET", "/.well-known/oauth-authorization-server/issuers/health", "", nil, "")
		require.Equal(t, http.StatusOK, code)

		offer := e.createOffer("health", "vaccination-pass", "citizen-42", vaccSubject)
		assert.Len(t, offer.TxCode, TxCodeLength)
		assert.NotEmpty(t, offer.QRPNG)
		assert.Contains(t, offer.QRSVG, "<svg")
		w := e.fetchOffer(offer)
		code, b = w.tokenWith(w.txCode)
		require.Equal(t, http.StatusOK, code, string(b))
		creds := w.batch(3)
		require.Len(t, creds, 3)

		cnfs, salts, idxs := map[string]bool{}, map[string]bool{}, map[uint64]bool{}
		var listURI string
		for i, c := range creds {
			r := e.coreVerify(c, sdjwt.ProfileSDJWTVC)
			assert.Equal(t, e.dids["health"], r.Claims["iss"])
			assert.Equal(t, vaccVCT, r.Claims["vct"])
			require.NotNil(t, r.HolderKey)
			want, err := jose.PublicJWK(w.holders[i].Public())
			require.NoError(t, err)
			got, err := jose.PublicJWK(r.HolderKey.Key)
			require.NoError(t, err)
			assert.Equal(t, want, got, "cnf is the proven key of proof %d", i)
			tp, err := got.Thumbprint()
			require.NoError(t, err)
			cnfs[tp] = true
			require.NotNil(t, r.Status)
			idxs[r.Status.Index] = true
			listURI = r.Status.URI
			assert.Equal(t, true, r.Claims["vaccinated_within_policy"])
			assert.Equal(t, true, r.Claims["age_over_18"])
			assert.Equal(t, true, r.Claims["age_over_65"])
			for _, d := range r.Disclosures {
				salts[d.Salt] = true
			}
			for _, name := range []string{"vaccinated_within_policy", "age_over_18", "age_over_65"} {
				assert.True(t, disclosed(r, name), "%s is separately disclosable", name)
			}
		}
		assert.Len(t, cnfs, 3, "distinct cnf")
		assert.Len(t, idxs, 3, "distinct status indices")
		assert.Len(t, salts, 3*7, "every disclosure of every copy has its own salt")

		// The admin sees the three records, issued, for the subject.
		code, b, _ = e.do("GET", "/issuer/v1/credentials?subject_ref=citizen-42", e.keys["health/all"], nil, "")
		require.Equal(t, http.StatusOK, code, string(b))
		var list struct{ Credentials []CredentialView }
		require.NoError(t, json.Unmarshal(b, &list))
		require.Len(t, list.Credentials, 3)
		for _, c := range list.Credentials {
			assert.Equal(t, store.CredentialIssued, c.State)
			assert.Equal(t, "valid", c.Status)
		}

		// The status list is published, served, verifies, and is anchored.
		_, err := e.svc.Publish(ctx)
		require.NoError(t, err)
		listID := listURI[len(e.srv.URL+"/status/"):]
		code, b, h := e.do("GET", "/status/"+listID, "", nil, "")
		require.Equal(t, http.StatusOK, code, string(b))
		assert.Equal(t, StatusListMediaType, h.Get("Content-Type"))
		assert.Equal(t, "1", h.Get(VersionHeader), "the first published version")
		tok := e.verifyList(string(b), listURI)
		assert.False(t, tok.ExpiresAt.IsZero(), "exp is set")
		assert.Equal(t, time.Minute, tok.TTL)
		assert.GreaterOrEqual(t, tok.List.Len(), 131072, "herd privacy")
		e.waitReceipt(listID, 1)
	})
}

// TestHAIPOfferScheme: with OfferScheme haip://, both forms of an offer
// use that scheme (with the same query as under openid-credential-offer://)
// and the offer redeems as usual; any other scheme is refused by New.
func TestHAIPOfferScheme(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{config: func(c *Config) { c.OfferScheme = HAIPOfferScheme }})
		offer := e.createOffer("health", "vaccination-pass", "citizen-haip", vaccSubject)
		assert.True(t, strings.HasPrefix(offer.OfferURI, "haip://?credential_offer_uri="), offer.OfferURI)
		assert.True(t, strings.HasPrefix(offer.OfferByValueURI, "haip://?credential_offer="), "by value too")
		w := e.fetchOffer(offer) // checks the scheme, and follows the reference
		code, b := w.tokenWith(w.txCode)
		require.Equal(t, http.StatusOK, code, string(b))
		creds := w.batch(1)
		require.Len(t, creds, 1)
		e.coreVerify(creds[0], sdjwt.ProfileSDJWTVC)

		for _, bad := range []string{"https://", "openid-credential-offer:", "haip"} {
			cfg := e.svc.cfg
			cfg.OfferScheme = bad
			_, err := New(cfg)
			assert.ErrorContains(t, err, "offer scheme", bad)
		}
	})
}

// TestOfferByValue: the same offer by value (credential_offer) carries
// the JSON the by-reference URL serves, redeems to a credential the core
// verifier accepts, and redeeming it uses up the offer in both forms.
func TestOfferByValue(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		offer := e.createOffer("health", "vaccination-pass", "citizen-by-value", vaccSubject)
		u, err := url.Parse(offer.OfferByValueURI)
		require.NoError(t, err)
		assert.Equal(t, "openid-credential-offer", u.Scheme)
		assert.Empty(t, u.Query().Get("credential_offer_uri"), "by value, not by reference")
		byValue := u.Query().Get("credential_offer")
		require.NotEmpty(t, byValue)

		ref, err := url.Parse(offer.OfferURI)
		require.NoError(t, err)
		refPath := strings.TrimPrefix(ref.Query().Get("credential_offer_uri"), e.srv.URL)
		code, b, _ := e.do("GET", refPath, "", nil, "")
		require.Equal(t, http.StatusOK, code, string(b))
		assert.JSONEq(t, string(b), byValue, "by value carries what the reference serves")

		w := e.walletFor(offer, []byte(byValue))
		assert.Equal(t, e.srv.URL+"/issuers/health", w.issuer)
		code, b = w.tokenWith(w.txCode)
		require.Equal(t, http.StatusOK, code, string(b))
		creds := w.batch(1)
		require.Len(t, creds, 1)
		r := e.coreVerify(creds[0], sdjwt.ProfileSDJWTVC)
		assert.Equal(t, vaccVCT, r.Claims["vct"])

		code, b, _ = e.do("GET", refPath, "", nil, "")
		assert.Equal(t, http.StatusNotFound, code, "the redeemed offer is no longer served by reference")
		assert.Equal(t, "offer_not_found", errCode(b))
		code, b = w.tokenWith(w.txCode)
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, "invalid_grant", errCode(b), "the code behind both forms is single use")
	})
}

// TestBatchSizePerConfiguration: the metadata's batch_size is the
// tenant's largest; a configuration with a smaller one gets a request of
// up to batch_size proofs and issues its own number of credentials
// (OpenID4VCI §14), for the first proofs' keys. Every proof is still
// checked and every c_nonce used up; more than batch_size is refused. A
// configuration without display entries gets no credential_metadata (its
// display must be a non-empty array).
func TestBatchSizePerConfiguration(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{config: func(c *Config) {
			single, _ := DevConfigs(vaccVCT, benefitsVCT)
			one := single[0]
			one.ID, one.BatchSize, one.Display = "vaccination-pass-single", 1, nil
			c.Tenants[0].Configs = append(slices.Clone(c.Tenants[0].Configs), one)
		}})
		code, b, _ := e.do("GET", "/.well-known/openid-credential-issuer/issuers/health", "", nil, "")
		require.Equal(t, http.StatusOK, code, string(b))
		var md struct {
			Batch struct {
				BatchSize int `json:"batch_size"`
			} `json:"batch_credential_issuance"`
			Configs map[string]map[string]any `json:"credential_configurations_supported"`
		}
		require.NoError(t, json.Unmarshal(b, &md))
		assert.Equal(t, 10, md.Batch.BatchSize)
		require.Contains(t, md.Configs, "vaccination-pass-single")
		assert.NotContains(t, md.Configs["vaccination-pass-single"], "credential_metadata", "no empty display array")
		assert.Contains(t, md.Configs["vaccination-pass"], "credential_metadata")
		code, b, _ = e.do("GET", "/.well-known/oauth-authorization-server/issuers/health", "", nil, "")
		require.Equal(t, http.StatusOK, code)
		assert.NotContains(t, string(b), "response_types_supported", "no authorization endpoint, so no response types")

		offer := e.createOffer("health", "vaccination-pass-single", "citizen-single", vaccSubject)
		w := e.fetchOffer(offer)
		code, b = w.tokenWith(w.txCode)
		require.Equal(t, http.StatusOK, code, string(b))
		w.configID = "vaccination-pass-single"
		holder := func() keys.Signer {
			h, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			w.holders = append(w.holders, h)
			return h
		}
		send := func(proofs []string) (int, []byte) {
			return w.credential(map[string]any{"credential_configuration_id": w.configID, "proofs": map[string]any{"jwt": proofs}})
		}

		n := w.nonce()
		var proofs []string
		for range 11 {
			proofs = append(proofs, w.proof(holder(), n, nil))
		}
		code, b = send(proofs)
		assert.Equal(t, http.StatusBadRequest, code, "11 proofs is over batch_size")
		assert.Equal(t, "invalid_credential_request", errCode(b))

		// A bad proof beyond the configuration's batch size still fails
		// the request: every proof is checked.
		n1, n2 := w.nonce(), w.nonce()
		code, b = send([]string{w.proof(holder(), n1, nil), w.proof(holder(), n2, func(_, c map[string]any) { c["aud"] = "https://elsewhere.example" })})
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Equal(t, "invalid_proof", errCode(b))
		e.assertNothingIssued(t, w)

		w.holders = nil
		n3, n4 := w.nonce(), w.nonce()
		code, b = send([]string{w.proof(holder(), n3, nil), w.proof(holder(), n3, nil), w.proof(holder(), n4, nil)})
		require.Equal(t, http.StatusOK, code, string(b))
		creds := credentialsOf(t, b)
		require.Equal(t, 1, len(creds), "the configuration's batch size decides")
		r := e.coreVerify(creds[0], sdjwt.ProfileSDJWTVC)
		want, err := jose.PublicJWK(w.holders[0].Public())
		require.NoError(t, err)
		got, err := jose.PublicJWK(r.HolderKey.Key)
		require.NoError(t, err)
		assert.Equal(t, want, got, "bound to the first proof's key")
		assert.False(t, e.nonceStored(t, n4), "the unused proof's c_nonce is used up too")
		recs, err := st.ListCredentials(context.Background(), "health", "citizen-single", 0)
		require.NoError(t, err)
		assert.Len(t, recs, 1, "one record")
		audits, err := st.ListAudit(context.Background(), store.AuditFilter{TenantID: "health"})
		require.NoError(t, err)
		var issued []store.AuditRecord
		for _, a := range audits {
			if a.Action == "credential.issue" && a.Target == offer.ID {
				issued = append(issued, a)
			}
		}
		if assert.Len(t, issued, 1) {
			assert.JSONEq(t, `{"count":1,"configuration":"vaccination-pass-single"}`, string(issued[0].Details))
		}
	})
}

func disclosed(r *sdjwt.Result, name string) bool {
	for _, d := range r.Disclosures {
		if d.Name == name {
			return true
		}
	}
	return false
}

// verifyList verifies a served status list token with the core verifier.
func (e *env) verifyList(tok, uri string) *statuslist.Token {
	e.t.Helper()
	v, err := statuslist.Verify(tok, statuslist.VerifyOptions{URI: uri, Now: e.svc.now, RequireExp: true,
		Key: func(h *jose.Header, _ []byte) (jose.PublicKey, error) {
			for _, tn := range e.svc.tenants {
				if h.Kid == tn.KeyID {
					return jose.PublicKey{Key: tn.Signer.Public(), Alg: tn.Signer.Algorithm()}, nil
				}
			}
			return jose.PublicKey{}, jose.ErrUnknownKey
		}})
	require.NoError(e.t, err)
	return v
}

// waitReceipt polls the receipt endpoint until version of list is anchored
// (deadline 20 s) and returns how long it took.
func (e *env) waitReceipt(listID string, version uint64) time.Duration {
	e.t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for {
		code, b, _ := e.do("GET", "/status/"+listID+"/versions/"+itoa(version)+"/receipt", "", nil, "")
		if code == http.StatusOK {
			var r struct {
				Entry struct {
					Kind    string `json:"kind"`
					Version uint64 `json:"version"`
				} `json:"entry"`
			}
			require.NoError(e.t, json.Unmarshal(b, &r))
			assert.Equal(e.t, "status-list", r.Entry.Kind)
			assert.Equal(e.t, version, r.Entry.Version)
			return time.Since(start)
		}
		require.Contains(e.t, []int{http.StatusNotFound, http.StatusServiceUnavailable}, code, string(b))
		require.True(e.t, time.Now().Before(deadline), "version %d not anchored in time", version)
		time.Sleep(10 * time.Millisecond) // polling with a deadline, not waiting blindly
	}
}

func itoa(v uint64) string { return jsonNumber(v) }

func jsonNumber(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestVCDMProfile: the benefits agency's configuration issues a W3C VCDM
// 2.0 credential secured as SD-JWT, which the core verifier accepts in
// the VCDM profile, with its derived claim disclosable.
func TestVCDMProfile(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{})
	subject := map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1950-12-10",
		"benefit": "housing", "eligible_for_benefit": true}
	creds := e.issue("benefits", "benefits-eligibility", "b1", subject, 2)
	require.Len(t, creds, 2)
	for _, c := range creds {
		r := e.coreVerify(c, sdjwt.ProfileVCDM)
		assert.Equal(t, e.dids["benefits"], r.Issuer)
		cs, ok := r.Claims["credentialSubject"].(map[string]any)
		require.True(t, ok)
		assert.Equal(t, true, cs["eligible_for_benefit"])
		assert.Equal(t, true, cs["age_over_65"])
		assert.True(t, disclosed(r, "age_over_65"))
		require.NotNil(t, r.HolderKey)
	}
}
