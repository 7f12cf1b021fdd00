package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/passcheck/passvectors"
	"github.com/ssi-project/ssi/internal/shc/shctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// passVerify runs `ssi pass verify args…` with text on standard input and
// returns the exit status and the verdict printed.
func passVerify(t *testing.T, text string, args ...string) (int, passcheck.Verdict) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "qr.txt")
	require.NoError(t, os.WriteFile(in, []byte(text+"\n"), 0o600))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"pass", "verify", "--in", in}, args...), &stdout, &stderr)
	var v passcheck.Verdict
	if code <= 2 {
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &v), "stdout %q stderr %q", stdout.String(), stderr.String())
	}
	return code, v
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

// TestPassVerifyDCCVectors: every upstream EU DCC vector gets its expected
// verdict and reason class through the command, at its validation clock
// (acceptance 1, command half).
func TestPassVerifyDCCVectors(t *testing.T) {
	for _, c := range passvectors.DCC(t) {
		t.Run(c.Name, func(t *testing.T) {
			code, verdict := passVerify(t, c.Text, "--at", c.At.Format(time.RFC3339), "--dcc-trust", writeFile(t, "dsc.der", c.DSC))
			if c.Valid {
				assert.Equal(t, 0, code)
				assert.Equal(t, "green", verdict.Verdict)
				assert.Equal(t, "eu-dcc", verdict.Format)
				require.NotNil(t, verdict.Holder)
				assert.Equal(t, passcheck.Holder{Name: c.Holder, BirthDate: "1998-02-26"}, *verdict.Holder)
				return
			}
			assert.Contains(t, []int{1, 2}, code)
			assert.Equal(t, "red", verdict.Verdict)
			require.Len(t, verdict.Reasons, 1)
			assert.Equal(t, c.Reason, passvectors.ReasonClass[verdict.Reasons[0]], verdict.Reasons[0])
			assert.Nil(t, verdict.Holder)
		})
	}
}

// TestPassVerifySHCVectors: the SMART Health Card examples through the
// command, with the example issuer's JWKS and CRL, and without them.
func TestPassVerifySHCVectors(t *testing.T) {
	set := passvectors.SHC(t)
	trust := []string{
		"--shc-jwks", set.Issuer + "=" + writeFile(t, "jwks.json", set.JWKS),
		"--shc-crl", set.Issuer + "=" + writeFile(t, "crl.json", set.CRL),
	}
	require.Len(t, set.Cases, 3)
	for _, c := range set.Cases {
		t.Run(c.Name, func(t *testing.T) {
			args := []string{"--at", set.At.Format(time.RFC3339)}
			if c.Trust {
				args = append(args, trust...)
			}
			code, verdict := passVerify(t, c.Text, args...)
			assert.Equal(t, "shc", verdict.Format)
			if c.Valid {
				assert.Equal(t, 0, code)
				assert.Equal(t, "green", verdict.Verdict)
				require.NotNil(t, verdict.Holder)
				assert.Equal(t, passcheck.Holder{Name: c.Holder, BirthDate: "1951-01-20"}, *verdict.Holder)
				return
			}
			assert.Equal(t, 1, code)
			require.Len(t, verdict.Reasons, 1)
			assert.Equal(t, c.Reason, passvectors.ReasonClass[verdict.Reasons[0]], verdict.Reasons[0])
		})
	}
}

