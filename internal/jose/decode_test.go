package jose

import (
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// TestDecodeStringWords: a string's bytes that the decoder must look at
// (its closing quote, an escape, a control character, a byte of a
// multi-byte UTF-8 sequence, valid or not), placed at every offset of the
// 8-byte words the decoder skips at once, and after runs of every length:
// the decoder accepts what jsonx.Check accepts and decodes what
// encoding/json decodes.
func TestDecodeStringWords(t *testing.T) {
	specials := []string{`"`, `\n`, `\u0041`, "\x1f", "\x00", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xff", "\xc3", "\x80"}
	for _, sp := range specials {
		for pre := 0; pre <= 17; pre++ {
			for _, post := range []int{0, 1, 7, 8, 9} {
				s := `"` + strings.Repeat("A", pre) + sp + strings.Repeat("b", post) + `"`
				got, err := decodeFast([]byte(s), s)
				cerr := jsonx.Check([]byte(s), jsonx.MaxDepth)
				if (err == nil) != (cerr == nil) {
					t.Fatalf("%q: decoder %v, jsonx.Check %v", s, err, cerr)
				}
				if err != nil {
					continue
				}
				var want any
				if err := stdjson.Unmarshal([]byte(s), &want); err != nil {
					t.Fatalf("%q: encoding/json: %v", s, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%q: decoded %q, encoding/json %q", s, got, want)
				}
			}
		}
	}
}
