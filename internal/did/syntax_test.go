package did

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func TestParse(t *testing.T) {
	good := []struct {
		in, method, id string
	}{
		{"did:example:123456789abcdefghi", "example", "123456789abcdefghi"},
		{"did:web:example.com%3A8443:user:alice", "web", "example.com%3A8443:user:alice"},
		{"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "key", "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"},
		{"did:a1:b::c", "a1", "b::c"}, // empty segments are allowed by the ABNF
		{"did:x:_.-", "x", "_.-"},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			d, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.method, d.Method)
			assert.Equal(t, tc.id, d.ID)
			assert.Equal(t, tc.in, d.String())
		})
	}
	bad := map[string]string{
		"empty":                  "",
		"no scheme":              "example:123",
		"upper-case scheme":      "DID:example:123",
		"upper-case method":      "did:Example:123",
		"empty method":           "did::123",
		"no id":                  "did:example",
		"empty id":               "did:example:",
		"id ends with colon":     "did:example:abc:",
		"bad pct":                "did:example:ab%2",
		"bad pct hex":            "did:example:ab%zz",
		"space":                  "did:example:a b",
		"NUL":                    "did:example:a\x00b",
		"non-ascii":              "did:example:é",
		"method with dash":       "did:ex-ample:1",
		"DID URL is not a DID":   "did:example:1#key",
		"path is not a DID":      "did:example:1/path",
		"over MaxLength":         "did:example:" + strings.Repeat("a", MaxLength),
		"sql in method-specific": "did:example:1';DROP TABLE x;--",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(in)
			assert.Equal(t, "invalid_did", errs.CodeOf(err))
		})
	}
}

func TestParseURL(t *testing.T) {
	good := []struct {
		in                    string
		did, path, q, frag    string
		hasQuery, hasFragment bool
	}{
		{"did:example:1#key-1", "did:example:1", "", "", "key-1", false, true},
		{"did:example:1/path/to?x=1&y=2#f", "did:example:1", "/path/to", "x=1&y=2", "f", true, true},
		{"did:example:1?service=files&relativeRef=/a%20b", "did:example:1", "", "service=files&relativeRef=/a%20b", "", true, false},
		{"did:example:1#", "did:example:1", "", "", "", false, true},
		{"did:example:1", "did:example:1", "", "", "", false, false},
	}
	for _, tc := range good {
		t.Run(tc.in, func(t *testing.T) {
			u, err := ParseURL(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.did, u.DID.String())
			assert.Equal(t, tc.path, u.Path)
			assert.Equal(t, tc.q, u.Query)
			assert.Equal(t, tc.frag, u.Fragment)
			assert.Equal(t, tc.hasQuery, u.HasQuery)
			assert.Equal(t, tc.hasFragment, u.HasFragment)
			assert.Equal(t, tc.in, u.String())
		})
	}
	bad := map[string]string{
		"fragment with space": "did:example:1#a b",
		"fragment with hash":  "did:example:1#a#b",
		"path traversal NUL":  "did:example:1/../\x00",
		"bad pct in query":    "did:example:1?a=%g0",
		"not a DID":           "http://example.com/#x",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseURL(in)
			assert.Equal(t, "invalid_did", errs.CodeOf(err))
		})
	}
}
