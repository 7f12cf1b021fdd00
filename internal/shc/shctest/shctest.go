// Package shctest makes SMART Health Cards for tests: an issuer with a
// P-256 key, its JWKS, CRL and VCI directory files, and shc:/ texts signed
// by it, with switches for every way a card can be wrong. It is imported
// only from tests.
package shctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/inflate/inflatetest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/shc"
)

// Issuer is a test SHC issuer.
type Issuer struct {
	ISS        string
	Key        *ecdsa.PrivateKey
	KID        string
	CRLVersion int // written into the JWKS when > 0
}

// NewIssuer makes an issuer with a fresh P-256 key.
func NewIssuer(t testing.TB, iss string) *Issuer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := keys.Thumbprint(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{ISS: iss, Key: k, KID: kid}
}

// JWK returns the issuer's public JWK as the JWKS holds it.
func (is *Issuer) JWK(t testing.TB) map[string]any {
	t.Helper()
	j, err := keys.JWKFromPublic(&is.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	m := j.Map()
	m["kid"], m["use"], m["alg"] = is.KID, "sig", "ES256"
	if is.CRLVersion > 0 {
		m["crlVersion"] = is.CRLVersion
	}
	return m
}

// JWKS returns the issuer's .well-known/jwks.json.
func (is *Issuer) JWKS(t testing.TB) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{"keys": []any{is.JWK(t)}})
}

// CRL returns a crl/<kid>.json revoking rids ("rid" or "rid.ts").
func (is *Issuer) CRL(t testing.TB, ctr int, rids ...string) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{"kid": is.KID, "method": "rid", "ctr": ctr, "rids": append([]string{}, rids...)})
}

// Directory returns a VCI directory snapshot of issuers, each with the
// CRL given for it (nil for none).
func Directory(t testing.TB, issuers []*Issuer, crls [][]byte) []byte {
	t.Helper()
	var list []any
	for i, is := range issuers {
		e := map[string]any{
			"issuer": map[string]any{"iss": is.ISS, "name": "Test issuer"},
			"keys":   []any{is.JWK(t)},
		}
		if i < len(crls) && crls[i] != nil {
			var c any
			if err := json.Unmarshal(crls[i], &c); err != nil {
				t.Fatal(err)
			}
			e["crls"] = []any{c}
		}
		list = append(list, e)
	}
	return mustJSON(t, map[string]any{"participating_issuers": list})
}

// Card describes a card to make. Zero values give a card issued
// 2026-03-02 without exp, for Jane Q. Public born 1970-05-06, with two
// completed CVX 208 doses (2026-01-05 and 2026-02-02).
type Card struct {
	NBF, EXP      time.Time
	RID           string
	Immunizations []map[string]any // nil: the two doses above
	NoPatient     bool
	Header        map[string]any // overrides the JWS header
	Payload       []byte         // replaces the JSON payload (deflated as given)
	Deflated      []byte         // replaces the compressed payload
	Tamper        bool
}

// Immunization returns a FHIR Immunization resource.
func Immunization(system, code, date string) map[string]any {
	return map[string]any{
		"resourceType": "Immunization", "status": "completed",
		"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}},
		"patient":            map[string]any{"reference": "resource:0"},
		"occurrenceDateTime": date, "lotNumber": "0000001",
		"performer": []any{map[string]any{"actor": map[string]any{"display": "ABC General Hospital"}}},
	}
}

// JWS returns the compact JWS of c signed by is.
func (is *Issuer) JWS(t testing.TB, c Card) string {
	t.Helper()
	if c.NBF.IsZero() {
		c.NBF = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	}
	payload := c.Payload
	if payload == nil {
		ims := c.Immunizations
		if ims == nil {
			ims = []map[string]any{
				Immunization("http://hl7.org/fhir/sid/cvx", "208", "2026-01-05"),
				Immunization("http://hl7.org/fhir/sid/cvx", "208", "2026-02-02"),
			}
		}
		var entries []any
		if !c.NoPatient {
			entries = append(entries, map[string]any{"fullUrl": "resource:0", "resource": map[string]any{
				"resourceType": "Patient",
				"name":         []any{map[string]any{"family": "Public", "given": []any{"Jane", "Q."}}},
				"birthDate":    "1970-05-06",
			}})
		}
		for i, im := range ims {
			entries = append(entries, map[string]any{"fullUrl": "resource:" + string(rune('1'+i)), "resource": im})
		}
		vc := map[string]any{
			"type": []any{"https://smarthealth.cards#health-card", "https://smarthealth.cards#immunization"},
			"credentialSubject": map[string]any{"fhirVersion": "4.0.1", "fhirBundle": map[string]any{
				"resourceType": "Bundle", "type": "collection", "entry": entries,
			}},
		}
		if c.RID != "" {
			vc["rid"] = c.RID
		}
		claims := map[string]any{"iss": is.ISS, "nbf": c.NBF.Unix(), "vc": vc}
		if !c.EXP.IsZero() {
			claims["exp"] = c.EXP.Unix()
		}
		payload = mustJSON(t, claims)
	}
	deflated := c.Deflated
	if deflated == nil {
		deflated = Deflate(t, payload)
	}
	h := c.Header
	if h == nil {
		h = map[string]any{"zip": "DEF", "alg": "ES256", "kid": is.KID}
	}
	b64 := base64.RawURLEncoding
	input := b64.EncodeToString(mustJSON(t, h)) + "." + b64.EncodeToString(deflated)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, is.Key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	if c.Tamper {
		sig[10] ^= 1
	}
	return input + "." + b64.EncodeToString(sig)
}

// Make returns the shc:/ text of c signed by is.
func (is *Issuer) Make(t testing.TB, c Card) string {
	t.Helper()
	return shc.EncodeNumeric(is.JWS(t, c))
}

// Deflate returns b as a raw DEFLATE stream.
func Deflate(t testing.TB, b []byte) []byte {
	t.Helper()
	return inflatetest.Raw(t, b)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
