package dcql

import (
	"strconv"

	"github.com/ssi-project/ssi/internal/errs"
)

// Result is how a response satisfied (or failed) a query.
type Result struct {
	// Matches are the presentations that the query needs: for every
	// credential query when there are no credential_sets, otherwise for
	// the credential queries of the option each set was satisfied by (its
	// first satisfied option in the verifier's order). In query order,
	// then response order. They are what a verifier may show.
	Matches []CredentialMatch
	// Extra are presentations that match their credential query but that
	// the query does not need: another option of a set already satisfied,
	// or part of an optional set left unsatisfied. A verifier shows none of
	// them.
	Extra []CredentialMatch
	// Discarded are presentations that do not match their credential
	// query, each with its reason (OpenID4VP 1.0 §8.6: such a
	// presentation is discarded, and the rest must still satisfy the
	// query).
	Discarded []Discard
	// Sets holds, for each credential set, the index of the option it was
	// satisfied by, or -1; nil without credential_sets.
	Sets []int
}

// Discard is a presentation that did not match its credential query.
type Discard struct {
	QueryID    string
	Credential int    // index in the response's entry for QueryID
	Reason     error  // ErrFormatMismatch, ErrVCTMismatch, ErrHolderBindingRequired or ErrClaimsUnsatisfied
	Code       string // Reason's code
}

// Match decides whether a response satisfies q, for the verifier, which
// must never trust the wallet's own filtering (§14.11). resp is the VP
// Token with each presentation already verified: for each credential query
// id the response answers, its presentations in order.
//
// The VP Token is refused as a whole, with a nil Result, when it holds
// more than MaxPresentations presentations (ErrLimit), an entry for an id
// the query does not have (ErrUnexpectedCredential), an empty entry
// (ErrEmptyEntry) or more than one presentation for a query without
// multiple (ErrTooManyPresentations) (§8.1). Then every presentation is
// matched against its credential query (CredentialQuery.Match); one that
// fails is discarded, with its reason. The rest must satisfy the query
// (§6.4.2): every credential query when there are no credential_sets
// (else ErrCredentialMissing), or one option of every required set (else
// ErrCredentialSetUnsatisfied). With those two errors the Result is
// returned too, so that the caller can report the discards.
//
// Match reads resp and the claims in it and changes neither. The Result's
// selections share the claim values of resp.
func (q *Query) Match(resp map[string][]Credential) (*Result, error) {
	total := 0
	for id, entry := range resp {
		if q.indexOf(id) < 0 {
			return nil, ErrUnexpectedCredential
		}
		total += len(entry)
	}
	if total > MaxPresentations {
		return nil, limit(LimitPresentationCount, MaxPresentations, "the response")
	}
	for i := range q.Credentials {
		cq := &q.Credentials[i]
		entry, ok := resp[cq.ID]
		switch {
		case !ok:
		case len(entry) == 0:
			return nil, ErrEmptyEntry.With("credentials["+strconv.Itoa(i)+"] has an empty entry", nil)
		case len(entry) > 1 && !cq.Multiple:
			return nil, ErrTooManyPresentations.With("credentials["+strconv.Itoa(i)+"] allows one presentation", nil)
		}
	}

	res := &Result{}
	// matched[i] counts the matching presentations of credential query i;
	// first[i] is the index in matches of its first.
	matches := make([]CredentialMatch, 0, total)
	var countBuf [MaxCredentials]int
	matched := countBuf[:]
	if len(q.Credentials) > len(countBuf) { // only a Query built by hand
		matched = make([]int, len(q.Credentials))
	}
	for i := range q.Credentials {
		cq := &q.Credentials[i]
		for k := range resp[cq.ID] {
			m := CredentialMatch{QueryID: cq.ID, Credential: k, ClaimSet: -1}
			if err := cq.match(&resp[cq.ID][k], &m); err != nil {
				res.Discarded = append(res.Discarded, Discard{QueryID: cq.ID, Credential: k, Reason: err, Code: errs.CodeOf(err)})
				continue
			}
			matches = append(matches, m)
			matched[i]++
		}
	}

	needed, err := q.needed(matched, res)
	for _, m := range matches {
		if needed[q.indexOf(m.QueryID)] {
			res.Matches = append(res.Matches, m)
		} else {
			res.Extra = append(res.Extra, m)
		}
	}
	return res, err
}

// needed decides which credential queries the response must answer given
// how many presentations matched each, records the sets' options in res,
// and returns the first unsatisfied requirement.
func (q *Query) needed(matched []int, res *Result) ([]bool, error) {
	needed := make([]bool, len(q.Credentials))
	if q.CredentialSets == nil {
		var err error
		for i := range q.Credentials {
			needed[i] = true
			if matched[i] == 0 && err == nil {
				err = ErrCredentialMissing.With("credentials["+strconv.Itoa(i)+"] has no matching presentation", nil)
			}
		}
		return needed, err
	}
	var err error
	res.Sets = make([]int, len(q.CredentialSets))
	for s := range q.CredentialSets {
		set := &q.CredentialSets[s]
		res.Sets[s] = q.firstOption(set, func(i int) bool { return matched[i] > 0 })
		if res.Sets[s] < 0 {
			if set.Required && err == nil {
				err = ErrCredentialSetUnsatisfied.With("credential_sets["+strconv.Itoa(s)+"] has no satisfied option", nil)
			}
			continue
		}
		for _, id := range set.Options[res.Sets[s]] {
			needed[q.indexOf(id)] = true
		}
	}
	return needed, err
}

// firstOption returns the index of the first option of set whose every
// credential query has, by has, what it needs; -1 when none has.
func (q *Query) firstOption(set *CredentialSet, has func(i int) bool) int {
	for k, opt := range set.Options {
		if q.optionSatisfied(opt, has) {
			return k
		}
	}
	return -1
}

// optionSatisfied reports whether every credential query of opt has, by
// has, what it needs.
func (q *Query) optionSatisfied(opt []string, has func(i int) bool) bool {
	for _, id := range opt {
		if i := q.indexOf(id); i < 0 || !has(i) {
			return false
		}
	}
	return true
}
