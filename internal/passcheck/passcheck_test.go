package passcheck_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/dcc"
	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/shc"
	"github.com/ssi-project/ssi/internal/shc/shctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var at = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	trust passcheck.TrustSet
	dsc   *dcctest.Signer
	is    *shctest.Issuer
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{dsc: dcctest.NewDSC(t, dcctest.DSCOptions{}), is: shctest.NewIssuer(t, "https://issuer.example/shc")}
	f.trust.DCC, f.trust.SHC = &dcc.Trust{}, &shc.Trust{}
	_, err := f.trust.DCC.AddDER(f.dsc.DER, "XX")
	require.NoError(t, err)
	require.NoError(t, f.trust.SHC.AddJWKS(f.is.ISS, f.is.JWKS(t)))
	return f
}

func policy(t *testing.T, js string) *passcheck.Policy {
	p, err := passcheck.ParsePolicy([]byte(js))
	require.NoError(t, err)
	return p
}

// TestCheck: the verdict of each format, with and without a policy, and
// the document's shape.
func TestCheck(t *testing.T) {
	f := newFixture(t)
	pol := policy(t, `{"min_days_since_dose":14,"max_days_since_dose":180,"accepted_products":["EU/1/20/1528","http://hl7.org/fhir/sid/cvx|208"]}`)
	cvx := "http://hl7.org/fhir/sid/cvx"
	jane := &passcheck.Holder{Name: "Jane Q. Public", BirthDate: "1970-05-06"}
	erika := &passcheck.Holder{Name: "Erika Mustermann", BirthDate: "1964-08-12"}
	test := map[string]any{"tg": "840539006", "tt": "LP6464-4", "sc": "2026-03-01T10:00:00Z", "tr": "260415000", "tc": "x", "co": "XX", "is": "x", "ci": "y"}
	for _, c := range []struct {
		name    string
		text    string
		policy  *passcheck.Policy
		verdict string
		format  string
		reason  string
		holder  *passcheck.Holder
	}{
		{"a DCC, no policy", f.dsc.Make(t, dcctest.Pass{}), nil, "green", "eu-dcc", "", erika},
		{"a DCC within the policy", f.dsc.Make(t, dcctest.Pass{}), pol, "green", "eu-dcc", "", erika},
		{"a DCC of another product", f.dsc.Make(t, dcctest.Pass{Product: "EU/1/21/1529"}), pol, "red", "eu-dcc", "policy_product_not_accepted", erika},
		{"a DCC dose too recent", f.dsc.Make(t, dcctest.Pass{Date: "2026-05-25"}), pol, "red", "eu-dcc", "policy_dose_too_recent", erika},
		{"a DCC dose too old", f.dsc.Make(t, dcctest.Pass{Date: "2025-11-01"}), pol, "red", "eu-dcc", "policy_dose_too_old", erika},
		{"a DCC dose 1 of 2", f.dsc.Make(t, dcctest.Pass{Entries: map[string]any{"v": []any{dcctest.Vaccination("EU/1/20/1528", "2026-03-01", 1, 2)}}}), pol, "red", "eu-dcc", "policy_series_incomplete", erika},
		{"a DCC test certificate", f.dsc.Make(t, dcctest.Pass{Entries: map[string]any{"t": []any{test}}}), pol, "red", "eu-dcc", "policy_no_vaccination", erika},
		{"a DCC test certificate, no policy", f.dsc.Make(t, dcctest.Pass{Entries: map[string]any{"t": []any{test}}}), nil, "green", "eu-dcc", "", erika},
		{"a forged DCC", f.dsc.Make(t, dcctest.Pass{Tamper: true}), pol, "red", "eu-dcc", "dcc_bad_signature", nil},
		{"an SHC, no policy", f.is.Make(t, shctest.Card{}), nil, "green", "shc", "", jane},
		{"an SHC within the policy", f.is.Make(t, shctest.Card{}), pol, "green", "shc", "", jane},
		{"an SHC of another product", f.is.Make(t, shctest.Card{Immunizations: []map[string]any{shctest.Immunization(cvx, "207", "2026-03-01")}}), pol, "red", "shc", "policy_product_not_accepted", jane},
		{"an SHC dose too old", f.is.Make(t, shctest.Card{Immunizations: []map[string]any{shctest.Immunization(cvx, "208", "2025-01-01")}}), pol, "red", "shc", "policy_dose_too_old", jane},
		{"an SHC with one old and one recent dose", f.is.Make(t, shctest.Card{Immunizations: []map[string]any{shctest.Immunization(cvx, "208", "2025-01-01"), shctest.Immunization(cvx, "208", "2026-05-30")}}), pol, "red", "shc", "policy_dose_too_recent", jane},
		{"an SHC with no Immunization", f.is.Make(t, shctest.Card{Immunizations: []map[string]any{}}), pol, "red", "shc", "policy_no_vaccination", jane},
		{"a forged SHC", f.is.Make(t, shctest.Card{Tamper: true}), pol, "red", "shc", "shc_bad_signature", nil},
		{"our envelope", "SSI1:ABC", pol, "red", "ssi", "pass_ssi_envelope", nil},
		{"a later envelope version", "SSI2:ABC", pol, "red", "ssi", "pass_ssi_envelope", nil},
		{"a URL", "https://example.com/", pol, "red", "", "pass_unknown_format", nil},
		{"empty", "", nil, "red", "", "pass_unknown_format", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := passcheck.Check(c.text, f.trust, c.policy, at)
			assert.Equal(t, c.verdict, v.Verdict)
			assert.Equal(t, c.format, v.Format)
			if c.reason == "" {
				assert.Empty(t, v.Reasons)
				assert.NotNil(t, v.Reasons) // "reasons": [] in JSON
			} else {
				assert.Equal(t, []string{c.reason}, v.Reasons)
			}
			assert.Equal(t, c.holder, v.Holder)
		})
	}
}

