// Package passvectors loads the public upstream pass vectors in
// ../shared/vectors/passes (outside the repository: EU DCC test data and
// SMART Health Card examples, see the README there) for tests, and skips
// the test with a message when they are absent. It is imported only from
// tests; nothing here is copied into the repository.
package passvectors

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ReasonClass maps verdict reasons (error codes) to the reason classes of
// the upstream manifests.
var ReasonClass = map[string]string{
	"dcc_bad_signature": "signature", "dcc_key_usage": "key-usage",
	"dcc_expired": "time", "dcc_not_yet_valid": "time", "dcc_iat_before_dsc": "time", "dcc_exp_after_dsc": "time",
	"dcc_wrong_prefix": "prefix", "pass_unknown_format": "prefix", "dcc_bad_zlib": "not-zlib",
	"shc_revoked": "revoked", "shc_unknown_issuer": "untrusted-issuer",
}

// DCCCase is one EU DCC vector: its HC1: text, its DSC and the time to
// verify at.
type DCCCase struct {
	Name        string
	Text        string
	DSC         []byte // DER
	At          time.Time
	Valid       bool
	Reason      string // the upstream reason class when not valid
	Holder      string // the holder's name when valid
	Description string
}

// SHCSet is the SMART Health Card examples: one issuer with its JWKS and
// CRL files.
type SHCSet struct {
	Issuer    string
	JWKS, CRL []byte
	// At is a time inside the examples' validity (they were issued
	// 2023-06-22; example 03 expires 2024-06-21).
	At    time.Time
	Cases []SHCCase
}

// SHCCase is one SMART Health Card case.
type SHCCase struct {
	Name   string
	Text   string // shc:/…
	Trust  bool   // verify with the issuer's JWKS and CRL (else with no trust)
	Valid  bool
	Reason string
	Holder string
}

// Dir returns the vectors directory, found beside the module root, or
// skips t.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, "..", "shared", "vectors", "passes")
			if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
				t.Skipf("no upstream pass vectors at %s (../shared is absent)", dir)
			}
			return dir
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

func read(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DCC returns the EU DCC cases (or skips t).
func DCC(t testing.TB) []DCCCase {
	t.Helper()
	dir := Dir(t)
	var m []struct {
		File        string  `json:"file"`
		Description string  `json:"description"`
		Clock       string  `json:"validation_clock"`
		Expected    string  `json:"expected"`
		Reason      *string `json:"reason"`
		HolderName  *string `json:"holder_name"`
	}
	if err := json.Unmarshal(read(t, dir, "dcc/manifest.json"), &m); err != nil || len(m) == 0 {
		t.Fatalf("dcc/manifest.json: %v", err)
	}
	var out []DCCCase
	for _, e := range m {
		var v struct {
			Prefix  string `json:"PREFIX"`
			TestCtx struct {
				Certificate string `json:"CERTIFICATE"`
			} `json:"TESTCTX"`
		}
		if err := json.Unmarshal(read(t, dir, e.File), &v); err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		der, err := base64.StdEncoding.DecodeString(v.TestCtx.Certificate)
		if err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		at, err := time.Parse(time.RFC3339, e.Clock)
		if err != nil {
			t.Fatalf("%s: %v", e.File, err)
		}
		c := DCCCase{Name: filepath.Base(e.File), Text: v.Prefix, DSC: der, At: at, Valid: e.Expected == "valid", Description: e.Description}
		if e.Reason != nil {
			c.Reason = *e.Reason
		}
		if e.HolderName != nil {
			c.Holder = *e.HolderName
		}
		out = append(out, c)
	}
	return out
}

// SHC returns the SMART Health Card set (or skips t).
func SHC(t testing.TB) SHCSet {
	t.Helper()
	dir := Dir(t)
	var m struct {
		Issuer string `json:"issuer"`
		JWKS   string `json:"jwks"`
		CRL    string `json:"crl"`
		Cases  []struct {
			File       string  `json:"file"`
			Trust      string  `json:"trust"`
			Expected   string  `json:"expected"`
			Reason     *string `json:"reason"`
			HolderName *string `json:"holder_name"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(read(t, dir, "shc/manifest.json"), &m); err != nil || len(m.Cases) == 0 {
		t.Fatalf("shc/manifest.json: %v", err)
	}
	s := SHCSet{Issuer: m.Issuer, JWKS: read(t, dir, m.JWKS), CRL: read(t, dir, m.CRL), At: time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)}
	for i, e := range m.Cases {
		c := SHCCase{
			Name:  filepath.Base(e.File) + "#" + string(rune('0'+i)),
			Text:  strings.TrimSpace(string(read(t, dir, e.File))),
			Trust: e.Trust == "", Valid: e.Expected == "valid",
		}
		if e.Reason != nil {
			c.Reason = *e.Reason
		}
		if e.HolderName != nil {
			c.Holder = *e.HolderName
		}
		s.Cases = append(s.Cases, c)
	}
	return s
}
