package shc_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/passcheck/passvectors"
	"github.com/ssi-project/ssi/internal/shc"
	"github.com/ssi-project/ssi/internal/shc/shctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var at = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// TestUpstreamVectors: the SMART Health Card examples get their expected
// results with the example issuer's JWKS and CRL, and the valid one is
// refused by a trust that lacks its issuer.
func TestUpstreamVectors(t *testing.T) {
	set := passvectors.SHC(t)
	var trust shc.Trust
	require.NoError(t, trust.AddJWKS(set.Issuer, set.JWKS))
	require.NoError(t, trust.AddCRL(set.Issuer, set.CRL))
	require.Len(t, set.Cases, 3)
	for _, c := range set.Cases {
		t.Run(c.Name, func(t *testing.T) {
			tr := &shc.Trust{}
			if c.Trust {
				tr = &trust
			}
			card, err := shc.Verify(c.Text, tr, set.At)
			if c.Valid {
				require.NoError(t, err)
				assert.Equal(t, c.Holder, card.Patient.FullName())
				assert.Equal(t, "1951-01-20", card.Patient.BirthDate)
				require.Len(t, card.Immunizations, 3)
				assert.Equal(t, shc.Coding{System: "http://hl7.org/fhir/sid/cvx", Code: "207"}, card.Immunizations[0].Codes[0])
				return
			}
			require.Error(t, err)
			assert.Equal(t, c.Reason, passvectors.ReasonClass[errs.CodeOf(err)], "%v", err)
		})
	}
}

