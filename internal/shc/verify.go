package shc

import (
	"math"
	"slices"
	"strings"
	"time"

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

// payload is what Verify reads of a card's payload, in one pass over it
// (readPayload): the claims, and of the FHIR bundle's resources the
// members of Patient and Immunization that a verdict needs. A member
// holding null reads as absent. Every other member is skipped, and
// validated as strictly as what is read.
type payload struct {
	ISS      *string
	NBF, EXP *float64
	VC       *vcClaim
}

type vcClaim struct {
	Type []string
	RID  string
	// Bundle is credentialSubject.fhirBundle; nil when absent.
	Bundle *bundle
}

type bundle struct {
	ResourceType string
	// Entries holds each entry's resource, nil for an entry without one.
	Entries []*resource
}

// resource is a FHIR resource. Every FHIR resource that has these member
// names gives them the same type, except name: a HumanName list in
// Patient, a string elsewhere (names).
type resource struct {
	ResourceType       string
	Name               names
	BirthDate          string
	Status             string
	Coding             []Coding // vaccineCode.coding
	OccurrenceDateTime string
	LotNumber          string
}

type humanName struct {
	Family string
	Given  []string
}

// names is a name member: a HumanName list is kept; anything else (an
// Organization's or a Location's name string) is skipped and marked, for
// a Patient is refused with it.
type names struct {
	list    []humanName
	notList bool
}

// readPayload reads the payload JSON in one pass (jose.Reader). A refusal
// carries jsonx.Check's error when the JSON itself is at fault (so the
// rules of SECURITY-CASES A14 hold: duplicate names, depth, number range,
// UTF-8), else jsonx.ErrInvalidType (a member of the wrong type).
func readPayload(data []byte) (*payload, error) {
	r := jose.NewReader(data)
	pl := &payload{}
	err := object(r, func(name string) error {
		switch name {
		case "iss":
			return optString(r, &pl.ISS)
		case "nbf":
			return optNumber(r, &pl.NBF)
		case "exp":
			return optNumber(r, &pl.EXP)
		case "vc":
			if null, err := r.Null(); null || err != nil {
				return err
			}
			pl.VC = &vcClaim{}
			return pl.VC.read(r)
		}
		return r.Skip()
	})
	if err == nil {
		err = r.End()
	}
	if err != nil {
		if cerr := jsonx.Check(data, jsonx.MaxDepth); cerr != nil {
			return nil, cerr
		}
		return nil, jsonx.ErrInvalidType
	}
	return pl, nil
}

func (vc *vcClaim) read(r *jose.Reader) error {
	return r.Object(func(name string) error {
		switch name {
		case "type":
			return stringList(r, &vc.Type)
		case "rid":
			return str(r, &vc.RID)
		case "credentialSubject":
			return object(r, func(name string) error {
				if name != "fhirBundle" {
					return r.Skip()
				}
				if null, err := r.Null(); null || err != nil {
					vc.Bundle = nil
					return err
				}
				vc.Bundle = &bundle{}
				return vc.Bundle.read(r)
			})
		}
		return r.Skip()
	})
}

func (b *bundle) read(r *jose.Reader) error {
	return r.Object(func(name string) error {
		switch name {
		case "resourceType":
			return str(r, &b.ResourceType)
		case "entry":
			b.Entries = nil
			return list(r, func() error {
				var res *resource
				err := object(r, func(name string) error {
					if name != "resource" {
						return r.Skip()
					}
					if null, err := r.Null(); null || err != nil {
						res = nil
						return err
					}
					res = &resource{}
					return res.read(r)
				})
				b.Entries = append(b.Entries, res)
				return err
			})
		}
		return r.Skip()
	})
}

func (res *resource) read(r *jose.Reader) error {
	return r.Object(func(name string) error {
		switch name {
		case "resourceType":
			return str(r, &res.ResourceType)
		case "name":
			res.Name = names{}
			if !r.IsArray() {
				res.Name.notList = true
				return r.Skip()
			}
			return r.Array(func() error {
				var h humanName
				err := object(r, func(name string) error {
					switch name {
					case "family":
						return str(r, &h.Family)
					case "given":
						return stringList(r, &h.Given)
					}
					return r.Skip()
				})
				res.Name.list = append(res.Name.list, h)
				return err
			})
		case "birthDate":
			return str(r, &res.BirthDate)
		case "status":
			return str(r, &res.Status)
		case "vaccineCode":
			return object(r, func(name string) error {
				if name != "coding" {
					return r.Skip()
				}
				res.Coding = nil
				return list(r, func() error {
					var c Coding
					err := object(r, func(name string) error {
						switch name {
						case "system":
							return str(r, &c.System)
						case "code":
							return str(r, &c.Code)
						}
						return r.Skip()
					})
					res.Coding = append(res.Coding, c)
					return err
				})
			})
		case "occurrenceDateTime":
			return str(r, &res.OccurrenceDateTime)
		case "lotNumber":
			return str(r, &res.LotNumber)
		}
		return r.Skip()
	})
}

// object reads an object, or a null as an object without members.
func object(r *jose.Reader, member func(name string) error) error {
	if null, err := r.Null(); null || err != nil {
		return err
	}
	return r.Object(member)
}

// list reads an array, or a null as an empty one.
func list(r *jose.Reader, elem func() error) error {
	if null, err := r.Null(); null || err != nil {
		return err
	}
	return r.Array(elem)
}

// str reads a string; a null leaves s empty.
func str(r *jose.Reader, s *string) error {
	*s = ""
	if null, err := r.Null(); null || err != nil {
		return err
	}
	v, err := r.String()
	*s = v
	return err
}

func optString(r *jose.Reader, s **string) error {
	*s = nil
	if null, err := r.Null(); null || err != nil {
		return err
	}
	v, err := r.String()
	*s = &v
	return err
}

func optNumber(r *jose.Reader, f **float64) error {
	*f = nil
	if null, err := r.Null(); null || err != nil {
		return err
	}
	v, err := r.Number()
	*f = &v
	return err
}

// stringList reads an array of strings (a null element reads as "").
func stringList(r *jose.Reader, out *[]string) error {
	*out = nil
	return list(r, func() error {
		var s string
		err := str(r, &s)
		*out = append(*out, s)
		return err
	})
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
	pl, err := readPayload(p.Payload)
	if err != nil {
		return nil, ErrPayload.With("the payload is not the JSON of a health card", err)
	}
	if pl.ISS == nil || pl.NBF == nil || pl.VC == nil || pl.VC.Bundle == nil {
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
	if err := readBundle(c, pl.VC.Bundle.Entries); err != nil {
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

func readBundle(c *Card, entries []*resource) error {
	havePatient := false
	for _, r := range entries {
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
				Status: r.Status, Codes: r.Coding, Date: r.OccurrenceDateTime, Lot: r.LotNumber,
			})
		}
	}
	if !havePatient {
		return ErrPayload.With("the bundle holds no Patient", nil)
	}
	return nil
}
