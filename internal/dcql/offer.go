package dcql

import "slices"

// Offer is what a wallet can answer to a query, for the citizen's consent:
// for each credential query the credentials that satisfy it and what each
// would disclose, and which parts of the query are optional.
type Offer struct {
	// Queries has one entry per credential query, in query order.
	Queries []QueryOffer
	// Sets has one entry per credential set; nil without credential_sets.
	Sets []SetOffer
	// Satisfiable is whether the wallet can answer at all: every
	// credential query has a candidate (without credential_sets), or every
	// required set has an option whose every credential query has one.
	// When it is false the wallet must not return any credential (§6.4.2).
	Satisfiable bool
}

// QueryOffer is what the wallet holds for one credential query.
type QueryOffer struct {
	ID string
	// Multiple is the query's multiple: more than one candidate may go.
	Multiple bool
	// Required is true when the query is part of every answer: there are
	// no credential_sets, or it is in every option of a required set. A
	// query in some options only is an alternative (see Sets); one in
	// optional sets only is optional.
	Required bool
	// Optional is true when no required set names the query, so the
	// citizen may leave it out.
	Optional bool
	// Candidates are the credentials that satisfy the query, in the order
	// given, each with the claims it would disclose: those of the first
	// claim set it satisfies (the verifier's preference), or every claims
	// query without claim_sets. CredentialMatch.Pointers lists what to
	// reveal.
	Candidates []CredentialMatch
}

// SetOffer is what the wallet can do for one credential set.
type SetOffer struct {
	Required bool
	Purpose  string
	// Options tells, for each option, whether every credential query in it
	// has a candidate.
	Options []bool
	// Option is the first satisfiable option, -1 when none is.
	Option int
}

// Candidates matches the wallet's credentials against q (the holder's side
// of §6.4): each credential against each credential query, by
// CredentialQuery.Match, and then the credential sets. It never decides
// for the citizen: it lists what can satisfy the query and what each
// choice would disclose.
//
// Claims paths are applied to the credential as stored (every disclosure
// applied). An integer component counts positions there; a presentation of
// an SD-JWT drops the array elements it does not disclose, so an element
// asked by index i arrives at index i only if the elements before it are
// disclosed too. Candidates never discloses more than a path selects, so
// the verifier's Match refuses such an answer unless those elements are
// always visible; a query into a selectively disclosable array should use
// null (with values) instead. ssi's own credentials have no such arrays.
//
// Values are matched here too, which tells the wallet whether a claim
// holds a value the verifier named; by §15.4.1 the wallet must not let the
// verifier tell a values mismatch from a refusal, so a wallet that cannot
// answer still asks the citizen before it sends any response.
func (q *Query) Candidates(creds []Credential) *Offer {
	o := &Offer{Queries: make([]QueryOffer, len(q.Credentials))}
	for i := range q.Credentials {
		cq := &q.Credentials[i]
		qo := &o.Queries[i]
		qo.ID, qo.Multiple = cq.ID, cq.Multiple
		for k := range creds {
			m := CredentialMatch{QueryID: cq.ID, Credential: k, ClaimSet: -1}
			if cq.match(&creds[k], &m) == nil {
				qo.Candidates = append(qo.Candidates, m)
			}
		}
	}
	has := func(i int) bool { return len(o.Queries[i].Candidates) > 0 }
	if q.CredentialSets == nil {
		o.Satisfiable = true
		for i := range o.Queries {
			o.Queries[i].Required = true
			o.Satisfiable = o.Satisfiable && has(i)
		}
		return o
	}
	o.Satisfiable = true
	for i := range o.Queries {
		o.Queries[i].Optional = true
	}
	o.Sets = make([]SetOffer, len(q.CredentialSets))
	for s := range q.CredentialSets {
		set := &q.CredentialSets[s]
		so := &o.Sets[s]
		so.Required, so.Purpose = set.Required, set.Purpose
		so.Options = make([]bool, len(set.Options))
		for k, opt := range set.Options {
			so.Options[k] = q.optionSatisfied(opt, has)
		}
		so.Option = q.firstOption(set, has)
		if !set.Required {
			continue
		}
		if so.Option < 0 {
			o.Satisfiable = false
		}
		for i := range o.Queries {
			names := func(opt []string) bool { return slices.Contains(opt, o.Queries[i].ID) }
			if slices.ContainsFunc(set.Options, names) {
				o.Queries[i].Optional = false
			}
			if !slices.ContainsFunc(set.Options, func(opt []string) bool { return !names(opt) }) {
				o.Queries[i].Required = true
			}
		}
	}
	return o
}
