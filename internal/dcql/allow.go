package dcql

import (
	"slices"
	"strconv"
	"strings"
)

// Allowed is what a relying party's registration lets it ask for: for
// each vct, the claim names it may request (didregistry.RPCredential's VCT
// and Claims).
type Allowed map[string][]string

// Excess is one thing a query asks for beyond a registration.
type Excess struct {
	// CredentialID is the credential query that asks.
	CredentialID string
	// Format is the credential query's format. A query of another format
	// than dc+sd-jwt cannot be checked against a registration, which lists
	// vcts, and is an excess as a whole (VCT "" and Path nil).
	Format string
	// VCT is the credential type asked for.
	VCT string
	// Path is the claim asked for beyond the registration; nil when the
	// vct itself is not registered.
	Path Path
}

// Covers reports whether the registered claim name covers the claims path
// p, which is how a flat registration claim name maps to a DCQL path: name
// is split at each "." into member names, and those must be the first
// member names of p, with p's array components (null or an index) passed
// over, and p must start with a member name. So "address" covers
// ["address"], ["address", "street_address"] and ["address", null];
// "address.street_address" covers ["address", "street_address"] but not
// ["address"], which would disclose every member of address; "degrees.type"
// covers ["degrees", null, "type"] and ["degrees", 0, "type"]. A member
// name that itself holds a dot ("a.b") is covered by no name: that fails
// closed, as an excess; so does a name with an empty part ("a..b", ".a").
func Covers(name string, p Path) bool {
	if name == "" || len(p) == 0 || p[0].kind != KeyComponent {
		return false
	}
	i := 0
	for part := range strings.SplitSeq(name, ".") {
		for i < len(p) && p[i].kind != KeyComponent {
			i++
		}
		if part == "" || i == len(p) || p[i].key != part {
			return false
		}
		i++
	}
	return true
}

// Exceeds lists what q asks beyond a: for every credential query, every
// vct of meta.vct_values that a does not list (the credential type may not
// be asked for, even with no claims), and for every listed vct every
// claims path that none of its claim names covers (Covers). A claims query
// counts whether or not a claim set would select it: the verifier may
// prefer any of them. In query order; nil when q is within a.
func (q *Query) Exceeds(a Allowed) []Excess {
	var out []Excess
	for i := range q.Credentials {
		cq := &q.Credentials[i]
		if cq.Format != FormatSDJWTVC {
			out = append(out, Excess{CredentialID: cq.ID, Format: cq.Format})
			continue
		}
		for _, vct := range cq.VCTValues {
			names, ok := a[vct]
			if !ok {
				out = append(out, Excess{CredentialID: cq.ID, Format: cq.Format, VCT: vct})
				continue
			}
			for _, cl := range cq.Claims {
				if !slices.ContainsFunc(names, func(n string) bool { return Covers(n, cl.Path) }) {
					out = append(out, Excess{CredentialID: cq.ID, Format: cq.Format, VCT: vct, Path: cl.Path})
				}
			}
		}
	}
	return out
}

// CheckAllowed returns ErrOverAsking when q asks beyond a (Exceeds is not
// empty), with the number of excesses in its detail, and nil otherwise.
// The detail names no claim: the caller that shows them uses Exceeds.
func (q *Query) CheckAllowed(a Allowed) error {
	ex := q.Exceeds(a)
	if len(ex) == 0 {
		return nil
	}
	return ErrOverAsking.With(strconv.Itoa(len(ex))+" requested credential types or claims are beyond the registration", nil)
}

// CheckFormats returns ErrUnsupportedFormat when a credential query of q
// asks for a format that is not in supported; the verifier calls it on its
// policies with FormatSDJWTVC.
func (q *Query) CheckFormats(supported ...string) error {
	for i := range q.Credentials {
		if !slices.Contains(supported, q.Credentials[i].Format) {
			return ErrUnsupportedFormat.With("credentials["+strconv.Itoa(i)+"].format is not supported", nil)
		}
	}
	return nil
}
