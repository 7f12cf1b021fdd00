package did

import (
	"context"
	"crypto/ed25519"
	"flag"
	"os"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestDocumentGolden pins the documents our local resolvers produce for
// fixed keys (refresh with -update).
func TestDocumentGolden(t *testing.T) {
	edPub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public()
	keyDID, err := KeyDID(edPub)
	require.NoError(t, err)
	jwk, err := keys.JWKFromPublic(edPub)
	require.NoError(t, err)
	jwk.Use = "sig"
	jwkDID, err := JWKDID(jwk)
	require.NoError(t, err)

	r := NewRouter().Handle("key", KeyResolver{}).Handle("jwk", JWKResolver{})
	for name, d := range map[string]string{"didkey-ed25519": keyDID, "didjwk-ed25519-sig": jwkDID} {
		t.Run(name, func(t *testing.T) {
			res, err := r.Resolve(context.Background(), d, ResolveOptions{})
			require.NoError(t, err)
			got, err := json.Marshal(res, jsontext.WithIndent("  "))
			require.NoError(t, err)
			golden := "testdata/" + name + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got)+"\n")

			// The golden document parses back to the same document.
			doc, err := ParseDocument(mustDoc(t, want))
			require.NoError(t, err)
			assert.Equal(t, res.Document.ID, doc.ID)
			assert.Equal(t, res.Document.AssertionMethod, doc.AssertionMethod)
		})
	}
}

// mustDoc extracts didDocument from a serialized Resolution.
func mustDoc(t *testing.T, resolution []byte) []byte {
	t.Helper()
	var r struct {
		Doc jsontext.Value `json:"didDocument"`
	}
	require.NoError(t, json.Unmarshal(resolution, &r))
	return r.Doc
}
