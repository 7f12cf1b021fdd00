package dcql

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
)

// FuzzParseQuery feeds arbitrary bytes to Parse: it never panics; a
// refusal is an *errs.Error of kind Invalid with a code; an accepted query
// holds to the limits, marshals, and parses back to itself; and matching
// any credential against it never panics.
func FuzzParseQuery(f *testing.F) {
	examples, err := filepath.Glob(filepath.Join("testdata", "spec", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range examples {
		b, err := os.ReadFile(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b)) // the OpenID4VP 1.0 examples (and the §7.3 credential, not a query)
	}
	f.Add(venueQuery)                                                                                          // the demo venue's policy
	f.Add(`{}`)                                                                                                // no credentials
	f.Add(`{"credentials":[]}`)                                                                                // an empty credentials array
	f.Add(`{"credentials":[{"id":"c","format":"x","meta":{}}]}`)                                               // the smallest valid query
	f.Add(`{"credentials":[{"id":"\u0063","format":"x","meta":{}},{"id":"c","format":"x","meta":{}}]}`)        // ids equal after unescaping
	f.Add(query(`,"claims":[{"path":["a",null,0,-0]}]`))                                                       // every kind of component, and -0
	f.Add(query(`,"claims":[{"path":["a",1.0]}]`))                                                             // an integral index written with a fraction
	f.Add(query(`,"claims":[{"path":["a"],"values":[1e309]}]`))                                                // a number beyond a double
	f.Add(query(`,"claims":[{"path":["a"],"values":[9223372036854775807,-9223372036854775808]}]`))             // the int64 extremes
	f.Add(query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[["a"],["a","a"]]`))                         // a claim id twice in one set
	f.Add(query(`,"claim_sets":[["a"]]`))                                                                      // claim_sets without claims
	f.Add(query(`,"trusted_authorities":[{"type":"aki","values":["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}]`))           // an aki
	f.Add(sets(`[{"options":[["c"],["c","c"]],"required":false,"purpose":7}]`))                                // credential sets edge cases
	f.Add(`{"credentials":` + strings.Repeat("[", 33) + strings.Repeat("]", 33) + `}`)                         // one level over the depth limit
	f.Add(`{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":["a","a"]},"multiple":true}]}`) // a vct twice
	f.Add("{\"credentials\":[{\"id\":\"c\",\"format\":\"\xc3\"}]}")                                            // invalid UTF-8
	f.Add(`{"credentials":[{"id":"c","format":"x","meta":{}}],"credentials":[]}`)                              // a duplicate member
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse([]byte(s))
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid || e.Code == "" {
				t.Fatalf("refusal is not a coded Invalid error: %v", err)
			}
			if q != nil {
				t.Fatal("a refusal returned a query")
			}
			return
		}
		checkLimits(t, q)
		b, err := q.MarshalJSON()
		if err != nil {
			t.Fatalf("an accepted query does not marshal: %v", err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("a marshalled query is refused: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(q, again) {
			t.Fatalf("round trip differs:\n%s", b)
		}
		creds := []Credential{{Format: FormatSDJWTVC, VCT: "v", Claims: fuzzClaims, KeyBound: true}}
		q.Candidates(creds)
		resp := map[string][]Credential{}
		for _, c := range q.Credentials {
			resp[c.ID] = creds
		}
		_, _ = q.Match(resp)
		_ = q.CheckAllowed(Allowed{"v": {"a", "b.c"}})
	})
}

// fuzzClaims is a credential with a bit of everything for paths to meet.
var fuzzClaims = map[string]any{
	"a": "x", "b": map[string]any{"c": []any{"1", map[string]any{"d": true}}}, "n": nil,
	"l": []any{[]any{1.0, "2"}, map[string]any{"a": false}},
}

func checkLimits(t *testing.T, q *Query) {
	t.Helper()
	if len(q.Credentials) == 0 || len(q.Credentials) > MaxCredentials || len(q.CredentialSets) > MaxCredentialSets {
		t.Fatal("credential counts out of bounds")
	}
	for _, c := range q.Credentials {
		if !validID(c.ID) || len(c.Claims) > MaxClaims || len(c.ClaimSets) > MaxClaimSets || c.Format == "" {
			t.Fatal("a credential query out of bounds")
		}
		for _, cl := range c.Claims {
			if len(cl.Path) == 0 || len(cl.Path) > MaxPathLength || len(cl.Values) > MaxValues {
				t.Fatal("a claims query out of bounds")
			}
			for _, v := range cl.Values {
				switch v.(type) {
				case string, int64, bool:
				default:
					t.Fatalf("a value of type %T", v)
				}
			}
		}
		for _, set := range c.ClaimSets {
			for _, id := range set {
				if claimIndex(c.Claims, id) < 0 {
					t.Fatal("a claim set names no claim")
				}
			}
		}
	}
	for _, s := range q.CredentialSets {
		for _, opt := range s.Options {
			for _, id := range opt {
				if q.indexOf(id) < 0 {
					t.Fatal("an option names no credential query")
				}
			}
		}
	}
}

// FuzzSelect applies arbitrary paths (given as a query's claims) to
// arbitrary claims: no panic, and every element selected is the value its
// pointer names in the claims.
func FuzzSelect(f *testing.F) {
	f.Add(`["degrees",null,"type"]`, string(specExample(f, "7.3_credential.json"))) // §7.3: every element
	f.Add(`["nationalities",1]`, string(specExample(f, "7.3_credential.json")))     // §7.3: an index
	f.Add(`["name","x"]`, string(specExample(f, "7.3_credential.json")))            // a member of a string
	f.Add(`[null,null]`, `{"a":[[1],[2,3]]}`)                                       // null at the root
	f.Add(`["a",null,null,0]`, `{"a":[[[1]],[[2],[3]],[]]}`)                        // nested arrays
	f.Add(`["a/b","~"]`, `{"a/b":{"~":1}}`)                                         // pointer escaping
	f.Add(`["a",null,"b"]`, `{"a":[{"b":1},{"c":2},{"b":3}]}`)                      // some elements lack the member
	f.Add(`["a",null]`, `{"a":[`+strings.Repeat(`0,`, 1000)+`0]}`)                  // a wide array
	f.Fuzz(func(t *testing.T, path, claims string) {
		c, err := jose.ParseClaims([]byte(claims))
		if err != nil {
			return
		}
		q, err := Parse([]byte(query(`,"claims":[{"path":` + path + `}]`)))
		if err != nil {
			return
		}
		p := q.Credentials[0].Claims[0].Path
		sel, err := Select(c, p)
		if err != nil {
			if sel != nil {
				t.Fatal("a selection with an error")
			}
			return
		}
		if len(sel) == 0 {
			t.Fatal("an empty selection without an error")
		}
		for _, s := range sel {
			v, ok := resolve(c, s.Pointer)
			if !ok || !reflect.DeepEqual(v, s.Value) {
				t.Fatalf("pointer %q does not name the selected value", s.Pointer)
			}
		}
	})
}

// resolve follows a JSON Pointer the way sdjwt.Present does.
func resolve(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = next
		case jose.Claims:
			next, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
