package passcheck

import (
	"fmt"

	"github.com/ssi-project/ssi/internal/dcc"
	"github.com/ssi-project/ssi/internal/shc"
)

// TrustSources is a venue's offline trust as the files it comes from: the
// form a verifier tenant configures and the offline trust bundle carries
// (it marshals to JSON, the file contents as base64). Load parses it.
type TrustSources struct {
	// DCC are EU DCC trust files: PEM, DER or the JSON certificate list
	// (dcc.Trust.AddFile).
	DCC [][]byte `json:"dcc,omitempty"`
	// SHCDirectories are VCI directory snapshots (shc.Trust.AddDirectory).
	SHCDirectories [][]byte `json:"shc_directories,omitempty"`
	// SHCJWKS and SHCCRLs are single issuers' JWKS and crl/<kid>.json
	// files.
	SHCJWKS []IssuerFile `json:"shc_jwks,omitempty"`
	SHCCRLs []IssuerFile `json:"shc_crls,omitempty"`
}

// IssuerFile is one file of one SMART Health Card issuer.
type IssuerFile struct {
	ISS  string `json:"iss"`
	Data []byte `json:"data"`
}

// Load parses every source into a TrustSet. It fails on the first file
// that is refused, with that file's code (dcc_bad_trust_list,
// shc_bad_trust) and its place in the detail; it never fetches anything.
func (s TrustSources) Load() (TrustSet, error) {
	t := TrustSet{DCC: &dcc.Trust{}, SHC: &shc.Trust{}}
	for i, b := range s.DCC {
		if err := t.DCC.AddFile(b); err != nil {
			return TrustSet{}, fmt.Errorf("EU DCC trust file %d: %w", i+1, err)
		}
	}
	for i, b := range s.SHCDirectories {
		if err := t.SHC.AddDirectory(b); err != nil {
			return TrustSet{}, fmt.Errorf("SHC directory %d: %w", i+1, err)
		}
	}
	for i, f := range s.SHCJWKS {
		if err := t.SHC.AddJWKS(f.ISS, f.Data); err != nil {
			return TrustSet{}, fmt.Errorf("SHC JWKS %d: %w", i+1, err)
		}
	}
	for i, f := range s.SHCCRLs {
		if err := t.SHC.AddCRL(f.ISS, f.Data); err != nil {
			return TrustSet{}, fmt.Errorf("SHC CRL %d: %w", i+1, err)
		}
	}
	t.sources = &s
	return t, nil
}
