package verifier

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/passcheck/passvectors"
	"github.com/ssi-project/ssi/internal/shc/shctest"
)

// withPasses gives the test server's venue a trust for other systems'
// passes (and the policy a vaccination rule) after it was built.
func (s *server) withPasses(t *testing.T, src passcheck.TrustSources, rule *passcheck.Policy) {
	t.Helper()
	trust, err := src.Load()
	require.NoError(t, err)
	v := s.svc.venues["venue"]
	v.Passes = &trust
	v.Policies[0].Vaccination = rule
}

// offlinePass posts text to POST /verifier/v1/offline at time at.
func (s *server) offlinePass(t *testing.T, text string, at time.Time) (int, map[string]any) {
	t.Helper()
	s.now = at
	body, err := json.Marshal(OfflineRequest{QR: text})
	require.NoError(t, err)
	status, _, m := s.do(t, "POST", "/verifier/v1/offline", s.key, "application/json", body)
	return status, m
}

// TestOfflineUpstreamPasses: every upstream EU DCC and SMART Health Card
// vector gets its expected verdict and reason class through POST
// /verifier/v1/offline at its validation time (issue 18, acceptance 1,
// endpoint half). A text that does not decode is a 4xx problem with the
// code, as an envelope that does not decode is.
func TestOfflineUpstreamPasses(t *testing.T) {
	s := newServer(t)
	class := func(status int, m map[string]any) string {
		if status == 200 {
			reasons, _ := m["reasons"].([]any)
			require.Len(t, reasons, 1, m)
			return passvectors.ReasonClass[reasons[0].(string)]
		}
		assert.Less(t, status, 500)
		code, _ := m["code"].(string)
		if code == "qr_unknown_prefix" { // not HC1:, so the envelope decoder's
			return "prefix"
		}
		return passvectors.ReasonClass[code]
	}
	for _, c := range passvectors.DCC(t) {
		t.Run(c.Name, func(t *testing.T) {
			s.withPasses(t, passcheck.TrustSources{DCC: [][]byte{c.DSC}}, nil)
			status, m := s.offlinePass(t, c.Text, c.At)
			if c.Valid {
				require.Equal(t, 200, status, m)
				assert.Equal(t, "green", m["verdict"])
				assert.Equal(t, "eu-dcc", m["format"])
				assert.Equal(t, map[string]any{"name": c.Holder, "birth_date": "1998-02-26"}, m["holder"])
				return
			}
			if status == 200 {
				assert.Equal(t, "red", m["verdict"])
				assert.Nil(t, m["holder"])
			}
			assert.Equal(t, c.Reason, class(status, m), m)
		})
	}
	set := passvectors.SHC(t)
	for _, c := range set.Cases {
		t.Run(c.Name, func(t *testing.T) {
			src := passcheck.TrustSources{}
			if c.Trust {
				src.SHCJWKS = []passcheck.IssuerFile{{ISS: set.Issuer, Data: set.JWKS}}
				src.SHCCRLs = []passcheck.IssuerFile{{ISS: set.Issuer, Data: set.CRL}}
			}
			s.withPasses(t, src, nil)
			status, m := s.offlinePass(t, c.Text, set.At)
			require.Equal(t, 200, status, m)
			assert.Equal(t, "shc", m["format"])
			if c.Valid {
				assert.Equal(t, "green", m["verdict"])
				assert.Equal(t, map[string]any{"name": c.Holder, "birth_date": "1951-01-20"}, m["holder"])
				return
			}
			assert.Equal(t, "red", m["verdict"])
			assert.Equal(t, c.Reason, class(status, m), m)
		})
	}
}

// TestOfflineSSIVerdict: our own pass answers the same document: format
// ssi and the holder from the shown claims.
func TestOfflineSSIVerdict(t *testing.T) {
	s := newServer(t)
	body, err := json.Marshal(OfflineRequest{QR: s.offlineQR(nil)})
	require.NoError(t, err)
	status, _, m := s.do(t, "POST", "/verifier/v1/offline", s.key, "application/json", body)
	require.Equal(t, 200, status, m)
	assert.Equal(t, "green", m["verdict"])
	assert.Equal(t, "ssi", m["format"])
	assert.Equal(t, map[string]any{"name": "Erika Mustermann", "birth_date": "1963-08-12"}, m["holder"])
}

// TestOfflinePasses: passes made here, the policy's vaccination rule, and
// a venue without a trust for them.
func TestOfflinePasses(t *testing.T) {
	s := newServer(t)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	dsc := dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true})
	is := shctest.NewIssuer(t, "https://issuer.example/shc")
	card, pass := is.Make(t, shctest.Card{}), dsc.Make(t, dcctest.Pass{})

	status, m := s.offlinePass(t, pass, at)
	assert.Equal(t, 400, status)
	assert.Equal(t, "unsupported_pass_format", m["code"], "a venue without a trust for passes")

	rule, err := passcheck.ParsePolicy([]byte(`{"min_days_since_dose":14,"accepted_products":["EU/1/20/1528"]}`))
	require.NoError(t, err)
	s.withPasses(t, passcheck.TrustSources{
		DCC:            [][]byte{dsc.DER},
		SHCDirectories: [][]byte{shctest.Directory(t, []*shctest.Issuer{is}, nil)},
	}, rule)
	for _, c := range []struct {
		name, text, verdict, reason string
		status                      int
	}{
		{"a DCC within the rule", pass, "green", "", 200},
		{"a DCC of another product", dsc.Make(t, dcctest.Pass{Product: "EU/1/21/1529"}), "red", "policy_product_not_accepted", 200},
		{"a forged DCC", dsc.Make(t, dcctest.Pass{Tamper: true}), "red", "dcc_bad_signature", 200},
		{"an SHC whose product the rule does not list", card, "red", "policy_product_not_accepted", 200},
		{"a chunked SHC", "shc:/1/2/5676", "", "shc_chunked", 400},
		{"bad Base45 in a DCC", "HC1:GGW", "", "qr_base45_overflow", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, m := s.offlinePass(t, c.text, at)
			require.Equal(t, c.status, status, m)
			if status != 200 {
				assert.Equal(t, c.reason, m["code"])
				return
			}
			assert.Equal(t, c.verdict, m["verdict"])
			if c.reason != "" {
				assert.Equal(t, []any{c.reason}, m["reasons"])
			}
		})
	}
}
