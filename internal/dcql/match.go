package dcql

import (
	"slices"
	"strconv"
)

// Credential is what matching needs to know of one credential: on the
// verifier's side a verified presentation, on the holder's side a stored
// credential.
type Credential struct {
	// Format is the Credential Format Identifier, FormatSDJWTVC for every
	// credential of ssi.
	Format string
	// VCT is the credential's vct claim.
	VCT string
	// Claims is the processed payload: for a presentation exactly what was
	// disclosed (sdjwt.Result.Claims), for the holder the payload with
	// every disclosure applied.
	Claims map[string]any
	// KeyBound is, for the verifier, that a KB-JWT was verified; for the
	// holder, that the credential has a cnf key and so can be presented
	// with one.
	KeyBound bool
}

// ClaimMatch is one requested claim as found in a credential.
type ClaimMatch struct {
	// Index is the claims query's index in CredentialQuery.Claims.
	Index int
	// ID is the claims query's id, "" when it has none.
	ID   string
	Path Path
	// Selected is what the path selected, less the elements that values
	// excluded; never empty.
	Selected []Selected
}

// CredentialMatch is how one credential satisfies one credential query.
type CredentialMatch struct {
	// QueryID is the credential query's id.
	QueryID string
	// Credential is the credential's index: in the response's entry for
	// QueryID (Match), or in the candidates (Candidates).
	Credential int
	// ClaimSet is the option of claim_sets that was chosen: the first one
	// in the verifier's order that the credential satisfies (§6.4.1); -1
	// when the query has no claim_sets.
	ClaimSet int
	// Satisfiable lists every option of claim_sets the credential
	// satisfies, in order (ClaimSet is the first); nil without claim_sets.
	Satisfiable []int
	// Claims are the requested claims: those of the chosen claim set, or
	// every claims query when there are no claim_sets; nil when the query
	// requests no claims. This is the minimal set to disclose.
	Claims []ClaimMatch
}

// Pointers returns the JSON Pointers of every element in m.Claims, each
// once, in order: what the holder reveals with sdjwt.Present.
func (m *CredentialMatch) Pointers() []string {
	var out []string
	for _, c := range m.Claims {
		for _, s := range c.Selected {
			if !slices.Contains(out, s.Pointer) {
				out = append(out, s.Pointer)
			}
		}
	}
	return out
}

// Match reports whether credential c satisfies cq, in this order: format
// (only dc+sd-jwt can match; ErrFormatMismatch), vct among
// meta.vct_values by exact comparison (ErrVCTMismatch; ssi has no type
// metadata, so no vct inheritance), holder binding when required
// (ErrHolderBindingRequired), then the claims (§6.4.1): every claims query
// when there are no claim_sets, else the first claim set whose every claim
// is present. A claim is present when its path selects something (Select)
// and, with values, something of one of the values; otherwise it is
// ErrClaimsUnsatisfied. On success the match names the claims that were
// requested and found, with what their paths selected.
func (cq *CredentialQuery) Match(c *Credential) (*CredentialMatch, error) {
	m := &CredentialMatch{QueryID: cq.ID, ClaimSet: -1}
	return m, cq.match(c, m)
}

func (cq *CredentialQuery) match(c *Credential, m *CredentialMatch) error {
	if c.Format != cq.Format || cq.Format != FormatSDJWTVC {
		return ErrFormatMismatch
	}
	if !slices.Contains(cq.VCTValues, c.VCT) {
		return ErrVCTMismatch
	}
	if cq.RequireHolderBinding && !c.KeyBound {
		return ErrHolderBindingRequired
	}
	if len(cq.Claims) == 0 {
		return nil
	}
	if len(cq.ClaimSets) == 0 {
		return cq.matchAll(c, m)
	}
	return cq.matchSets(c, m)
}

// matchAll requires every claims query, in one arena.
func (cq *CredentialQuery) matchAll(c *Credential, m *CredentialMatch) error {
	// ranges[i] is where claim i's selection starts in the arena, which
	// may move while it grows; the slices are cut when it is complete.
	var buf [MaxClaims + 1]int
	ranges := buf[:]
	if len(cq.Claims) >= len(buf) { // only a Query built by hand
		ranges = make([]int, len(cq.Claims)+1)
	}
	arena := make([]Selected, 0, len(cq.Claims))
	for i := range cq.Claims {
		var ok bool
		var start int
		arena, start, ok = cq.evaluate(arena, c, i)
		if !ok {
			return ErrClaimsUnsatisfied.With("claims["+strconv.Itoa(i)+"] is not in the credential", nil)
		}
		ranges[i] = start
	}
	ranges[len(cq.Claims)] = len(arena)
	m.Claims = make([]ClaimMatch, len(cq.Claims))
	for i := range cq.Claims {
		cl := &cq.Claims[i]
		m.Claims[i] = ClaimMatch{Index: i, ID: cl.ID, Path: cl.Path, Selected: arena[ranges[i]:ranges[i+1]:ranges[i+1]]}
	}
	return nil
}

// matchSets evaluates each claims query at most once and chooses the first
// satisfied claim set.
func (cq *CredentialQuery) matchSets(c *Credential, m *CredentialMatch) error {
	type eval struct {
		done, ok   bool
		start, end int
	}
	evals := make([]eval, len(cq.Claims))
	var arena []Selected
	for k, set := range cq.ClaimSets {
		satisfied := true
		for _, id := range set {
			i := claimIndex(cq.Claims, id)
			if i < 0 {
				// Only a Query built by hand can name a missing claim.
				satisfied = false
				break
			}
			e := &evals[i]
			if !e.done {
				var start int
				arena, start, e.ok = cq.evaluate(arena, c, i)
				e.done, e.start, e.end = true, start, len(arena)
			}
			if !e.ok {
				satisfied = false
				break
			}
		}
		if satisfied {
			m.Satisfiable = append(m.Satisfiable, k)
		}
	}
	if len(m.Satisfiable) == 0 {
		return ErrClaimsUnsatisfied.With("the credential satisfies no claim set", nil)
	}
	m.ClaimSet = m.Satisfiable[0]
	for _, id := range cq.ClaimSets[m.ClaimSet] {
		i := claimIndex(cq.Claims, id)
		if slices.ContainsFunc(m.Claims, func(x ClaimMatch) bool { return x.Index == i }) {
			continue // an id listed twice in one set
		}
		cl, e := &cq.Claims[i], evals[i]
		m.Claims = append(m.Claims, ClaimMatch{Index: i, ID: cl.ID, Path: cl.Path, Selected: arena[e.start:e.end:e.end]})
	}
	return nil
}

// evaluate selects claims query i in c, appending to arena; ok is false
// when the claim is absent, or present with none of its values.
func (cq *CredentialQuery) evaluate(arena []Selected, c *Credential, i int) ([]Selected, int, bool) {
	cl := &cq.Claims[i]
	arena, start, err := selectAppend(arena, c.Claims, cl.Path)
	if err != nil {
		return arena, start, false
	}
	if cl.Values != nil {
		kept := keepValues(arena[start:], cl.Values)
		arena = arena[:start+len(kept)]
		if len(kept) == 0 {
			return arena, start, false
		}
	}
	return arena, start, true
}