// TestVerifyAccepts: a card made here verifies through a JWKS file and
// through a directory snapshot, and a rid.ts older than nbf does not
// revoke it.
func TestVerifyAccepts(t *testing.T) {
	is := shctest.NewIssuer(t, "https://issuer.example/shc")
	is.CRLVersion = 2
	crl := is.CRL(t, 2, "other", "mine."+itoa(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Unix()))
	var viaFiles, viaDir shc.Trust
	require.NoError(t, viaFiles.AddJWKS(is.ISS, is.JWKS(t)))
	require.NoError(t, viaFiles.AddCRL(is.ISS, crl))
	require.NoError(t, viaDir.AddDirectory(shctest.Directory(t, []*shctest.Issuer{is}, [][]byte{crl})))
	text := is.Make(t, shctest.Card{RID: "mine", EXP: at.AddDate(1, 0, 0)})
	for name, tr := range map[string]*shc.Trust{"files": &viaFiles, "directory": &viaDir} {
		t.Run(name, func(t *testing.T) {
			card, err := shc.Verify(text, tr, at)
			require.NoError(t, err)
			assert.Equal(t, "Jane Q. Public", card.Patient.FullName())
			assert.Equal(t, "1970-05-06", card.Patient.BirthDate)
			require.Len(t, card.Immunizations, 2)
			assert.Equal(t, "2026-02-02", card.Immunizations[1].Date)
			assert.Equal(t, "completed", card.Immunizations[1].Status)
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestVerifyRefusals: every refusal, each with its own code.
func TestVerifyRefusals(t *testing.T) {
	is := shctest.NewIssuer(t, "https://issuer.example/shc")
	is.CRLVersion = 1
	stranger := shctest.NewIssuer(t, "https://stranger.example")
	impostor := shctest.NewIssuer(t, is.ISS) // same iss, a key not in the JWKS
	noCRL := shctest.NewIssuer(t, "https://nocrl.example")
	noCRL.CRLVersion = 3
	var trust shc.Trust
	require.NoError(t, trust.AddJWKS(is.ISS, is.JWKS(t)))
	require.NoError(t, trust.AddCRL(is.ISS, is.CRL(t, 1, "gone", "later."+itoa(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Unix()))))
	require.NoError(t, trust.AddJWKS(noCRL.ISS, noCRL.JWKS(t)))
	require.NoError(t, trust.AddCRL(noCRL.ISS, noCRL.CRL(t, 2)))
	good := is.Make(t, shctest.Card{})
	digits := strings.TrimPrefix(good, shc.Prefix)
	for _, c := range []struct {
		name, text, code string
		at               time.Time
	}{
		{"no prefix", digits, "shc_wrong_prefix", at},
		{"an upper-case prefix", "SHC:/" + digits, "shc_wrong_prefix", at},
		{"an EU DCC", "HC1:NCF", "shc_wrong_prefix", at},
		{"the chunked form", shc.Prefix + "1/2/" + digits, "shc_chunked", at},
		{"an odd number of digits", good + "5", "shc_bad_numeric", at},
		{"no digits", shc.Prefix, "shc_bad_numeric", at},
		{"a letter", good[:len(good)-2] + "a1", "shc_bad_numeric", at},
		{"a character just below 0", good[:len(good)-2] + "-1", "shc_bad_numeric", at},
		{"a character just above 9", good[:len(good)-2] + "1:", "shc_bad_numeric", at},
		{"a pair over 77", good + "78", "shc_bad_numeric", at},
		{"too long", shc.Prefix + strings.Repeat("00", shc.MaxTextLen/2), "shc_too_large", at},
		{"two parts", shc.EncodeNumeric("abc.def"), "shc_malformed_jws", at},
		{"padding in the signature", good + shc.EncodeNumeric("==")[len(shc.Prefix):], "shc_malformed_jws", at},
		{"alg ES384", is.Make(t, shctest.Card{Header: map[string]any{"zip": "DEF", "alg": "ES384", "kid": is.KID}}), "shc_unsupported_header", at},
		{"no zip", is.Make(t, shctest.Card{Header: map[string]any{"alg": "ES256", "kid": is.KID}}), "shc_unsupported_header", at},
		{"no kid", is.Make(t, shctest.Card{Header: map[string]any{"zip": "DEF", "alg": "ES256"}}), "shc_unsupported_header", at},
		{"a crit", is.Make(t, shctest.Card{Header: map[string]any{"zip": "DEF", "alg": "ES256", "kid": is.KID, "crit": []any{"x"}}}), "shc_unsupported_header", at},
		{"not DEFLATE", is.Make(t, shctest.Card{Deflated: []byte(`{"iss":"x"}`)}), "shc_bad_deflate", at},
		{"a byte after the DEFLATE stream", is.Make(t, shctest.Card{Deflated: append(shctest.Deflate(t, []byte(`{}`)), 0)}), "shc_bad_deflate", at},
		{"a deflate bomb", is.Make(t, shctest.Card{Deflated: shctest.Deflate(t, make([]byte, 4<<20))}), "shc_too_large", at},
		{"a payload that is not JSON", is.Make(t, shctest.Card{Payload: []byte("not json")}), "shc_bad_payload", at},
		{"a payload without vc", is.Make(t, shctest.Card{Payload: []byte(`{"iss":"https://issuer.example/shc","nbf":1}`)}), "shc_bad_payload", at},
		{"a payload with a duplicate member", is.Make(t, shctest.Card{Payload: []byte(`{"iss":"a","iss":"b"}`)}), "shc_bad_payload", at},
		{"no Patient", is.Make(t, shctest.Card{NoPatient: true}), "shc_bad_payload", at},
		{"not a health card", is.Make(t, shctest.Card{Payload: []byte(`{"iss":"https://issuer.example/shc","nbf":1772409600,"vc":{"type":["VerifiableCredential"],"credentialSubject":{"fhirBundle":{"entry":[{"resource":{"resourceType":"Patient"}}]}}}}`)}), "shc_bad_payload", at},
		{"a Patient whose name is a string", is.Make(t, shctest.Card{Payload: bundle(t, is.ISS, map[string]any{"resourceType": "Patient", "name": "Jane"})}), "shc_bad_payload", at},
		{"a Patient whose given names are a string", is.Make(t, shctest.Card{Payload: bundle(t, is.ISS, map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"given": "Jane"}}})}), "shc_bad_payload", at},
		{"an unknown issuer", stranger.Make(t, shctest.Card{}), "shc_unknown_issuer", at},
		{"a key not in the issuer's JWKS", impostor.Make(t, shctest.Card{}), "shc_unknown_key", at},
		{"a bad signature", is.Make(t, shctest.Card{Tamper: true}), "shc_bad_signature", at},
		{"not yet valid", good, "shc_not_yet_valid", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"expired", is.Make(t, shctest.Card{EXP: at.Add(-time.Hour)}), "shc_expired", at},
		{"revoked by rid", is.Make(t, shctest.Card{RID: "gone"}), "shc_revoked", at},
		{"revoked by rid.ts after nbf", is.Make(t, shctest.Card{RID: "later"}), "shc_revoked", at},
		{"a key whose CRL is older than its crlVersion", noCRL.Make(t, shctest.Card{}), "shc_crl_unavailable", at},
	} {
		t.Run(c.name, func(t *testing.T) {
			card, err := shc.Verify(c.text, &trust, c.at)
			require.Error(t, err)
			assert.Nil(t, card)
			assert.Equal(t, c.code, errs.CodeOf(err), "%v", err)
			assert.Equal(t, errs.Invalid, errs.KindOf(err))
		})
	}
	// Another resource's name is a string: no matter.
	card, err := shc.Verify(is.Make(t, shctest.Card{Payload: bundle(t, is.ISS,
		map[string]any{"resourceType": "Organization", "name": "Clinic"},
		map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"family": "Doe", "given": []any{"J."}}}, "birthDate": "1980"})}), &trust, at)
	require.NoError(t, err)
	assert.Equal(t, shc.Patient{Given: []string{"J."}, Family: "Doe", BirthDate: "1980"}, card.Patient)
	// rid.ts before the card's nbf leaves it valid.
	_, err = shc.Verify(is.Make(t, shctest.Card{RID: "later", NBF: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)}), &trust, at)
	assert.NoError(t, err)
}