// TestPassVerifyCommand: passes made here, the policy flag, the exit
// statuses and the configuration errors.
func TestPassVerifyCommand(t *testing.T) {
	dsc := dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true})
	is := shctest.NewIssuer(t, "https://issuer.example/shc")
	dccTrust := writeFile(t, "dsc.der", dsc.DER)
	dir := writeFile(t, "directory.json", shctest.Directory(t, []*shctest.Issuer{is}, nil))
	pol := writeFile(t, "policy.json", []byte(`{"min_days_since_dose":14,"max_days_since_dose":365,"accepted_products":["EU/1/20/1528"]}`))
	at := "2026-06-01T00:00:00Z"
	base := []string{"--at", at, "--dcc-trust", dccTrust, "--shc-directory", dir}
	for _, c := range []struct {
		name    string
		text    string
		args    []string
		code    int
		verdict string
		reason  string
	}{
		{"a DCC", dsc.Make(t, dcctest.Pass{}), base, 0, "green", ""},
		{"a DCC under the policy", dsc.Make(t, dcctest.Pass{}), append(base, "--policy", pol), 0, "green", ""},
		{"a DCC of a product the policy refuses", dsc.Make(t, dcctest.Pass{Product: "EU/1/21/1529"}), append(base, "--policy", pol), 1, "red", "policy_product_not_accepted"},
		{"an SHC without the policy", is.Make(t, shctest.Card{}), base, 0, "green", ""},
		{"an SHC whose CVX product the policy does not list", is.Make(t, shctest.Card{}), append(base, "--policy", pol), 1, "red", "policy_product_not_accepted"},
		{"a forged DCC", dsc.Make(t, dcctest.Pass{Tamper: true}), base, 1, "red", "dcc_bad_signature"},
		{"an expired DCC", dsc.Make(t, dcctest.Pass{}), []string{"--at", "2028-01-01T00:00:00Z", "--dcc-trust", dccTrust}, 1, "red", "dcc_expired"},
		{"a chunked SHC", "shc:/1/2/5676", base, 2, "red", "shc_chunked"},
		{"bad Base45", "HC1:GGW", base, 2, "red", "qr_base45_overflow"},
		{"not a pass", "hello", base, 2, "red", "pass_unknown_format"},
		{"our own envelope", "SSI1:ABC", base, 1, "red", "pass_ssi_envelope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, v := passVerify(t, c.text, c.args...)
			assert.Equal(t, c.code, code)
			assert.Equal(t, c.verdict, v.Verdict)
			if c.reason != "" {
				assert.Equal(t, []string{c.reason}, v.Reasons)
			}
		})
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no subcommand", []string{"pass"}},
		{"a bad --at", []string{"pass", "verify", "--at", "yesterday"}},
		{"a missing trust file", []string{"pass", "verify", "--dcc-trust", filepath.Join(t.TempDir(), "none")}},
		{"a malformed trust file", []string{"pass", "verify", "--dcc-trust", pol}},
		{"--shc-jwks without ISS=", []string{"pass", "verify", "--shc-jwks", dir}},
		{"a malformed policy", []string{"pass", "verify", "--policy", dir}},
		{"an unknown flag", []string{"pass", "verify", "--online"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, 3, run(context.Background(), c.args, &stdout, &stderr))
			assert.Empty(t, stdout.String())
		})
	}
	// Standard input, as the command reads it without --in.
	var stdout bytes.Buffer
	err := runPass(context.Background(), []string{"verify", "--at", at, "--dcc-trust", dccTrust}, strings.NewReader(dsc.Make(t, dcctest.Pass{})+"\r\n"), &stdout, &bytes.Buffer{})
	code, _ := asExitCode(err)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout.String(), `"verdict":"green"`)
}

// TestVenuePasses: a venue of `ssi verifier` configures its trust for
// other systems' passes (the files of `ssi pass verify`) and a policy's
// vaccination rule; a bad file or rule stops the start-up.
func TestVenuePasses(t *testing.T) {
	kek, err := keys.ParseKEK(strings.Repeat("ab", 32))
	require.NoError(t, err)
	signer, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	sealed, err := keys.Seal(signer, kek)
	require.NoError(t, err)
	keyFile := writeFile(t, "venue.key", sealed)
	dsc := dcctest.NewDSC(t, dcctest.DSCOptions{})
	is := shctest.NewIssuer(t, "https://issuer.example/shc")
	file := func(passes *passTrustFile, vaccination string) []verifierVenueFile {
		p := entryPolicy()
		if vaccination != "" {
			p.Vaccination = json.RawMessage(vaccination)
		}
		return []verifierVenueFile{{ID: "venue", DID: "did:key:z", KeyID: "did:key:z#z", KeyFile: keyFile, Policies: []verifierPolicyFile{p}, Passes: passes}}
	}
	passes := &passTrustFile{
		DCC:     []string{writeFile(t, "dsc.der", dsc.DER)},
		SHCJWKS: []string{is.ISS + "=" + writeFile(t, "jwks.json", is.JWKS(t))},
	}
	venues, err := loadVenues(file(passes, `{"min_days_since_dose":14,"accepted_products":["EU/1/21/1529"]}`), kek)
	require.NoError(t, err)
	require.Len(t, venues, 1)
	v := venues[0]
	require.NotNil(t, v.Passes)
	require.NotNil(t, v.Policies[0].Vaccination)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, "green", passcheck.Check(is.Make(t, shctest.Card{}), *v.Passes, nil, at).Verdict)
	assert.Equal(t, []string{"policy_product_not_accepted"}, passcheck.Check(dsc.Make(t, dcctest.Pass{}), *v.Passes, v.Policies[0].Vaccination, at).Reasons)

	venues, err = loadVenues(file(nil, ""), kek)
	require.NoError(t, err)
	assert.Nil(t, venues[0].Passes, "no passes section: HC1: and shc:/ stay refused")
	assert.Nil(t, venues[0].Policies[0].Vaccination)

	_, err = loadVenues(file(&passTrustFile{DCC: []string{keyFile}}, ""), kek)
	assert.ErrorContains(t, err, "dcc_bad_trust_list")
	_, err = loadVenues(file(&passTrustFile{SHCCRLs: []string{"no-equals-sign"}}, ""), kek)
	assert.ErrorContains(t, err, "ISS=FILE")
	_, err = loadVenues(file(nil, `{"window":3}`), kek)
	assert.ErrorContains(t, err, "pass_bad_policy")
}

