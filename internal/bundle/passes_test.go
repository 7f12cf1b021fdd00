package bundle

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/shc/shctest"
)

// passFixture is a venue's pass trust: an ES256 and a PS256 DSC, an SHC
// issuer in a VCI directory snapshot whose CRL revokes rid "revoked-rid",
// and a second SHC issuer given as a JWKS file.
type passFixture struct {
	at       time.Time
	dsc, rsa *dcctest.Signer
	shc, one *shctest.Issuer
	src      passcheck.TrustSources
}

func newPassFixture(t *testing.T) *passFixture {
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	f := &passFixture{at: at,
		dsc: dcctest.NewDSC(t, dcctest.DSCOptions{NotBefore: at.AddDate(-1, 0, 0), NotAfter: at.AddDate(2, 0, 0)}),
		rsa: dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true, NotBefore: at.AddDate(-1, 0, 0), NotAfter: at.AddDate(2, 0, 0)}),
		shc: shctest.NewIssuer(t, "https://shc.example/issuer"),
		one: shctest.NewIssuer(t, "https://one.example/issuer"),
	}
	f.shc.CRLVersion = 1
	f.src = passcheck.TrustSources{
		DCC:            [][]byte{f.dsc.DER, f.rsa.DER},
		SHCDirectories: [][]byte{shctest.Directory(t, []*shctest.Issuer{f.shc}, [][]byte{f.shc.CRL(t, 1, "revoked-rid")})},
		SHCJWKS:        []passcheck.IssuerFile{{ISS: f.one.ISS, Data: f.one.JWKS(t)}},
	}
	return f
}

// bundleWith signs a bundle issued at at with src and rule.
func bundleWith(t *testing.T, at time.Time, src *passcheck.TrustSources, rule *passcheck.Policy) (string, jose.PublicKey) {
	s, pub := signer(t)
	signed, err := Sign(s, "did:key:zVenue#k", &Bundle{Verifier: "did:key:zVenue", IssuedAt: at, MaxAge: 86400,
		Passes: src, Policy: Policy{Vaccination: rule}})
	require.NoError(t, err)
	return signed, pub
}

// TestBundlePasses: a format-2 bundle carries the venue's EU DCC and SMART
// Health Card trust and its vaccination rule, and Check answers HC1: and
// shc:/ codes with it as the online verifier does (passcheck.Check): the
// verdict document with its format and, for a genuine pass, the holder.
func TestBundlePasses(t *testing.T) {
	f := newPassFixture(t)
	rule := &passcheck.Policy{MinDays: 14, Products: []string{"EU/1/20/1528", "http://hl7.org/fhir/sid/cvx|208"}}
	signed, pub := bundleWith(t, f.at.Add(-time.Hour), &f.src, rule)
	v, err := Open(signed, pub)
	require.NoError(t, err)

	issued := f.at.AddDate(0, 0, -20)
	dose := f.at.AddDate(0, 0, -30).Format(time.DateOnly)
	cvx := "http://hl7.org/fhir/sid/cvx"
	card := func(c shctest.Card) shctest.Card {
		c.NBF = issued
		if c.Immunizations == nil {
			c.Immunizations = []map[string]any{shctest.Immunization(cvx, "208", dose)}
		}
		return c
	}
	stranger := dcctest.NewDSC(t, dcctest.DSCOptions{NotBefore: f.at.AddDate(-1, 0, 0), NotAfter: f.at.AddDate(2, 0, 0)})
	unknownSHC := shctest.NewIssuer(t, f.shc.ISS) // the issuer's URL, another key
	erika := &passcheck.Holder{Name: "Erika Mustermann", BirthDate: "1964-08-12"}
	jane := &passcheck.Holder{Name: "Jane Q. Public", BirthDate: "1970-05-06"}
	for _, c := range []struct {
		name, text, verdict, format, reason string
		holder                              *passcheck.Holder
	}{
		{"an EU DCC (ES256)", f.dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}), "green", "eu-dcc", "", erika},
		{"an EU DCC (PS256)", f.rsa.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}), "green", "eu-dcc", "", erika},
		{"a SMART Health Card of the directory", f.shc.Make(t, card(shctest.Card{RID: "fine-rid"})), "green", "shc", "", jane},
		{"a SMART Health Card of the JWKS issuer", f.one.Make(t, card(shctest.Card{})), "green", "shc", "", jane},
		{"an EU DCC of an unknown DSC", stranger.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}), "red", "eu-dcc", "dcc_unknown_kid", nil},
		{"a SMART Health Card of an unknown key", unknownSHC.Make(t, card(shctest.Card{})), "red", "shc", "shc_unknown_key", nil},
		{"a SMART Health Card revoked by rid", f.shc.Make(t, card(shctest.Card{RID: "revoked-rid"})), "red", "shc", "shc_revoked", nil},
		{"a forged EU DCC", f.dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose, Tamper: true}), "red", "eu-dcc", "dcc_bad_signature", nil},
		{"the rule: a product it does not accept", f.dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose, Product: "EU/1/21/1529"}), "red", "eu-dcc", "policy_product_not_accepted", erika},
		{"the rule: a dose too recent", f.shc.Make(t, card(shctest.Card{Immunizations: []map[string]any{shctest.Immunization(cvx, "208", f.at.AddDate(0, 0, -3).Format(time.DateOnly))}})), "red", "shc", "policy_dose_too_recent", jane},
		{"a chunked SMART Health Card", "shc:/1/2/5676", "red", "shc", "shc_chunked", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := v.Check(c.text+"\n", f.at, &MemoryNonces{})
			assert.Equal(t, c.verdict, got.Verdict, got.Reasons)
			assert.Equal(t, c.format, got.Format)
			if c.reason != "" {
				assert.Equal(t, []string{c.reason}, got.Reasons)
			}
			assert.Equal(t, c.holder, got.Holder)
			// The same answer as the online verifier's engine.
			ts, err := f.src.Load()
			require.NoError(t, err)
			online := passcheck.Check(c.text, ts, rule, f.at)
			assert.Equal(t, online.Reasons, got.Reasons)
			assert.Equal(t, online.Holder, got.Holder)
		})
	}
	pass := f.dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose})
	assert.Equal(t, []string{"bundle_too_old"}, v.Check(pass, f.at.Add(24*time.Hour), &MemoryNonces{}).Reasons, "past the bundle's maximum age")

	// Without a rule: genuine and valid is green, whatever the dose.
	signed, pub = bundleWith(t, f.at.Add(-time.Hour), &f.src, nil)
	v, err = Open(signed, pub)
	require.NoError(t, err)
	assert.Equal(t, "green", v.Check(f.dsc.Make(t, dcctest.Pass{IssuedAt: issued, Product: "EU/1/21/1529"}), f.at, nil).Verdict)

	// A venue without pass trust.
	signed, pub = bundleWith(t, f.at.Add(-time.Hour), nil, nil)
	v, err = Open(signed, pub)
	require.NoError(t, err)
	got := v.Check(pass, f.at, nil)
	assert.Equal(t, []string{"pass_trust_not_in_bundle"}, got.Reasons)
	assert.Equal(t, "eu-dcc", got.Format)
}

