package dcql

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

// TestSelectSpecExample: the claims path pointers of OpenID4VP 1.0 §7.3
// over its example credential.
func TestSelectSpecExample(t *testing.T) {
	cred := claimsOf(t, string(specExample(t, "7.3_credential.json")))
	address := cred["address"]
	cases := []struct {
		path Path
		want []Selected
	}{
		{Path{Key("name")}, []Selected{{"/name", "Arthur Dent"}}},
		{Path{Key("address")}, []Selected{{"/address", address}}},
		{Path{Key("address"), Key("street_address")}, []Selected{{"/address/street_address", "42 Market Street"}}},
		{Path{Key("degrees"), All(), Key("type")}, []Selected{{"/degrees/0/type", "Bachelor of Science"}, {"/degrees/1/type", "Master of Science"}}},
		{Path{Key("nationalities"), Index(1)}, []Selected{{"/nationalities/1", "Betelgeusian"}}},
	}
	for _, tc := range cases {
		t.Run(tc.path.String(), func(t *testing.T) {
			got, err := Select(cred, tc.path)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSelectProcessingRules(t *testing.T) {
	cred := claimsOf(t, `{"name":"x","list":[{"a":1},{"b":2},{"a":3}],"mixed":[{"a":1},"s"],
		"nested":[[1,2],[3]],"empty":[],"obj":{"a/b~c":true},"n":null}`)
	cases := []struct {
		name string
		path Path
		code string
		want []string // pointers
	}{
		{"a member of a string", Path{Key("name"), Key("x")}, "dcql_path_type_mismatch", nil},
		{"null on an object", Path{Key("obj"), All()}, "dcql_path_type_mismatch", nil},
		{"null on a string", Path{Key("name"), All()}, "dcql_path_type_mismatch", nil},
		{"an index on an object", Path{Key("obj"), Index(0)}, "dcql_path_type_mismatch", nil},
		{"null at the root", Path{All()}, "dcql_path_type_mismatch", nil},
		{"an index at the root", Path{Index(0)}, "dcql_path_type_mismatch", nil},
		{"a name on an array", Path{Key("list"), Key("a")}, "dcql_path_type_mismatch", nil},
		{"one selected element is not an object", Path{Key("mixed"), All(), Key("a")}, "dcql_path_type_mismatch", nil},
		{"a member of null", Path{Key("n"), Key("a")}, "dcql_path_type_mismatch", nil},
		{"missing member", Path{Key("absent")}, "dcql_path_no_match", nil},
		{"missing below a missing member", Path{Key("absent"), Key("x"), All()}, "dcql_path_no_match", nil},
		{"index beyond the array", Path{Key("list"), Index(3)}, "dcql_path_no_match", nil},
		{"every element of an empty array", Path{Key("empty"), All()}, "dcql_path_no_match", nil},
		{"a member no element has", Path{Key("list"), All(), Key("z")}, "dcql_path_no_match", nil},
		{"empty path", Path{}, "dcql_invalid_path", nil},
		{"zero component", Path{Key("name"), {}}, "dcql_invalid_path", nil},
		{"elements without the member leave", Path{Key("list"), All(), Key("a")}, "", []string{"/list/0/a", "/list/2/a"}},
		{"null twice", Path{Key("nested"), All(), All()}, "", []string{"/nested/0/0", "/nested/0/1", "/nested/1/0"}},
		{"an index past some arrays", Path{Key("nested"), All(), Index(1)}, "", []string{"/nested/0/1"}},
		{"pointer escaping", Path{Key("obj"), Key("a/b~c")}, "", []string{"/obj/a~1b~0c"}},
		{"a null value is a value", Path{Key("n")}, "", []string{"/n"}},
		{"the whole array", Path{Key("list")}, "", []string{"/list"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(cred, tc.path)
			if tc.code != "" {
				assert.Nil(t, got)
				assert.Equal(t, tc.code, errs.CodeOf(err))
				return
			}
			require.NoError(t, err)
			var ptrs []string
			for _, s := range got {
				ptrs = append(ptrs, s.Pointer)
			}
			assert.Equal(t, tc.want, ptrs)
		})
	}
}

// TestSelectArena: one arena serves several selections, and a failed one
// leaves the earlier ones intact even when a later one makes it grow.
func TestSelectArena(t *testing.T) {
	cred := claimsOf(t, `{"a":1,"big":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],"s":"x"}`)
	arena, s1, err := selectAppend(nil, cred, Path{Key("a")})
	require.NoError(t, err)
	first := arena[s1:len(arena):len(arena)]
	arena, s2, err := selectAppend(arena, cred, Path{Key("s"), Key("x")})
	require.Error(t, err)
	assert.Equal(t, s2, len(arena), "a failed selection leaves nothing behind")
	arena, s3, err := selectAppend(arena, cred, Path{Key("big"), All()})
	require.NoError(t, err)
	assert.Len(t, arena[s3:], 17)
	assert.Equal(t, []Selected{{"/a", json.Number("1")}}, first)
	assert.Equal(t, Selected{"/big/16", json.Number("17")}, arena[len(arena)-1])
}

func TestMatchesValue(t *testing.T) {
	cases := []struct {
		claim  any
		values []any
		want   bool
	}{
		{"Doe", []any{"Doe"}, true},
		{"doe", []any{"Doe"}, false},
		{"1", []any{int64(1)}, false},
		{json.Number("1"), []any{"1"}, false},
		{json.Number("1"), []any{int64(1)}, true},
		{json.Number("-7"), []any{int64(-7)}, true},
		{json.Number("1.0"), []any{int64(1)}, false},
		{json.Number("1e0"), []any{int64(1)}, false},
		{json.Number("99999999999999999999"), []any{int64(1)}, false},
		{float64(3), []any{int64(3)}, true},
		{float64(3.5), []any{int64(3)}, false},
		{3, []any{int64(3)}, true},
		{int64(3), []any{3}, true},
		{true, []any{true}, true},
		{true, []any{"true"}, false},
		{false, []any{true}, false},
		{json.Number("0"), []any{false}, false},
		{nil, []any{"", int64(0), false}, false},
		{map[string]any{}, []any{"x"}, false},
		{[]any{"x"}, []any{"x"}, false},
		{"b", []any{"a", int64(1), "b"}, true},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, matchesValue(tc.claim, tc.values), "%#v in %#v", tc.claim, tc.values)
	}
}
