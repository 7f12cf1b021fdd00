package did

import (
	"errors"

	"github.com/go-json-experiment/json"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
)

// ContextV1 is the JSON-LD context of DID Core 1.0 documents.
const ContextV1 = "https://www.w3.org/ns/did/v1"

// Verification method types this package produces and reads.
const (
	TypeJSONWebKey2020 = "JsonWebKey2020"
	TypeJSONWebKey     = "JsonWebKey"
	TypeMultikey       = "Multikey"
)

// ErrInvalidDocument is a DID document that does not parse or breaks a rule
// of DID Core (for example, its id is not the DID that was resolved).
var ErrInvalidDocument = errs.E(errs.Invalid, "invalid_did_document", "the DID document is not valid")

// Document is a DID document (W3C DID Core §5). Members ssi does not use
// are ignored on input and not produced on output.
type Document struct {
	Context              any                  `json:"@context,omitempty"`
	ID                   string               `json:"id"`
	AlsoKnownAs          []string             `json:"alsoKnownAs,omitempty"`
	Controller           StringOrSet          `json:"controller,omitempty"`
	VerificationMethod   []VerificationMethod `json:"verificationMethod,omitempty"`
	Authentication       []MethodRef          `json:"authentication,omitempty"`
	AssertionMethod      []MethodRef          `json:"assertionMethod,omitempty"`
	KeyAgreement         []MethodRef          `json:"keyAgreement,omitempty"`
	CapabilityInvocation []MethodRef          `json:"capabilityInvocation,omitempty"`
	CapabilityDelegation []MethodRef          `json:"capabilityDelegation,omitempty"`
	Service              []Service            `json:"service,omitempty"`
}

// VerificationMethod is one public key of a DID document. Exactly one of
// PublicKeyJwk and PublicKeyMultibase is set in a usable method.
type VerificationMethod struct {
	ID                 string    `json:"id"`
	Type               string    `json:"type"`
	Controller         string    `json:"controller"`
	PublicKeyJwk       *keys.JWK `json:"publicKeyJwk,omitempty"`
	PublicKeyMultibase string    `json:"publicKeyMultibase,omitempty"`
}

// MethodRef is an entry of a verification relationship: either a reference
// (a DID URL, possibly relative like "#key-1") or an embedded method.
type MethodRef struct {
	Ref      string
	Embedded *VerificationMethod
}

// MarshalJSON writes a reference as a string and an embedded method as an
// object.
func (m MethodRef) MarshalJSON() ([]byte, error) {
	if m.Embedded != nil {
		return json.Marshal(m.Embedded)
	}
	return json.Marshal(m.Ref)
}

// UnmarshalJSON reads a string reference or an embedded method object.
func (m *MethodRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &m.Ref)
	}
	m.Embedded = new(VerificationMethod)
	return json.Unmarshal(b, m.Embedded)
}

// StringOrSet is a JSON member that DID Core allows as one string or a set
// of strings (controller, service type). It always marshals a single value
// as a string.
type StringOrSet []string

// MarshalJSON writes one value as a string and several as an array.
func (s StringOrSet) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

// UnmarshalJSON accepts a string or an array of strings.
func (s *StringOrSet) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StringOrSet{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// Service is a service endpoint of a DID document (DID Core §5.4). The
// endpoint may be a URI string, a map or a set, so it is kept as decoded.
type Service struct {
	ID              string      `json:"id"`
	Type            StringOrSet `json:"type"`
	ServiceEndpoint any         `json:"serviceEndpoint"`
}

// ParseDocument decodes a DID document from untrusted JSON through jsonx
// (no duplicate members, depth ≤ 32, case-exact names; unknown members
// ignored) and checks that its id is a DID, that every verification method
// has an id, a type and a controller, and that no publicKeyJwk carries a
// private member (keys.JWKFromMap's rule, applied as each JWK is decoded).
// Failures are ErrInvalidDocument, or the jsonx code for malformed JSON
// (invalid_type for a publicKeyJwk that is not a well-formed JWK). It does
// not check that the id is the DID you asked for: the Router does.
func ParseDocument(data []byte) (*Document, error) {
	var d Document
	if err := jsonx.Unmarshal(data, &d, false); err != nil {
		if errors.Is(err, keys.ErrPrivateJWK) {
			return nil, ErrInvalidDocument.With("a verification method contains a private key", err)
		}
		return nil, err
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *Document) validate() error {
	if _, err := Parse(d.ID); err != nil {
		return ErrInvalidDocument.With("the document id is not a DID", err)
	}
	check := func(vm *VerificationMethod) error {
		if vm.ID == "" || vm.Type == "" || vm.Controller == "" {
			return ErrInvalidDocument.With("a verification method lacks id, type or controller", nil)
		}
		return nil
	}
	for i := range d.VerificationMethod {
		if err := check(&d.VerificationMethod[i]); err != nil {
			return err
		}
	}
	for _, rel := range d.relationships() {
		for _, r := range rel.refs {
			switch {
			case r.Embedded != nil:
				if err := check(r.Embedded); err != nil {
					return err
				}
			case r.Ref == "":
				return ErrInvalidDocument.With("a verification relationship has an empty reference", nil)
			}
		}
	}
	return nil
}

// Relationship names a verification relationship of DID Core §5.3.
type Relationship string

// The verification relationships. AnyRelationship accepts a method listed in
// verificationMethod whatever relationships reference it.
const (
	AnyRelationship      Relationship = ""
	Authentication       Relationship = "authentication"
	AssertionMethod      Relationship = "assertionMethod"
	KeyAgreement         Relationship = "keyAgreement"
	CapabilityInvocation Relationship = "capabilityInvocation"
	CapabilityDelegation Relationship = "capabilityDelegation"
)

type namedRefs struct {
	name Relationship
	refs []MethodRef
}

func (d *Document) relationships() []namedRefs {
	return []namedRefs{
		{Authentication, d.Authentication},
		{AssertionMethod, d.AssertionMethod},
		{KeyAgreement, d.KeyAgreement},
		{CapabilityInvocation, d.CapabilityInvocation},
		{CapabilityDelegation, d.CapabilityDelegation},
	}
}

func (d *Document) refs(rel Relationship) []MethodRef {
	for _, r := range d.relationships() {
		if r.name == rel {
			return r.refs
		}
	}
	return nil
}
