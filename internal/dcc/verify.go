package dcc

import (
	"math"
	"time"
)

// Certificate is what a verified DCC says. Dates are kept as the strings
// the HCERT schema gives (dob may be "1998", "1998-02" or empty).
type Certificate struct {
	Issuer      string // CWT iss, the issuing country
	IssuedAt    time.Time
	Expires     time.Time
	Version     string // the schema version, ver
	Name        Name
	DateOfBirth string
	// Exactly one of these is set (Type says which).
	Type        EntryType
	Vaccination *Vaccination
	Test        *Test
	Recovery    *Recovery
	// DSC is the trusted certificate that verified the signature.
	DSC *DSC
}

// EntryType is the kind of DCC: a vaccination, a test or a recovery.
type EntryType string

const (
	TypeVaccination EntryType = "v"
	TypeTest        EntryType = "t"
	TypeRecovery    EntryType = "r"
)

func (e EntryType) set() typeSet {
	switch e {
	case TypeVaccination:
		return typeVaccination
	case TypeTest:
		return typeTest
	default:
		return typeRecovery
	}
}

// Name is the holder's name (nam), as printed and in ICAO 9303 form.
type Name struct {
	Family            string `cbor:"fn"`
	FamilyTransformed string `cbor:"fnt"`
	Given             string `cbor:"gn"`
	GivenTransformed  string `cbor:"gnt"`
}

// Full returns "Given Family" as printed (falling back to the ICAO forms).
func (n Name) Full() string {
	g, f := n.Given, n.Family
	if g == "" {
		g = n.GivenTransformed
	}
	if f == "" {
		f = n.FamilyTransformed
	}
	switch {
	case g == "":
		return f
	case f == "":
		return g
	}
	return g + " " + f
}

// Vaccination is one v entry.
type Vaccination struct {
	Disease       string `cbor:"tg"`
	Vaccine       string `cbor:"vp"`
	Product       string `cbor:"mp"` // EU/1/20/1528 …
	Manufacturer  string `cbor:"ma"`
	DoseNumber    int64  `cbor:"dn"`
	TotalDoses    int64  `cbor:"sd"`
	Date          string `cbor:"dt"` // YYYY-MM-DD
	Country       string `cbor:"co"`
	CertIssuer    string `cbor:"is"`
	CertificateID string `cbor:"ci"`
}

// Test is one t entry.
type Test struct {
	Disease       string `cbor:"tg"`
	TestType      string `cbor:"tt"`
	Name          string `cbor:"nm"`
	Device        string `cbor:"ma"`
	SampleTime    string `cbor:"sc"`
	Result        string `cbor:"tr"`
	Centre        string `cbor:"tc"`
	Country       string `cbor:"co"`
	CertIssuer    string `cbor:"is"`
	CertificateID string `cbor:"ci"`
}

// Recovery is one r entry.
type Recovery struct {
	Disease       string `cbor:"tg"`
	FirstPositive string `cbor:"fr"`
	Country       string `cbor:"co"`
	CertIssuer    string `cbor:"is"`
	ValidFrom     string `cbor:"df"`
	ValidUntil    string `cbor:"du"`
	CertificateID string `cbor:"ci"`
}

// hcertV1 is the eu_dgc_v1 payload (claim -260, key 1).
type hcertV1 struct {
	Ver string        `cbor:"ver"`
	Nam *Name         `cbor:"nam"`
	Dob *string       `cbor:"dob"`
	V   []Vaccination `cbor:"v"`
	T   []Test        `cbor:"t"`
	R   []Recovery    `cbor:"r"`
}

// Verify decodes and checks an HC1: text at time at, in this order: Parse
// (prefix, Base45, zlib, CBOR, COSE, alg), the kid (dcc_unknown_kid when
// there is none or no DSC of trust has it), the signature against every
// DSC with the kid whose key fits the alg (dcc_bad_signature when none
// verifies), the CWT claims (dcc_bad_claims), the times (dcc_iat_before_dsc,
// dcc_not_yet_valid, dcc_expired, dcc_exp_after_dsc), the entry count
// (dcc_entry_count) and the DSC's key usage (dcc_key_usage). It returns
// the certificate only when every check passed.
func Verify(text string, trust *Trust, at time.Time) (*Certificate, error) {
	p, err := Parse(text)
	if err != nil {
		return nil, err
	}
	return p.Verify(trust, at)
}

