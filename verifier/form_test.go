package verifier

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// formSeeds are bodies whose parsing parseForm must agree on with
// url.ParseQuery, each an edge case of the form encoding.
var formSeeds = []string{
	"", // no parameters
	"vp_token=%7B%22pass%22%3A%5B%22eyJ.x~y~%22%5D%7D&state=abc", // a wallet's response
	"response=eyJhbGciOiJFQ0RILUVTIn0..iv.ct.tag",                // direct_post.jwt
	"a=1&a=2&b=3",                         // a name twice
	"a=1&&b=2&",                           // empty pairs
	"a",                                   // no '='
	"=v",                                  // empty name
	"a==b",                                // '=' in the value
	"a+b=c+d",                             // '+' is a space
	"a%20b=%41%42",                        // escapes in both
	"a=%4",                                // truncated escape
	"a=%",                                 // bare '%'
	"a=%zz",                               // not hex
	"a=%e2%82%ac",                         // lower-case hex, UTF-8
	"a=%ff%fe",                            // not UTF-8: kept as bytes
	"a=1;b=2",                             // a semicolon separator
	"a=1&b=2;c",                           // a semicolon in a later pair
	"%3B=%3B",                             // an escaped semicolon is fine
	"a=%00",                               // NUL
	"wallet_nonce=x&wallet_nonce=y",       // repeated, as the request_uri POST must refuse
	"a=1&%zz=2",                           // a bad name after a good pair
	strings.Repeat("a=1&", 9999) + "a=1",  // 10,000 parameters: the limit
	strings.Repeat("a=1&", 10000) + "a=1", // 10,001: over it
	strings.Repeat("&", 10000),            // 10,001 empty pairs: over it too
}

// checkFormLikeParseQuery asserts that parseForm of body gives what
// url.ParseQuery does: an error for the same inputs, the same values.
func checkFormLikeParseQuery(t *testing.T, body string) {
	want, wantErr := url.ParseQuery(body)
	got, err := parseForm([]byte(body)) // a copy: parseForm decodes in place
	if wantErr != nil {
		require.Error(t, err, "%q: ParseQuery refuses (%v)", body, wantErr)
		return
	}
	require.NoError(t, err, "%q", body)
	if len(want) == 0 {
		assert.Empty(t, got, "%q", body)
		return
	}
	assert.Equal(t, want, got, "%q", body)
}

// TestParseFormLikeParseQuery: parseForm is url.ParseQuery, differentially,
// on the seeds; and the strings it returns stay what they were when the
// next body is parsed (they live in their own body, never a shared one).
func TestParseFormLikeParseQuery(t *testing.T) {
	for _, s := range formSeeds {
		checkFormLikeParseQuery(t, s)
	}
	b1 := []byte("vp_token=%41&state=s1")
	f1, err := parseForm(b1)
	require.NoError(t, err)
	_, err = parseForm([]byte("vp_token=%42&state=s2"))
	require.NoError(t, err)
	assert.Equal(t, url.Values{"vp_token": {"A"}, "state": {"s1"}}, f1)
}

// FuzzParseForm: for any body, parseForm agrees with url.ParseQuery.
func FuzzParseForm(f *testing.F) {
	for _, s := range formSeeds {
		if len(s) < 1000 {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, body string) {
		checkFormLikeParseQuery(t, body)
	})
}

// BenchmarkParseForm is a wallet's direct_post body (a 1.4 KB
// presentation) read by parseForm and by url.ParseQuery(string(body)).
func BenchmarkParseForm(b *testing.B) {
	pres := strings.Repeat("eyJhbGciOiJFUzI1NiJ9", 60) + "~WyJzYWx0IiwiZ2l2ZW5fbmFtZSIsIkVyaWthIl0~" + strings.Repeat("x", 100)
	body := url.Values{"vp_token": {`{"pass":["` + pres + `"]}`}, "state": {"c3RhdGUtb2YtdGhlLXRyYW5zYWN0aW9u"}}.Encode()
	b.Run("parseForm", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, len(body))
		for b.Loop() {
			copy(buf, body) // as a fresh body
			if _, err := parseForm(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseQuery", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, len(body))
		for b.Loop() {
			copy(buf, body)
			if _, err := url.ParseQuery(string(buf)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
