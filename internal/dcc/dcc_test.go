package dcc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/ssi-project/ssi/internal/dcc"
	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/veraison/go-cose"
)

var at = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func trustOf(t *testing.T, signers ...*dcctest.Signer) *dcc.Trust {
	t.Helper()
	var tr dcc.Trust
	for _, s := range signers {
		_, err := tr.AddDER(s.DER, "XX")
		require.NoError(t, err)
	}
	return &tr
}

// hc1 wraps raw (already zlib-compressed or not) bytes as an HC1: text.
func hc1(b []byte) string { return dcc.Prefix + qr.EncodeBase45(b) }

// TestVerifyAccepts: ES256 and PS256 (RSA-2048) passes verify, with the kid
// in the protected or only the unprotected header, and give the holder.
func TestVerifyAccepts(t *testing.T) {
	es := dcctest.NewDSC(t, dcctest.DSCOptions{})
	ps := dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true})
	vacc := dcctest.NewDSC(t, dcctest.DSCOptions{EKU: []asn1.ObjectIdentifier{dcctest.EKUVaccination}})
	legacy := dcctest.NewDSC(t, dcctest.DSCOptions{EKU: []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 2}}})
	trust := trustOf(t, es, ps, vacc, legacy)
	for _, c := range []struct {
		name string
		s    *dcctest.Signer
		p    dcctest.Pass
	}{
		{"ES256", es, dcctest.Pass{}},
		{"PS256", ps, dcctest.Pass{}},
		{"kid only in the unprotected header", es, dcctest.Pass{KIDUnprotected: true}},
		{"alg and kid only in the unprotected header, ES256", es, dcctest.Pass{AlgUnprotected: true}},
		{"alg and kid only in the unprotected header, PS256", ps, dcctest.Pass{AlgUnprotected: true}},
		{"a DSC whose EKU covers vaccinations", vacc, dcctest.Pass{}},
		{"a DSC with the 0.-variant EKU", legacy, dcctest.Pass{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cert, err := dcc.Verify(c.s.Make(t, c.p), trust, at)
			require.NoError(t, err)
			assert.Equal(t, "Erika Mustermann", cert.Name.Full())
			assert.Equal(t, "1964-08-12", cert.DateOfBirth)
			assert.Equal(t, dcc.TypeVaccination, cert.Type)
			require.NotNil(t, cert.Vaccination)
			assert.Equal(t, "EU/1/20/1528", cert.Vaccination.Product)
			assert.Equal(t, int64(2), cert.Vaccination.DoseNumber)
			assert.Equal(t, c.s.DER, cert.DSC.Cert.Raw)
			assert.Equal(t, "XX", cert.Issuer)
		})
	}
}