// venuePassesFile writes an `ssi dev --venue-passes` file: a PS256 DSC
// valid from a month before now, a SMART Health Card issuer (its key with
// crlVersion 1) in a VCI directory whose CRL revokes rid "stolen-card",
// and the vaccination rule (14 days, EU/1/20/1528 and CVX 208).
func venuePassesFile(t *testing.T, now time.Time) (*dcctest.Signer, *shctest.Issuer, string) {
	t.Helper()
	dsc := dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true, NotBefore: now.AddDate(0, -1, 0)})
	is := shctest.NewIssuer(t, "https://issuer.example/shc")
	is.CRLVersion = 1
	file, err := json.Marshal(map[string]any{
		"dcc_trust":       []string{writeFile(t, "dsc.der", dsc.DER)},
		"shc_directories": []string{writeFile(t, "directory.json", shctest.Directory(t, []*shctest.Issuer{is}, [][]byte{is.CRL(t, 1, "stolen-card")}))},
		"vaccination":     map[string]any{"min_days_since_dose": 14, "accepted_products": []string{"EU/1/20/1528", "http://hl7.org/fhir/sid/cvx|208"}},
	})
	require.NoError(t, err)
	return dsc, is, writeFile(t, "passes.json", file)
}

// TestDevVenuePasses: `ssi dev --venue-passes FILE` gives the demo venue a
// trust for EU DCCs and SMART Health Cards and a vaccination rule, and
// POST /verifier/v1/offline answers their verdict over real HTTP.
func TestDevVenuePasses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	now := time.Now().UTC()
	dsc, is, passes := venuePassesFile(t, now)
	dir := t.TempDir()
	base, stop := startDev(t, dir, "--venue-passes", passes)
	defer stop()
	seed := readDevSeed(t, dir)

	issued, dose := now.Add(-time.Hour), now.AddDate(0, 0, -30).Format(time.DateOnly)
	cvx := "http://hl7.org/fhir/sid/cvx"
	for _, c := range []struct {
		name, text, verdict, format, reason string
		holder                              map[string]any
	}{
		{"an EU DCC", dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}), "green", "eu-dcc", "",
			map[string]any{"name": "Erika Mustermann", "birth_date": "1964-08-12"}},
		{"a SMART Health Card", is.Make(t, shctest.Card{NBF: issued, Immunizations: []map[string]any{shctest.Immunization(cvx, "208", dose)}}), "green", "shc", "",
			map[string]any{"name": "Jane Q. Public", "birth_date": "1970-05-06"}},
		{"an EU DCC of a product the rule does not accept", dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose, Product: "EU/1/21/1529"}), "red", "eu-dcc", "policy_product_not_accepted",
			map[string]any{"name": "Erika Mustermann", "birth_date": "1964-08-12"}},
		{"a forged SMART Health Card", is.Make(t, shctest.Card{NBF: issued, Tamper: true}), "red", "shc", "shc_bad_signature", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"qr": c.text})
			req, err := http.NewRequest("POST", base+"/verifier/v1/offline", bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+seed.APIKeys["venue"])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var m map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
			require.Equal(t, 200, resp.StatusCode, m)
			assert.Equal(t, c.verdict, m["verdict"])
			assert.Equal(t, c.format, m["format"])
			if c.reason != "" {
				assert.Equal(t, []any{c.reason}, m["reasons"])
			}
			if c.holder == nil {
				assert.Nil(t, m["holder"])
			} else {
				assert.Equal(t, c.holder, m["holder"])
			}
		})
	}
}