// TestTrustFiles: malformed trust files are refused whole.
func TestTrustFiles(t *testing.T) {
	is := shctest.NewIssuer(t, "https://issuer.example/shc")
	for _, c := range []struct {
		name string
		add  func(*shc.Trust) error
	}{
		{"a directory that is not JSON", func(tr *shc.Trust) error { return tr.AddDirectory([]byte("x")) }},
		{"an empty directory", func(tr *shc.Trust) error { return tr.AddDirectory([]byte(`{"participating_issuers":[]}`)) }},
		{"a directory issuer without iss", func(tr *shc.Trust) error {
			return tr.AddDirectory([]byte(`{"participating_issuers":[{"issuer":{"name":"x"},"keys":[]}]}`))
		}},
		{"a JWKS with a private key", func(tr *shc.Trust) error {
			return tr.AddJWKS(is.ISS, []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}`))
		}},
		{"a JWKS with a text crlVersion", func(tr *shc.Trust) error {
			m := is.JWK(t)
			m["crlVersion"] = "1"
			b, _ := json.Marshal(map[string]any{"keys": []any{m}})
			return tr.AddJWKS(is.ISS, b)
		}},
		{"a CRL with another method", func(tr *shc.Trust) error {
			return tr.AddCRL(is.ISS, []byte(`{"kid":"k","method":"hash","ctr":1,"rids":[]}`))
		}},
		{"a CRL with a bad timestamp", func(tr *shc.Trust) error {
			return tr.AddCRL(is.ISS, []byte(`{"kid":"k","method":"rid","ctr":1,"rids":["a.b"]}`))
		}},
		{"a JWKS for no issuer", func(tr *shc.Trust) error { return tr.AddJWKS("", is.JWKS(t)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tr shc.Trust
			assert.Equal(t, "shc_bad_trust", errs.CodeOf(c.add(&tr)))
			assert.Zero(t, tr.Issuers())
		})
	}
	// A key whose kid is not its thumbprint is left out.
	m := is.JWK(t)
	m["kid"] = "not-the-thumbprint"
	b, _ := json.Marshal(map[string]any{"keys": []any{m}})
	var tr shc.Trust
	require.NoError(t, tr.AddJWKS(is.ISS, b))
	_, err := shc.Verify(is.Make(t, shctest.Card{}), &tr, at)
	assert.Equal(t, "shc_unknown_key", errs.CodeOf(err))
}

// bundle returns a card payload of iss whose bundle holds resources.
func bundle(t *testing.T, iss string, resources ...map[string]any) []byte {
	var entries []any
	for _, r := range resources {
		entries = append(entries, map[string]any{"resource": r})
	}
	b, err := json.Marshal(map[string]any{"iss": iss, "nbf": 1772409600, "vc": map[string]any{
		"type":              []any{"https://smarthealth.cards#health-card"},
		"credentialSubject": map[string]any{"fhirBundle": map[string]any{"resourceType": "Bundle", "entry": entries}},
	}})
	require.NoError(t, err)
	return b
}