// TestVerifyRefusals: every refusal of the issue, each with its own code.
func TestVerifyRefusals(t *testing.T) {
	es := dcctest.NewDSC(t, dcctest.DSCOptions{})
	ps := dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true})
	other := dcctest.NewDSC(t, dcctest.DSCOptions{})
	testOnly := dcctest.NewDSC(t, dcctest.DSCOptions{EKU: []asn1.ObjectIdentifier{dcctest.EKUTest}})
	testOnlyLegacy := dcctest.NewDSC(t, dcctest.DSCOptions{EKU: []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1}}})
	late := dcctest.NewDSC(t, dcctest.DSCOptions{NotBefore: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)})
	short := dcctest.NewDSC(t, dcctest.DSCOptions{NotAfter: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)})
	trust := trustOf(t, es, ps, testOnly, testOnlyLegacy, late, short)
	good := es.Make(t, dcctest.Pass{})
	cwt := func(m map[int]any) []byte {
		b, err := cbor.Marshal(m)
		require.NoError(t, err)
		return b
	}
	vacc := dcctest.Vaccination("EU/1/20/1528", "2026-03-01", 2, 2)
	test := map[string]any{"tg": "840539006", "tt": "LP6464-4", "sc": "2026-03-01T10:00:00Z", "tr": "260415000", "tc": "x", "co": "XX", "is": "x", "ci": "y"}
	signedCWT := func(m map[int]any) string { return es.Make(t, dcctest.Pass{Payload: cwt(m)}) }
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	es384 := &dcctest.Signer{DER: es.DER, Cert: es.Cert, Key: p384, Alg: cose.AlgorithmES384}
	for _, c := range []struct {
		name, text, code string
		at               time.Time
	}{
		{"no prefix", strings.TrimPrefix(good, "HC1:"), "dcc_wrong_prefix", at},
		{"another context (HC2:)", "HC2:" + strings.TrimPrefix(good, "HC1:"), "dcc_wrong_prefix", at},
		{"a lower-case prefix", "hc1:" + strings.TrimPrefix(good, "HC1:"), "dcc_wrong_prefix", at},
		{"our own envelope", "SSI1:ABC", "dcc_wrong_prefix", at},
		{"too long", "HC1:" + strings.Repeat("0", dcc.MaxTextLen), "dcc_too_large", at},
		{"a character outside Base45", good[:len(good)-3] + "a" + good[len(good)-2:], "qr_base45_character", at},
		{"a Base45 triplet over 65535", good + "GGW", "qr_base45_overflow", at},
		{"a dangling Base45 character", good + "0", "qr_invalid_base45", at},
		{"not zlib", hc1(es.COSE(t, dcctest.Pass{})), "dcc_bad_zlib", at},
		{"a truncated zlib stream", hc1(dcctest.Deflate(t, es.COSE(t, dcctest.Pass{}))[:40]), "dcc_bad_zlib", at},
		{"a byte after the zlib stream", hc1(append(dcctest.Deflate(t, es.COSE(t, dcctest.Pass{})), 0)), "dcc_bad_zlib", at},
		{"a zlib bomb", hc1(dcctest.Deflate(t, make([]byte, 1<<20))), "dcc_too_large", at},
		{"not CBOR", hc1(dcctest.Deflate(t, []byte{0xd2, 0x84, 0xff})), "dcc_bad_cbor", at},
		{"CBOR with trailing bytes", hc1(dcctest.Deflate(t, append(es.COSE(t, dcctest.Pass{}), 0x00))), "dcc_bad_cbor", at},
		{"a CBOR map, not COSE", hc1(dcctest.Deflate(t, cwt(map[int]any{1: 2}))), "dcc_bad_cose", at},
		{"a lone COSE_Sign1 tag", hc1(dcctest.Deflate(t, []byte{0xd2})), "dcc_bad_cbor", at},
		{"COSE_Sign1 with three members", hc1(dcctest.Deflate(t, []byte{0xd2, 0x83, 0x40, 0xa0, 0x40})), "dcc_bad_cose", at},
		{"COSE_Sign1 with a detached payload", hc1(dcctest.Deflate(t, []byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0xf6, 0x41, 0x00})), "dcc_bad_cose", at},
		{"ES384", es384.Make(t, dcctest.Pass{}), "dcc_unsupported_alg", at},
		{"an unknown kid", other.Make(t, dcctest.Pass{}), "dcc_unknown_kid", at},
		{"a short kid", es.Make(t, dcctest.Pass{KID: []byte{1, 2, 3}}), "dcc_unknown_kid", at},
		{"a bad ES256 signature", es.Make(t, dcctest.Pass{Tamper: true}), "dcc_bad_signature", at},
		{"a bad PS256 signature", ps.Make(t, dcctest.Pass{Tamper: true}), "dcc_bad_signature", at},
		{"a bad signature, alg unprotected", es.Make(t, dcctest.Pass{AlgUnprotected: true, Tamper: true}), "dcc_bad_signature", at},
		{"expired", good, "dcc_expired", time.Date(2027, 3, 3, 0, 0, 0, 0, time.UTC)},
		{"not yet valid", good, "dcc_not_yet_valid", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"iat before the DSC's validity", late.Make(t, dcctest.Pass{}), "dcc_iat_before_dsc", at},
		{"exp after the DSC's validity", short.Make(t, dcctest.Pass{}), "dcc_exp_after_dsc", at},
		{"a test DSC signing a vaccination", testOnly.Make(t, dcctest.Pass{}), "dcc_key_usage", at},
		{"a 0.-variant test DSC signing a vaccination", testOnlyLegacy.Make(t, dcctest.Pass{}), "dcc_key_usage", at},
		{"two vaccinations", es.Make(t, dcctest.Pass{Entries: map[string]any{"v": []any{vacc, vacc}}}), "dcc_entry_count", at},
		{"a vaccination and a test", es.Make(t, dcctest.Pass{Entries: map[string]any{"v": []any{vacc}, "t": []any{test}}}), "dcc_entry_count", at},
		{"no entry", es.Make(t, dcctest.Pass{Entries: map[string]any{"v": []any{}}}), "dcc_entry_count", at},
		{"a CWT that is not a map", es.Make(t, dcctest.Pass{Payload: []byte{0x01}}), "dcc_bad_claims", at},
		{"a CWT without iat", signedCWT(map[int]any{1: "XX", 4: at.Unix() + 10, -260: map[int]any{1: map[string]any{}}}), "dcc_bad_claims", at},
		{"a CWT with a text exp", signedCWT(map[int]any{1: "XX", 6: 1, 4: "soon", -260: map[int]any{1: map[string]any{}}}), "dcc_bad_claims", at},
		{"a CWT without hcert", signedCWT(map[int]any{1: "XX", 6: 1, 4: at.Unix() + 10}), "dcc_bad_claims", at},
		{"an hcert without nam", signedCWT(map[int]any{1: "XX", 6: 1, 4: at.Unix() + 10, -260: map[int]any{1: map[string]any{"dob": "1970", "v": []any{vacc}}}}), "dcc_bad_claims", at},
		{"a dose number that is text", signedCWT(map[int]any{1: "XX", 6: 1, 4: at.Unix() + 10, -260: map[int]any{1: map[string]any{"nam": map[string]any{}, "dob": "1970", "v": []any{map[string]any{"dn": "2"}}}}}), "dcc_bad_claims", at},
	} {
		t.Run(c.name, func(t *testing.T) {
			cert, err := dcc.Verify(c.text, trust, c.at)
			require.Error(t, err)
			assert.Nil(t, cert)
			assert.Equal(t, c.code, errs.CodeOf(err), "%v", err)
			assert.Equal(t, errs.Invalid, errs.KindOf(err))
		})
	}
}

