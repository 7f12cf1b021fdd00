package shc

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// HealthCardType is the vc.type every SMART Health Card has.
const HealthCardType = "https://smarthealth.cards#health-card"

// Card is what a verified SMART Health Card says.
type Card struct {
	Issuer     string
	IssuerName string // from the trust; "" when it has none
	NotBefore  time.Time
	Expires    time.Time // zero when the card has no exp
	Types      []string
	RID        string
	Patient    Patient
	// Immunizations are the bundle's Immunization resources, in order.
	Immunizations []Immunization
}

// Patient is the bundle's (first) Patient resource, as far as a verdict
// shows it.
type Patient struct {
	Given     []string
	Family    string
	BirthDate string // FHIR date: YYYY, YYYY-MM or YYYY-MM-DD
}

// FullName returns the given names and the family name, space-separated.
func (p Patient) FullName() string {
	return strings.Join(append(append([]string(nil), p.Given...), p.Family), " ")
}

// Immunization is one FHIR Immunization resource.
type Immunization struct {
	Status string // "completed", "entered-in-error", "not-done"
	// Codes are the vaccineCode codings: system and code (CVX, SNOMED …).
	Codes []Coding
	Date  string // occurrenceDateTime (a FHIR dateTime)
	Lot   string
}

// Coding is one FHIR coding.
type Coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type payload struct {
	ISS *string  `json:"iss"`
	NBF *float64 `json:"nbf"`
	EXP *float64 `json:"exp"`
	VC  *struct {
		Type              []string `json:"type"`
		RID               string   `json:"rid"`
		CredentialSubject struct {
			FHIRBundle *struct {
				ResourceType string `json:"resourceType"`
				Entry        []struct {
					Resource *resource `json:"resource"`
				} `json:"entry"`
			} `json:"fhirBundle"`
		} `json:"credentialSubject"`
	} `json:"vc"`
}

// resource is a FHIR resource, read in the one pass over the payload with
// the members of Patient and Immunization that a verdict needs. Every
// FHIR resource that has these member names gives them the same type,
// except name: a HumanName list in Patient, a string elsewhere (names).
type resource struct {
	ResourceType string `json:"resourceType"`
	Name         names  `json:"name"`
	BirthDate    string `json:"birthDate"`
	Status       string `json:"status"`
	VaccineCode  struct {
		Coding []Coding `json:"coding"`
	} `json:"vaccineCode"`
	OccurrenceDateTime string `json:"occurrenceDateTime"`
	LotNumber          string `json:"lotNumber"`
}

type humanName struct {
	Family string   `json:"family"`
	Given  []string `json:"given"`
}

// names is a name member, read in the payload's one pass: a HumanName
// list is kept; anything else (an Organization's or a Location's name
// string) is skipped and marked, for a Patient is refused with it.
type names struct {
	list    []humanName
	notList bool
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (n *names) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	if d.PeekKind() != '[' {
		n.notList = true
		return d.SkipValue()
	}
	return json.UnmarshalDecode(d, &n.list)
}

// Verify decodes and checks an shc:/ text at time at, in this order:
// DecodeNumeric, ParseJWS, the payload JSON with a vc.type holding
// HealthCardType (shc_bad_payload), the issuer (shc_unknown_issuer) and
// its key with the kid (shc_unknown_key), the signature
// (shc_bad_signature), nbf and exp (shc_not_yet_valid, shc_expired),
// revocation when the key has a crlVersion (shc_revoked,
// shc_crl_unavailable), and the FHIR bundle (shc_bad_payload: it must hold
// a Patient). It returns the card only when every check passed.
func Verify(text string, trust *Trust, at time.Time) (*Card, error) {
	jws, err := DecodeNumeric(text)
	if err != nil {
		return nil, err
	}
	p, err := ParseJWS(jws)
	if err != nil {
		return nil, err
	}
	return p.Verify(trust, at)
}

// Verify runs the checks of Verify after ParseJWS.
func (p *Parsed) Verify(trust *Trust, at time.Time) (*Card, error) {
	var pl payload
	if err := jsonx.Unmarshal(p.Payload, &pl, false); err != nil {
		return nil, ErrPayload.With("the payload is not the JSON of a health card", err)
	}
	if pl.ISS == nil || pl.NBF == nil || pl.VC == nil || pl.VC.CredentialSubject.FHIRBundle == nil {
		return nil, ErrPayload.With("the payload lacks iss, nbf or vc.credentialSubject.fhirBundle", nil)
	}
	if !slices.Contains(pl.VC.Type, HealthCardType) {
		return nil, ErrPayload.With("the credential's type is not a health card", nil)
	}
	var is *Issuer
	if trust != nil {
		is = trust.issuers[*pl.ISS]
	}
	if is == nil {
		return nil, ErrUnknownIssuer
	}
	key := is.keys[p.KID]
	if key == nil {
		return nil, ErrUnknownKey
	}
	if err := jose.VerifyES256(key.Pub, p.signingInput, p.sig); err != nil {
		return nil, ErrSignature.With("", err)
	}
	c := &Card{Issuer: is.ISS, IssuerName: is.Name, Types: pl.VC.Type, RID: pl.VC.RID}
	var err error
	if c.NotBefore, err = numericDate(*pl.NBF); err != nil {
		return nil, err
	}
	if at.Before(c.NotBefore) {
		return nil, ErrNotYetValid
	}
	if pl.EXP != nil {
		if c.Expires, err = numericDate(*pl.EXP); err != nil {
			return nil, err
		}
		if at.After(c.Expires) {
			return nil, ErrExpired
		}
	}
	if key.CRLVersion > 0 {
		crl := is.crls[key.KID]
		if crl == nil || crl.Ctr < key.CRLVersion {
			return nil, ErrNoCRL
		}
		if ts, ok := crl.rids[c.RID]; ok && c.RID != "" && (ts == 0 || *pl.NBF < float64(ts)) {
			return nil, ErrRevoked
		}
	}
	if err := readBundle(c, pl.VC.CredentialSubject.FHIRBundle.Entry); err != nil {
		return nil, err
	}
	return c, nil
}

// numericDate reads a JWT NumericDate (seconds, possibly fractional).
func numericDate(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, ErrPayload.With("a NumericDate is out of range", nil)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func readBundle(c *Card, entries []struct {
	Resource *resource `json:"resource"`
}) error {
	havePatient := false
	for _, e := range entries {
		r := e.Resource
		if r == nil {
			return ErrPayload.With("a bundle entry has no resource", nil)
		}
		switch r.ResourceType {
		case "Patient":
			if havePatient {
				continue
			}
			havePatient = true
			if r.Name.notList {
				return ErrPayload.With("the Patient's name is not a list of HumanNames", nil)
			}
			if len(r.Name.list) > 0 {
				c.Patient.Given, c.Patient.Family = r.Name.list[0].Given, r.Name.list[0].Family
			}
			c.Patient.BirthDate = r.BirthDate
		case "Immunization":
			c.Immunizations = append(c.Immunizations, Immunization{
				Status: r.Status, Codes: r.VaccineCode.Coding, Date: r.OccurrenceDateTime, Lot: r.LotNumber,
			})
		}
	}
	if !havePatient {
		return ErrPayload.With("the bundle holds no Patient", nil)
	}
	return nil
}