// TestBundleFormats: a bundle of format 1 (no format member, as verifiers
// signed before format 2) still opens and refuses HC1:/shc:/ codes with
// pass_trust_not_in_bundle; a bundle of a newer format is refused as a
// whole (bundle_format_unsupported); a format-1 bundle that carries pass
// trust, pass trust that does not parse, and pass trust changed under the
// signature are bundle_invalid.
func TestBundleFormats(t *testing.T) {
	f := newPassFixture(t)
	s, pub := signer(t)
	signRaw := func(m map[string]any) string {
		payload, err := json.Marshal(m)
		require.NoError(t, err)
		jws, err := jose.Sign(s, map[string]any{"typ": Typ, "kid": "did:key:zVenue#k"}, payload)
		require.NoError(t, err)
		return jws
	}
	base := func() map[string]any {
		return map[string]any{"verifier": "did:key:zVenue", "issued_at": f.at.Add(-time.Hour), "max_age": 3600,
			"trust": map[string]any{}, "issuers": []any{}, "accreditations": []any{}, "status_lists": []any{}, "policy": map[string]any{}}
	}
	old, err := Open(signRaw(base()), pub)
	require.NoError(t, err, "a format-1 bundle opens")
	assert.Equal(t, []string{"pass_trust_not_in_bundle"}, old.Check(f.shc.Make(t, shctest.Card{}), f.at, nil).Reasons)
	assert.Equal(t, []string{"qr_base45_character"}, old.Check("SSI1:aaa", f.at, nil).Reasons, "its SSI1 check is unchanged")

	m := base()
	m["format"] = FormatVersion + 1
	_, err = Open(signRaw(m), pub)
	assert.Equal(t, "bundle_format_unsupported", errs.CodeOf(err))

	for name, edit := range map[string]func(m map[string]any){
		"format 1 with pass trust": func(m map[string]any) { m["passes"] = f.src },
		"format 1 with a rule": func(m map[string]any) {
			m["policy"] = map[string]any{"vaccination": map[string]any{"min_days_since_dose": 1}}
		},
		"pass trust that does not parse": func(m map[string]any) {
			m["format"] = 2
			m["passes"] = passcheck.TrustSources{DCC: [][]byte{[]byte("not a certificate")}}
		},
		"a negative format": func(m map[string]any) { m["format"] = -1 },
	} {
		m := base()
		edit(m)
		_, err := Open(signRaw(m), pub)
		assert.Equal(t, "bundle_invalid", errs.CodeOf(err), name)
	}

	// A DSC slipped into a signed bundle: the signature no longer holds.
	signed, pub := bundleWith(t, f.at.Add(-time.Hour), &f.src, nil)
	parts := strings.Split(signed, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var b Bundle
	require.NoError(t, json.Unmarshal(payload, &b))
	assert.Equal(t, FormatVersion, b.Format, "Sign writes the current format")
	stranger := dcctest.NewDSC(t, dcctest.DSCOptions{NotBefore: f.at.AddDate(-1, 0, 0), NotAfter: f.at.AddDate(2, 0, 0)})
	b.Passes.DCC = append(b.Passes.DCC, stranger.DER)
	tampered, err := json.Marshal(&b)
	require.NoError(t, err)
	_, err = Open(parts[0]+"."+base64.RawURLEncoding.EncodeToString(tampered)+"."+parts[2], pub)
	assert.Equal(t, "bundle_invalid", errs.CodeOf(err))
}