// TestTrustFiles: a DSC loads from PEM, DER and the JSON list, and each
// malformed file is refused whole.
func TestTrustFiles(t *testing.T) {
	a := dcctest.NewDSC(t, dcctest.DSCOptions{})
	b := dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true})
	pemOf := func(ss ...*dcctest.Signer) []byte {
		var out []byte
		for _, s := range ss {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.DER})...)
		}
		return out
	}
	list := func(kid []byte, der []byte) []byte {
		out, err := json.Marshal(map[string]any{"certificates": []any{map[string]any{
			"kid": base64.StdEncoding.EncodeToString(kid), "rawData": base64.StdEncoding.EncodeToString(der), "country": "XX",
		}}})
		require.NoError(t, err)
		return out
	}
	for _, c := range []struct {
		name string
		file []byte
		n    int
	}{
		{"PEM with two certificates", pemOf(a, b), 2},
		{"DER", a.DER, 1},
		{"the JSON list", list(a.KID(), a.DER), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tr dcc.Trust
			require.NoError(t, tr.AddFile(c.file))
			assert.Equal(t, c.n, tr.Len())
			_, err := dcc.Verify(a.Make(t, dcctest.Pass{}), &tr, at)
			assert.NoError(t, err)
		})
	}
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"garbage", []byte("not a certificate")},
		{"a PEM private key", append(pemOf(a), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...)},
		{"PEM then text", append(pemOf(a), "trailing"...)},
		{"a JSON list whose kid is another certificate's", list(b.KID(), a.DER)},
		{"a JSON list with rawData that is not base64", []byte(`{"certificates":[{"kid":"","rawData":"!!"}]}`)},
		{"an empty JSON list", []byte(`{"certificates":[]}`)},
		{"JSON with a duplicate member", []byte(`{"certificates":[],"certificates":[]}`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tr dcc.Trust
			err := tr.AddFile(c.file)
			assert.Equal(t, "dcc_bad_trust_list", errs.CodeOf(err), "%v", err)
			assert.Zero(t, tr.Len())
		})
	}
}
