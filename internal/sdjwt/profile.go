package sdjwt

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/ssi-project/ssi/internal/jose"
)

// Profile selects the credential profile: header typ and claim rules.
type Profile int

const (
	// ProfileSDJWTVC is SD-JWT VC (draft-16): typ dc+sd-jwt (vc+sd-jwt is
	// accepted on input), vct and iss required, cnf.jwk and
	// status.status_list{idx,uri} checked when present.
	ProfileSDJWTVC Profile = iota
	// ProfileVCDM is a W3C VC Data Model 2.0 credential secured as SD-JWT
	// (VC-JOSE-COSE): typ vc+sd-jwt, @context, type, issuer and
	// credentialSubject required; validFrom/validUntil checked.
	ProfileVCDM
	// ProfilePlain is RFC 9901 alone (no credential claim rules); the HAIP
	// never-disclosable rule still applies.
	ProfilePlain
)

// Header typ values.
const (
	TypDCSDJWT = "dc+sd-jwt"
	TypVCSDJWT = "vc+sd-jwt"
	TypKBJWT   = "kb+jwt"
)

// VCDMContext is the first @context of every VCDM 2.0 credential.
const VCDMContext = "https://www.w3.org/ns/credentials/v2"

func (p Profile) typ() string {
	if p == ProfileVCDM {
		return TypVCSDJWT
	}
	return TypDCSDJWT
}

// acceptedTyps are the header typ values a verifier of the profile takes.
func (p Profile) acceptedTyps() []string {
	switch p {
	case ProfileVCDM:
		return []string{TypVCSDJWT}
	case ProfileSDJWTVC:
		return []string{TypDCSDJWT, TypVCSDJWT}
	}
	return nil
}

var vcdmReserved = map[string]bool{
	"@context": true, "type": true, "issuer": true, "validFrom": true,
	"validUntil": true, "credentialStatus": true, "id": true,
}

// reserved are profile-specific top-level claims that can never be disclosed.
func (p Profile) reserved() map[string]bool {
	if p == ProfileVCDM {
		return vcdmReserved
	}
	return nil
}

func missing(name, why string) error {
	return ErrMissingClaim.With("claim "+strconv.Quote(name)+" "+why, nil)
}

// checkClaims applies the profile's claim rules to a (processed) payload.
// cnf is not among them: the caller parses it once with holderKey.
func (p Profile) checkClaims(c jose.Claims) error {
	for _, n := range [...]string{"iat", "nbf", "exp"} {
		if _, _, err := c.NumericDate(n); err != nil {
			return err
		}
	}
	switch p {
	case ProfileSDJWTVC:
		for _, n := range [...]string{"vct", "iss"} {
			if s, ok, err := c.String(n); err != nil || !ok || s == "" {
				return missing(n, "must be a non-empty string")
			}
		}
		if v, ok := c["status"]; ok {
			if _, err := statusRef(v); err != nil {
				return err
			}
		}
	case ProfileVCDM:
		ctx, ok := c["@context"].([]any)
		if !ok || len(ctx) == 0 || ctx[0] != VCDMContext {
			return missing("@context", "must be an array starting with "+VCDMContext)
		}
		if !hasType(c["type"], "VerifiableCredential") {
			return missing("type", "must include VerifiableCredential")
		}
		if vcdmIssuer(c) == "" {
			return missing("issuer", "must be a URL or an object with an id")
		}
		switch c["credentialSubject"].(type) {
		case map[string]any, []any:
		default:
			return missing("credentialSubject", "must be an object")
		}
		for _, n := range [...]string{"validFrom", "validUntil"} {
			if _, _, err := dateTime(c, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasType(v any, want string) bool {
	switch t := v.(type) {
	case string:
		return t == want
	case []any:
		for _, e := range t {
			if e == want {
				return true
			}
		}
	}
	return false
}

// vcdmIssuer returns the VCDM issuer id ("issuer": "…" or {"id": "…"}).
func vcdmIssuer(c jose.Claims) string {
	switch t := c["issuer"].(type) {
	case string:
		return t
	case map[string]any:
		s, _ := t["id"].(string)
		return s
	}
	return ""
}

// dateTime reads an XML Schema dateTimeStamp (RFC 3339) claim.
func dateTime(c jose.Claims, name string) (time.Time, bool, error) {
	v, ok := c[name]
	if !ok {
		return time.Time{}, false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return time.Time{}, false, jose.ErrInvalidClaim.With("claim "+strconv.Quote(name)+" must be a date-time string", nil)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false, jose.ErrInvalidClaim.With("claim "+strconv.Quote(name)+" must be an RFC 3339 date-time", err)
	}
	return t, true, nil
}

// holderKey reads cnf.jwk.
func holderKey(cnf any) (jose.PublicKey, error) {
	m, ok := cnf.(map[string]any)
	if !ok {
		return jose.PublicKey{}, missing("cnf", "must be an object")
	}
	jwk, ok := m["jwk"].(map[string]any)
	if !ok {
		return jose.PublicKey{}, missing("cnf.jwk", "must be a JWK object")
	}
	_, pub, err := jose.HolderKey(jwk)
	return pub, err
}

// StatusRef is an SD-JWT VC status.status_list reference (Token Status List).
type StatusRef struct {
	Index uint64
	URI   string
}

func statusRef(v any) (StatusRef, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return StatusRef{}, missing("status", "must be an object")
	}
	sl, ok := m["status_list"].(map[string]any)
	if !ok {
		return StatusRef{}, missing("status.status_list", "must be an object")
	}
	n, ok := sl["idx"].(json.Number)
	if !ok {
		return StatusRef{}, missing("status.status_list.idx", "must be a non-negative integer")
	}
	idx, err := strconv.ParseUint(string(n), 10, 63)
	if err != nil {
		return StatusRef{}, missing("status.status_list.idx", "must be a non-negative integer")
	}
	uri, ok := sl["uri"].(string)
	if !ok || uri == "" {
		return StatusRef{}, missing("status.status_list.uri", "must be a non-empty string")
	}
	return StatusRef{Index: idx, URI: uri}, nil
}