// Verify runs the checks of Verify after Parse.
func (p *Parsed) Verify(trust *Trust, at time.Time) (*Certificate, error) {
	if len(p.KID) != KIDSize || trust == nil {
		return nil, ErrUnknownKID
	}
	candidates := trust.byKID[[KIDSize]byte(p.KID)]
	if len(candidates) == 0 {
		return nil, ErrUnknownKID
	}
	var dsc *DSC
	var lastErr error
	for _, d := range candidates {
		if d.alg != p.Alg {
			continue
		}
		if err := p.verifySignature(d); err != nil {
			lastErr = err
			continue
		}
		dsc = d
		break
	}
	if dsc == nil {
		return nil, ErrSignature.With("", lastErr)
	}
	c, err := parseClaims(p.Msg.Payload)
	if err != nil {
		return nil, err
	}
	c.DSC = dsc
	switch {
	case c.IssuedAt.Before(dsc.Cert.NotBefore):
		return nil, ErrIssuedBeforeDSC
	case at.Before(c.IssuedAt):
		return nil, ErrNotYetValid
	case at.After(c.Expires):
		return nil, ErrExpired
	case c.Expires.After(dsc.Cert.NotAfter):
		return nil, ErrExpiresAfterDSC
	}
	if dsc.types != 0 && dsc.types&c.Type.set() == 0 {
		return nil, ErrKeyUsage
	}
	return c, nil
}

// cwtClaims are the CWT claims HCERT uses (RFC 8392 keys), read in one
// pass; other claims are ignored.
type cwtClaims struct {
	Iss *string `cbor:"1,keyasint"`
	// Exp and Iat are decoded as any value, which numericDate checks
	// (nil when absent).
	Exp   any `cbor:"4,keyasint"`
	Iat   any `cbor:"6,keyasint"`
	Hcert *struct {
		V1 *hcertV1 `cbor:"1,keyasint"`
	} `cbor:"-260,keyasint"`
}

// parseClaims reads the CWT: iss, iat and exp, and the hcert with exactly
// one entry.
func parseClaims(payload []byte) (*Certificate, error) {
	var cwt cwtClaims
	if err := decMode.Unmarshal(payload, &cwt); err != nil {
		return nil, ErrClaims.With("the CWT is not a map of the HCERT claims", err)
	}
	if cwt.Iss == nil {
		return nil, ErrClaims.With("iss is missing", nil)
	}
	c := &Certificate{Issuer: *cwt.Iss}
	var err error
	if c.IssuedAt, err = numericDate(cwt.Iat); err != nil {
		return nil, ErrClaims.With("iat is missing or not a NumericDate", err)
	}
	if c.Expires, err = numericDate(cwt.Exp); err != nil {
		return nil, ErrClaims.With("exp is missing or not a NumericDate", err)
	}
	if cwt.Hcert == nil || cwt.Hcert.V1 == nil {
		return nil, ErrClaims.With("hcert or its eu_dgc_v1 payload is missing", nil)
	}
	h := cwt.Hcert.V1
	if h.Nam == nil || h.Dob == nil {
		return nil, ErrClaims.With("the eu_dgc_v1 payload has no nam or dob", nil)
	}
	c.Version, c.Name, c.DateOfBirth = h.Ver, *h.Nam, *h.Dob
	switch n := len(h.V) + len(h.T) + len(h.R); {
	case n != 1:
		return nil, ErrEntries
	case len(h.V) == 1:
		c.Type, c.Vaccination = TypeVaccination, &h.V[0]
	case len(h.T) == 1:
		c.Type, c.Test = TypeTest, &h.T[0]
	default:
		c.Type, c.Recovery = TypeRecovery, &h.R[0]
	}
	return c, nil
}

// numericDate reads a CWT NumericDate: an integer or a finite float of
// seconds since the epoch (decMode gives every integer as an int64).
func numericDate(v any) (time.Time, error) {
	switch n := v.(type) {
	case int64:
		return time.Unix(n, 0).UTC(), nil
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > 1<<40 {
			return time.Time{}, ErrClaims
		}
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, ErrClaims
}
