package dcql

import (
	"encoding/json"
	"strconv"
	"strings"
)

// FormatSDJWTVC is the Credential Format Identifier of IETF SD-JWT VC
// (OpenID4VP 1.0 Appendix B.3, and the only one HAIP 1.0 allows). It is the
// only format Match and Candidates can find a match for. The older
// identifier vc+sd-jwt is not an alias: DESIGN's "accept vc+sd-jwt on
// input" is about the credential's typ header, which internal/sdjwt
// handles; as a DCQL format it is one of the formats ssi does not know.
const FormatSDJWTVC = "dc+sd-jwt"

// Query is a parsed and validated DCQL query (OpenID4VP 1.0 §6). A Query
// made by Parse or FromValue satisfies every rule of §6 and the limits;
// Match, Candidates and CheckAllowed rely on nothing more than its exported
// fields, and stay safe (no panic, ids looked up, never indexed blindly) on
// a Query built or changed by hand, which is not validated. Unknown members
// of the input are ignored, as §6 requires, and are not kept. No method
// changes a Query: one parsed policy serves concurrent matches.
type Query struct {
	Credentials []CredentialQuery
	// CredentialSets is nil when the query has none: every credential
	// query is then required.
	CredentialSets []CredentialSet
}

// CredentialQuery requests one or more credentials (§6.1).
type CredentialQuery struct {
	ID     string
	Format string
	// Multiple allows more than one presentation in the response.
	Multiple bool
	// VCTValues is meta.vct_values of a dc+sd-jwt query (required there,
	// Appendix B.3.5); nil for any other format, whose meta is only
	// checked to be an object.
	VCTValues []string
	// TrustedAuthorities is kept as the verifier's hint (§6.1.1). ssi
	// never evaluates it: trust is re-checked by the verifier on its own.
	TrustedAuthorities []TrustedAuthority
	// RequireHolderBinding is require_cryptographic_holder_binding,
	// true unless the query says false.
	RequireHolderBinding bool
	// Claims is nil when the query has none: no selectively disclosable
	// claim is requested (§6.4.1).
	Claims []ClaimQuery
	// ClaimSets holds claim ids, options in the verifier's order of
	// preference; nil when absent.
	ClaimSets [][]string
}

// TrustedAuthority is one entry of trusted_authorities.
type TrustedAuthority struct {
	Type   string   `json:"type"`
	Values []string `json:"values"`
}

// ClaimQuery requests one claim (§6.3).
type ClaimQuery struct {
	// ID is "" when the query has no id (allowed without claim_sets).
	ID   string
	Path Path
	// Values, when not nil, are the accepted values: each a string, an
	// int64 or a bool.
	Values []any
}

// CredentialSet is one credential set query (§6.2).
type CredentialSet struct {
	// Options are lists of credential query ids; one option must be
	// satisfied.
	Options [][]string
	// Required is true unless the query says false.
	Required bool
	// Purpose is kept when the input has it as a string. OpenID4VP 1.0
	// no longer defines it (drafts did); it is shown, never evaluated.
	Purpose string
}

// Path is a claims path pointer (§7): a non-empty list of components.
type Path []Component

// Component is one element of a claims path: a member name (a JSON string
// in the query), every element of an array (null) or one array element (a
// non-negative integer).
type Component struct {
	kind  ComponentKind
	key   string
	index int
}

// ComponentKind tells the three kinds of component apart.
type ComponentKind uint8

// The component kinds.
const (
	KeyComponent   ComponentKind = iota + 1 // a member name
	AllComponent                            // null: every array element
	IndexComponent                          // one array element
)

// Key is the component that selects the member name of an object.
func Key(name string) Component { return Component{kind: KeyComponent, key: name} }

// All is the component that selects every element of an array (null).
func All() Component { return Component{kind: AllComponent} }

// Index is the component that selects element i of an array; i must be
// non-negative.
func Index(i int) Component { return Component{kind: IndexComponent, index: i} }

// Kind returns the kind of c; 0 for the zero Component, which is invalid.
func (c Component) Kind() ComponentKind { return c.kind }

// Key returns the member name of a KeyComponent, or "".
func (c Component) Key() string { return c.key }

// Index returns the index of an IndexComponent, or 0.
func (c Component) Index() int { return c.index }

