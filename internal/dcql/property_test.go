package dcql

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// gen makes random valid queries and credentials over a small vocabulary,
// so that paths often hit.
type gen struct{ r *rand.Rand }

var (
	genKeys   = []string{"a", "b", "c"}
	genValues = []string{`"x"`, `"y"`, `1`, `2`, `true`, `false`}
	genVCTs   = []string{"v1", "v2"}
)

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// value returns random JSON for a credential: objects over genKeys,
// arrays and leaves, depth at most d.
func (g gen) value(d int) string {
	switch k := g.r.IntN(4); {
	case d == 0 || k == 0:
		return g.pick(genValues)
	case k == 1:
		n := g.r.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = g.value(d - 1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		return g.object(d - 1)
	}
}

func (g gen) object(d int) string {
	var parts []string
	for _, k := range genKeys {
		if g.r.IntN(3) > 0 {
			parts = append(parts, strconv.Quote(k)+":"+g.value(d))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// path returns a random path of names and nulls; indices are left out
// because an SD-JWT presentation renumbers what it keeps of an array.
func (g gen) path() string {
	n := 1 + g.r.IntN(3)
	parts := []string{strconv.Quote(g.pick(genKeys))}
	for range n - 1 {
		if g.r.IntN(3) == 0 {
			parts = append(parts, "null")
		} else {
			parts = append(parts, strconv.Quote(g.pick(genKeys)))
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (g gen) query() string {
	nCred := 1 + g.r.IntN(3)
	creds := make([]string, nCred)
	ids := make([]string, nCred)
	for i := range creds {
		ids[i] = "q" + strconv.Itoa(i)
		var claims []string
		seen := map[string]bool{}
		for j := range g.r.IntN(4) {
			p := g.path()
			if seen[p] {
				continue
			}
			seen[p] = true
			c := `{"id":"k` + strconv.Itoa(j) + `","path":` + p
			if g.r.IntN(3) == 0 {
				c += `,"values":[` + g.pick(genValues) + "," + g.pick(genValues) + "]"
			}
			claims = append(claims, c+"}")
		}
		c := `{"id":"` + ids[i] + `","format":"dc+sd-jwt","meta":{"vct_values":["` + g.pick(genVCTs) + `"]}`
		if g.r.IntN(2) == 0 {
			c += `,"multiple":true`
		}
		if len(claims) > 0 {
			c += `,"claims":[` + strings.Join(claims, ",") + "]"
			if g.r.IntN(2) == 0 {
				var sets []string
				for range 1 + g.r.IntN(3) {
					var set []string
					for _, cl := range claims {
						if g.r.IntN(2) == 0 {
							set = append(set, `"`+strings.SplitN(cl, `"`, 5)[3]+`"`)
						}
					}
					if len(set) == 0 {
						set = []string{`"k0"`}
						if !strings.Contains(claims[0], `"k0"`) {
							set = []string{`"` + strings.SplitN(claims[0], `"`, 5)[3] + `"`}
						}
					}
					sets = append(sets, "["+strings.Join(set, ",")+"]")
				}
				c += `,"claim_sets":[` + strings.Join(sets, ",") + "]"
			}
		}
		creds[i] = c + "}"
	}
	q := `{"credentials":[` + strings.Join(creds, ",") + "]"
	if g.r.IntN(2) == 0 {
		var sets []string
		for range 1 + g.r.IntN(2) {
			var opts []string
			for range 1 + g.r.IntN(3) {
				var opt []string
				for _, id := range ids {
					if g.r.IntN(2) == 0 {
						opt = append(opt, `"`+id+`"`)
					}
				}
				if len(opt) == 0 {
					opt = []string{`"` + ids[0] + `"`}
				}
				opts = append(opts, "["+strings.Join(opt, ",")+"]")
			}
			s := `{"options":[` + strings.Join(opts, ",") + "]"
			if g.r.IntN(3) == 0 {
				s += `,"required":false`
			}
			sets = append(sets, s+"}")
		}
		q += `,"credential_sets":[` + strings.Join(sets, ",") + "]"
	}
	return q + "}"
}

// TestPropertyHolderAndVerifierAgree: whatever the holder's Candidates
// offers, presented with only its Pointers disclosed (the other members and
// array elements removed, as an SD-JWT presentation does), satisfies the
// verifier's Match with the same claim sets; and when the holder finds its
// credential unable to answer, the verifier refuses that credential even
// fully disclosed. Every generated query also marshals back to itself.
func TestPropertyHolderAndVerifierAgree(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	satisfiable := 0
	for i := range 3000 {
		qs := g.query()
		q, err := Parse([]byte(qs))
		require.NoError(t, err, "generated query %d: %s", i, qs)
		roundTrip(t, q)
		full := Credential{Format: FormatSDJWTVC, VCT: g.pick(genVCTs), Claims: claimsOf(t, g.object(3)), KeyBound: true}
		o := q.Candidates([]Credential{full})

		resp := map[string][]Credential{}
		if !o.Satisfiable {
			for _, c := range q.Credentials {
				resp[c.ID] = []Credential{full}
			}
			_, err := q.Match(resp)
			require.Error(t, err, "the holder cannot answer but the verifier accepts\nquery %s\nclaims %v", qs, full.Claims)
			continue
		}
		satisfiable++
		chosen := map[string]CredentialMatch{}
		for qi, qo := range o.Queries {
			if len(qo.Candidates) == 0 || !answers(q, o, qi) {
				continue
			}
			m := qo.Candidates[0]
			chosen[qo.ID] = m
			shown := full
			shown.Claims = reduce(full.Claims, m.Pointers()).(map[string]any)
			resp[qo.ID] = []Credential{shown}
		}
		res, err := q.Match(resp)
		require.NoError(t, err, "query %s\nclaims %v\nresp %v", qs, full.Claims, resp)
		require.Empty(t, res.Discarded)
		for _, m := range slices.Concat(res.Matches, res.Extra) {
			require.Equal(t, chosen[m.QueryID].ClaimSet, m.ClaimSet, "the verifier sees the claim set the holder chose")
		}
	}
	t.Logf("%d of 3000 generated queries were satisfiable", satisfiable)
	require.Greater(t, satisfiable, 300, "the generator must exercise the satisfiable side")
}

// answers reports whether the holder sends credential query qi: without
// sets every query; with sets those of each satisfied set's first option.
func answers(q *Query, o *Offer, qi int) bool {
	if q.CredentialSets == nil {
		return true
	}
	for s, so := range o.Sets {
		if so.Option >= 0 && slices.Contains(q.CredentialSets[s].Options[so.Option], q.Credentials[qi].ID) {
			return true
		}
	}
	return false
}

// reduce keeps of v only what the JSON Pointers in ptrs name (and all
// below them), dropping the other members and array elements, which is
// what a verifier sees of an SD-JWT whose disclosures for ptrs alone were
// sent.
func reduce(v any, ptrs []string) any {
	if slices.Contains(ptrs, "") {
		return v
	}
	heads := map[string][]string{}
	var order []string
	for _, p := range ptrs {
		head, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if rest != "" || strings.Count(p, "/") > 1 {
			rest = "/" + rest
		}
		if _, ok := heads[head]; !ok {
			order = append(order, head)
		}
		heads[head] = append(heads[head], rest)
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for _, h := range order {
			out[unescape(h)] = reduce(x[unescape(h)], heads[h])
		}
		return out
	case []any:
		var idx []int
		for _, h := range order {
			i, _ := strconv.Atoi(h)
			idx = append(idx, i)
		}
		slices.Sort(idx)
		out := []any{}
		for _, i := range idx {
			out = append(out, reduce(x[i], heads[strconv.Itoa(i)]))
		}
		return out
	}
	panic(fmt.Sprintf("reduce: a pointer below a leaf %v", ptrs))
}

func unescape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
}

func TestReduce(t *testing.T) {
	c := claimsOf(t, `{"a":{"b":[1,{"c":2,"d":3},4],"e":5},"f":6}`)
	got := reduce(c, []string{"/a/b/1/c", "/a/b/2", "/f"})
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.Equal(t, `{"a":{"b":[{"c":2},4]},"f":6}`, string(b))
	require.True(t, reflect.DeepEqual(reduce(c, []string{""}), c))
}