// TestVerdictDocument: the JSON shape, and which refusals are unreadable.
func TestVerdictDocument(t *testing.T) {
	f := newFixture(t)
	out, err := json.Marshal(passcheck.Check(f.is.Make(t, shctest.Card{}), f.trust, nil, at))
	require.NoError(t, err)
	assert.JSONEq(t, `{"verdict":"green","format":"shc","reasons":[],"holder":{"name":"Jane Q. Public","birth_date":"1970-05-06"}}`, string(out))
	out, err = json.Marshal(passcheck.Check("HC1:GGW", f.trust, nil, at))
	require.NoError(t, err)
	assert.JSONEq(t, `{"verdict":"red","format":"eu-dcc","reasons":["qr_base45_overflow"]}`, string(out))

	for text, want := range map[string]bool{
		"nonsense":    true,
		"HC1:GGW":     true,
		"shc:/1/2/00": true,
		f.dsc.Make(t, dcctest.Pass{Tamper: true}): false,
		f.is.Make(t, shctest.Card{Tamper: true}):  false,
		f.dsc.Make(t, dcctest.Pass{}):             false,
	} {
		v := passcheck.Check(text, f.trust, nil, at)
		assert.Equal(t, want, v.Unreadable(), text[:min(len(text), 12)])
		if v.Verdict == "red" {
			assert.Equal(t, v.Reasons[0], errs.CodeOf(v.Refusal()))
		} else {
			assert.NoError(t, v.Refusal())
		}
	}
}

// TestCheckSSIClaims: our own pass answers through the same policy gate.
func TestCheckSSIClaims(t *testing.T) {
	pol := policy(t, `{"min_days_since_dose":14}`)
	claims := map[string]any{"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1964-08-12", "vaccinated_within_policy": true}
	v := passcheck.CheckSSIClaims(claims, pol)
	assert.Equal(t, passcheck.Verdict{Verdict: "green", Format: "ssi", Reasons: []string{}, Holder: &passcheck.Holder{Name: "Erika Mustermann", BirthDate: "1964-08-12"}}, v)
	claims["vaccinated_within_policy"] = false
	assert.Equal(t, []string{"policy_not_vaccinated"}, passcheck.CheckSSIClaims(claims, pol).Reasons)
	delete(claims, "vaccinated_within_policy")
	assert.Equal(t, []string{"policy_not_vaccinated"}, passcheck.CheckSSIClaims(claims, pol).Reasons)
	assert.Equal(t, "green", passcheck.CheckSSIClaims(claims, nil).Verdict)
	claims["vaccinated_within_policy"] = "true" // a string is not true
	assert.Equal(t, "red", passcheck.CheckSSIClaims(claims, pol).Verdict)
	assert.Nil(t, passcheck.CheckSSIClaims(map[string]any{"vaccinated_within_policy": true}, pol).Holder, "nothing to show")
}

// TestParsePolicy: malformed policies are refused.
func TestParsePolicy(t *testing.T) {
	for _, js := range []string{
		`nonsense`,
		`{"min_days_since_dose":-1}`,
		`{"min_days_since_dose":30,"max_days_since_dose":10}`,
		`{"window":7}`,
		`{"accepted_products":"EU/1/20/1528"}`,
	} {
		_, err := passcheck.ParsePolicy([]byte(js))
		assert.ErrorIs(t, err, passcheck.ErrPolicy, js)
	}
}

// TestTrustSources: the serializable trust survives a JSON round trip (as
// in a trust bundle) and loads into a TrustSet that verifies both formats;
// a bad file is refused with its format's code.
func TestTrustSources(t *testing.T) {
	dsc := dcctest.NewDSC(t, dcctest.DSCOptions{})
	one := shctest.NewIssuer(t, "https://one.example")
	two := shctest.NewIssuer(t, "https://two.example")
	two.CRLVersion = 1
	src := passcheck.TrustSources{
		DCC:            [][]byte{dsc.DER},
		SHCDirectories: [][]byte{shctest.Directory(t, []*shctest.Issuer{one}, nil)},
		SHCJWKS:        []passcheck.IssuerFile{{ISS: two.ISS, Data: two.JWKS(t)}},
		SHCCRLs:        []passcheck.IssuerFile{{ISS: two.ISS, Data: two.CRL(t, 1, "gone")}},
	}
	js, err := json.Marshal(src)
	require.NoError(t, err)
	var back passcheck.TrustSources
	require.NoError(t, json.Unmarshal(js, &back))
	trust, err := back.Load()
	require.NoError(t, err)
	assert.Equal(t, src, trust.Sources(), "the set gives back what it was loaded from")
	assert.Equal(t, passcheck.TrustSources{}, passcheck.TrustSet{}.Sources())
	for text, want := range map[string]string{
		dsc.Make(t, dcctest.Pass{}):            "green",
		one.Make(t, shctest.Card{}):            "green",
		two.Make(t, shctest.Card{}):            "green",
		two.Make(t, shctest.Card{RID: "gone"}): "red",
	} {
		assert.Equal(t, want, passcheck.Check(text, trust, nil, at).Verdict)
	}
	_, err = passcheck.TrustSources{DCC: [][]byte{[]byte("x")}}.Load()
	assert.Equal(t, "dcc_bad_trust_list", errs.CodeOf(err))
	_, err = passcheck.TrustSources{SHCCRLs: []passcheck.IssuerFile{{ISS: "x", Data: []byte("{}")}}}.Load()
	assert.Equal(t, "shc_bad_trust", errs.CodeOf(err))
}