// MarshalJSON renders c as in a query: a string, null or an integer.
func (c Component) MarshalJSON() ([]byte, error) {
	switch c.kind {
	case KeyComponent:
		return json.Marshal(c.key)
	case AllComponent:
		return []byte("null"), nil
	case IndexComponent:
		return strconv.AppendInt(nil, int64(c.index), 10), nil
	}
	return nil, ErrInvalidPath.With("the zero Component is not a path component", nil)
}

// String renders p as its JSON array, for logs and tests.
func (p Path) String() string {
	b, err := json.Marshal([]Component(p))
	if err != nil {
		return "[invalid path]"
	}
	return string(b)
}

// Name is the claim name of p in the flat vocabulary of relying-party
// registrations and of the sharing history: the member names of p joined
// with ".", array components left out. ["given_name"] is "given_name",
// ["address", "street_address"] is "address.street_address" and
// ["degrees", null, "type"] is "degrees.type". It is for display; which
// registered names cover p is decided by Covers, never by comparing Names
// (a member name may itself contain a dot).
func (p Path) Name() string {
	var b strings.Builder
	for _, c := range p {
		if c.kind != KeyComponent {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(c.key)
	}
	return b.String()
}

// Equal reports whether p and q are the same path.
func (p Path) Equal(q Path) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// The JSON shapes of MarshalJSON.
type (
	queryJSON struct {
		Credentials    []credentialJSON `json:"credentials"`
		CredentialSets []setJSON        `json:"credential_sets,omitempty"`
	}
	credentialJSON struct {
		ID                 string             `json:"id"`
		Format             string             `json:"format"`
		Multiple           bool               `json:"multiple,omitempty"`
		Meta               metaJSON           `json:"meta"`
		TrustedAuthorities []TrustedAuthority `json:"trusted_authorities,omitempty"`
		// RequireHolderBinding is written only when false (the default
		// is true).
		RequireHolderBinding *bool       `json:"require_cryptographic_holder_binding,omitempty"`
		Claims               []claimJSON `json:"claims,omitempty"`
		ClaimSets            [][]string  `json:"claim_sets,omitempty"`
	}
	metaJSON struct {
		VCTValues []string `json:"vct_values,omitempty"`
	}
	claimJSON struct {
		ID     string `json:"id,omitempty"`
		Path   Path   `json:"path"`
		Values []any  `json:"values,omitempty"`
	}
	setJSON struct {
		Options  [][]string `json:"options"`
		Required *bool      `json:"required,omitempty"` // written only when false
		Purpose  string     `json:"purpose,omitempty"`
	}
)

// MarshalJSON renders q as a DCQL query (for the dcql_query of a request
// object): what Parse kept, defaults left out. Parse of the result gives a
// Query equal to q.
func (q *Query) MarshalJSON() ([]byte, error) {
	no := false
	out := queryJSON{Credentials: make([]credentialJSON, len(q.Credentials))}
	for i := range q.Credentials {
		c := &q.Credentials[i]
		cj := credentialJSON{
			ID: c.ID, Format: c.Format, Multiple: c.Multiple,
			Meta:               metaJSON{VCTValues: c.VCTValues},
			TrustedAuthorities: c.TrustedAuthorities,
			ClaimSets:          c.ClaimSets,
		}
		if !c.RequireHolderBinding {
			cj.RequireHolderBinding = &no
		}
		for _, cl := range c.Claims {
			cj.Claims = append(cj.Claims, claimJSON(cl))
		}
		out.Credentials[i] = cj
	}
	for _, s := range q.CredentialSets {
		sj := setJSON{Options: s.Options, Purpose: s.Purpose}
		if !s.Required {
			sj.Required = &no
		}
		out.CredentialSets = append(out.CredentialSets, sj)
	}
	return json.Marshal(out)
}

// Credential returns the credential query with id, or nil.
func (q *Query) Credential(id string) *CredentialQuery {
	if i := q.indexOf(id); i >= 0 {
		return &q.Credentials[i]
	}
	return nil
}

// indexOf returns the index of the credential query id, or -1. A linear
// scan: there are at most MaxCredentials, usually one.
func (q *Query) indexOf(id string) int {
	for i := range q.Credentials {
		if q.Credentials[i].ID == id {
			return i
		}
	}
	return -1
}
