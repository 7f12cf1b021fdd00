package did

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

func newTestRouter() *Router {
	return NewRouter().Handle("key", KeyResolver{}).Handle("jwk", JWKResolver{})
}

func TestDIDJWK(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	j, err := keys.JWKFromPublic(&k.PublicKey)
	require.NoError(t, err)
	d, err := JWKDID(j)
	require.NoError(t, err)

	res, err := newTestRouter().Resolve(context.Background(), d, ResolveOptions{})
	require.NoError(t, err)
	assert.Equal(t, MediaTypeDIDJSON, res.ResolutionMetadata.ContentType)
	assert.Equal(t, d, res.Document.ID)
	pub, alg, err := res.Document.PublicKey(d+"#0", AssertionMethod)
	require.NoError(t, err)
	assert.Equal(t, keys.ES256, alg)
	assert.True(t, pub.(*ecdsa.PublicKey).Equal(&k.PublicKey))
	assert.Len(t, res.Document.KeyAgreement, 1, "a JWK without use may also agree keys")

	// "use":"enc" keys are not for signatures.
	enc := j
	enc.Use = "enc"
	de, err := JWKDID(enc)
	require.NoError(t, err)
	res, err = newTestRouter().Resolve(context.Background(), de, ResolveOptions{})
	require.NoError(t, err)
	_, _, err = res.Document.PublicKey("#0", AssertionMethod)
	assert.Equal(t, "unknown_key", errs.CodeOf(err))
}

// TestDIDJWKRejects covers SECURITY-CASES E56 for did:jwk.
func TestDIDJWKRejects(t *testing.T) {
	enc := func(s string) string { return "did:jwk:" + base64.RawURLEncoding.EncodeToString([]byte(s)) }
	const x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	tests := map[string]string{
		"private d":            enc(`{"kty":"OKP","crv":"Ed25519","x":"` + x + `","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}`),
		"off-curve P-256":      enc(`{"kty":"EC","crv":"P-256","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`),
		"small-order Ed25519":  enc(`{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`),
		"symmetric key":        enc(`{"kty":"oct","k":"c2VjcmV0"}`),
		"duplicate kty":        enc(`{"kty":"OKP","kty":"EC","crv":"Ed25519","x":"` + x + `"}`),
		"unknown use":          enc(`{"kty":"OKP","crv":"Ed25519","x":"` + x + `","use":"both"}`),
		"not JSON":             enc(`not json`),
		"padded base64":        "did:jwk:" + base64.URLEncoding.EncodeToString([]byte(`{"kty":"OKP","crv":"Ed25519","x":"`+x+`"}`)),
		"std base64 alphabet":  "did:jwk:eyJ+",
		"too long":             "did:jwk:" + strings.Repeat("A", maxJWKIDLen+4),
		"deeply nested member": enc(`{"kty":"OKP","crv":"Ed25519","x":"` + x + `","ext":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`),
	}
	for name, d := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := newTestRouter().Resolve(context.Background(), d, ResolveOptions{})
			require.NotNil(t, res)
			assert.Nil(t, res.Document)
			assert.Equal(t, "invalid_did", errs.CodeOf(err))
			assert.Equal(t, "invalidDid", res.ResolutionMetadata.Error)
		})
	}
}

type fixedResolver struct {
	res *Resolution
	err error
}

func (f fixedResolver) Resolve(context.Context, string, ResolveOptions) (*Resolution, error) {
	return f.res, f.err
}

func TestRouterOutcomes(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	keyDID, err := KeyDID(edPub)
	require.NoError(t, err)
	deactivated := &Resolution{Document: &Document{ID: "did:gone:1"}, DocumentMetadata: DocumentMetadata{Deactivated: true}}
	r := newTestRouter().
		Handle("gone", fixedResolver{res: deactivated}).
		Handle("other", fixedResolver{res: &Resolution{Document: &Document{ID: "did:other:2"}}}).
		Handle("missing", fixedResolver{err: ErrNotFound}).
		Handle("broken", fixedResolver{err: context.DeadlineExceeded})

	tests := []struct {
		name, did, accept, code, w3c string
	}{
		{"ok", keyDID, "", "", ""},
		{"ld+json ok", keyDID, MediaTypeDIDLDJSON, "", ""},
		{"invalid", "did:key:", "", "invalid_did", "invalidDid"},
		{"DID URL is not a DID", keyDID + "#x", "", "invalid_did", "invalidDid"},
		{"unknown method", "did:example:123", "", "method_not_supported", "methodNotSupported"},
		{"representation", keyDID, "application/did+cbor", "representation_not_supported", "representationNotSupported"},
		{"not found", "did:missing:1", "", "did_not_found", "notFound"},
		{"deactivated", "did:gone:1", "", "did_deactivated", "deactivated"},
		{"document for another DID", "did:other:1", "", "invalid_did_document", "invalidDidDocument"},
		{"untyped failure", "did:broken:1", "", "did_resolution_failed", "internalError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Resolve(context.Background(), tc.did, ResolveOptions{Accept: tc.accept})
			require.NotNil(t, res)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			assert.Equal(t, tc.w3c, res.ResolutionMetadata.Error)
			if tc.code == "" {
				assert.NotEmpty(t, res.ResolutionMetadata.ContentType)
				require.NotNil(t, res.Document)
			}
		})
	}
}

const vmDoc = `{
  "@context": ["https://www.w3.org/ns/did/v1"],
  "id": "did:example:issuer",
  "controller": "did:example:issuer",
  "verificationMethod": [
    {"id": "#k1", "type": "JsonWebKey2020", "controller": "did:example:issuer",
     "publicKeyJwk": {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
    {"id": "did:example:issuer#k2", "type": "Multikey", "controller": "did:example:issuer",
     "publicKeyMultibase": "zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"},
    {"id": "#auth-only", "type": "Multikey", "controller": "did:example:issuer",
     "publicKeyMultibase": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"},
    {"id": "#both", "type": "JsonWebKey2020", "controller": "did:example:issuer",
     "publicKeyJwk": {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
     "publicKeyMultibase": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"},
    {"id": "#wrong-alg", "type": "JsonWebKey2020", "controller": "did:example:issuer",
     "publicKeyJwk": {"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
    {"id": "#dup", "type": "Multikey", "controller": "did:example:issuer", "publicKeyMultibase": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"},
    {"id": "#dup", "type": "Multikey", "controller": "did:example:issuer", "publicKeyMultibase": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"}
  ],
  "authentication": ["#auth-only", "#k1"],
  "assertionMethod": ["#k1", "did:example:issuer#k2", "#both", "#wrong-alg", "#dup",
    {"id": "#embedded", "type": "JsonWebKey2020", "controller": "did:example:issuer",
     "publicKeyJwk": {"kty":"EC","crv":"P-256","x":"igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns","y":"efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM"}}],
  "service": [{"id": "#status", "type": "StatusList", "serviceEndpoint": "https://issuer.example/status"}]
}`

// TestDocumentPublicKey covers the issuer-key lookup, including the hostile
// kids of SECURITY-CASES A6.
func TestDocumentPublicKey(t *testing.T) {
	doc, err := ParseDocument([]byte(vmDoc))
	require.NoError(t, err)
	tests := []struct {
		name, ref string
		rel       Relationship
		alg, code string
	}{
		{"relative ref", "#k1", AssertionMethod, keys.EdDSA, ""},
		{"absolute ref to relative id", "did:example:issuer#k1", AssertionMethod, keys.EdDSA, ""},
		{"multibase P-256", "did:example:issuer#k2", AssertionMethod, keys.ES256, ""},
		{"embedded method", "#embedded", AssertionMethod, keys.ES256, ""},
		{"any relationship", "#auth-only", AnyRelationship, keys.EdDSA, ""},
		{"not an assertion key", "#auth-only", AssertionMethod, "", "unknown_key"},
		{"two key encodings", "#both", AssertionMethod, "", "unknown_key"},
		{"alg mismatch", "#wrong-alg", AssertionMethod, "", "unknown_key"},
		{"duplicate ids", "#dup", AssertionMethod, "", "unknown_key"},
		{"absent", "#nope", AssertionMethod, "", "unknown_key"},
		{"another DID", "did:example:other#k1", AssertionMethod, "", "unknown_key"},
		{"no fragment", "did:example:issuer", AssertionMethod, "", "unknown_key"},
		{"sql kid", "' OR 1=1 --", AssertionMethod, "", "unknown_key"},
		{"path kid", "../../etc/passwd", AssertionMethod, "", "unknown_key"},
		{"NUL kid", "#k1\x00", AssertionMethod, "", "unknown_key"},
		{"10 KB kid", "#" + strings.Repeat("k", 10<<10), AssertionMethod, "", "unknown_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub, alg, err := doc.PublicKey(tc.ref, tc.rel)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			assert.Equal(t, tc.alg, alg)
			if tc.code == "" {
				assert.NotNil(t, pub)
			}
		})
	}
}

func TestParseDocumentRejects(t *testing.T) {
	tests := map[string]struct{ in, code string }{
		"id not a DID":       {`{"id":"https://example.com"}`, "invalid_did_document"},
		"private key in vm":  {`{"id":"did:x:1","verificationMethod":[{"id":"#a","type":"JsonWebKey2020","controller":"did:x:1","publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"AA","d":"AA"}}]}`, "invalid_did_document"},
		"vm without type":    {`{"id":"did:x:1","verificationMethod":[{"id":"#a","controller":"did:x:1"}]}`, "invalid_did_document"},
		"empty relationship": {`{"id":"did:x:1","assertionMethod":[""]}`, "invalid_did_document"},
		"duplicate member":   {`{"id":"did:x:1","id":"did:x:2"}`, "malformed_json"},
		"wrong type":         {`{"id":"did:x:1","assertionMethod":[42]}`, "invalid_type"},
		"ID case variant":    {`{"ID":"did:x:1"}`, "invalid_did_document"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseDocument([]byte(tc.in))
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

func TestResolveKey(t *testing.T) {
	s, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	d, err := KeyDID(s.Public())
	require.NoError(t, err)
	r := newTestRouter()
	pub, alg, err := ResolveKey(context.Background(), r, d+"#"+d[len("did:key:"):], AssertionMethod)
	require.NoError(t, err)
	assert.Equal(t, keys.ES256, alg)
	assert.True(t, pub.(*ecdsa.PublicKey).Equal(s.Public()))

	tests := []struct{ name, kid, code string }{
		{"no fragment", d, "unknown_key"},
		{"not a DID URL", "key-1", "unknown_key"},
		{"unknown method", "did:example:1#k", "method_not_supported"},
		{"fragment names no method", d + "#other", "unknown_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ResolveKey(context.Background(), r, tc.kid, AssertionMethod)
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
}

func TestJOSEKeyLookup(t *testing.T) {
	s, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	d, err := KeyDID(s.Public())
	require.NoError(t, err)
	kid := d + "#" + d[len("did:key:"):]
	other, err := keys.Generate(keys.EdDSA)
	require.NoError(t, err)
	otherDID, err := KeyDID(other.Public())
	require.NoError(t, err)

	lookup := JOSEKeyLookup(context.Background(), newTestRouter(), d)
	tests := []struct{ name, kid, code string }{
		{"issuer key", kid, ""},
		{"no kid", "", "unknown_key"},
		{"key of another DID", otherDID + "#" + otherDID[len("did:key:"):], "unknown_key"},
		{"thumbprint kid", s.KeyID(), "unknown_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pk, err := lookup(&jose.Header{Kid: tc.kid}, nil)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			if tc.code == "" {
				assert.Equal(t, keys.EdDSA, pk.Alg)
				assert.Equal(t, s.Public(), pk.Key)
			}
		})
	}
	// Without an expected issuer any resolvable DID key is returned.
	pk, err := JOSEKeyLookup(context.Background(), newTestRouter(), "")(&jose.Header{Kid: otherDID + "#" + otherDID[len("did:key:"):]}, nil)
	require.NoError(t, err)
	assert.Equal(t, other.Public(), pk.Key)
}

// recordingResolver serves the document of did:web:example.com (one
// assertionMethod key, #k1) and records every DID it is asked to resolve.
type recordingResolver struct {
	doc   *Document
	asked *[]string
}

func (r recordingResolver) Resolve(_ context.Context, did string, _ ResolveOptions) (*Resolution, error) {
	*r.asked = append(*r.asked, did)
	if did != r.doc.ID {
		return nil, ErrNotFound
	}
	return &Resolution{Document: r.doc}, nil
}

// TestJOSEKeyLookupHostileKids is SECURITY-CASES A6 on the issuer-key
// lookup the verifiers use: a kid holding SQL, ../, 10 KB of text or a NUL
// byte is unknown_key, with or without an expected issuer. A kid that is
// not a DID URL is never resolved; one whose fragment holds ../ resolves
// only its DID, and the fragment is compared, never used as a path.
func TestJOSEKeyLookupHostileKids(t *testing.T) {
	const host = "did:web:example.com"
	doc, err := ParseDocument([]byte(`{"@context":["https://www.w3.org/ns/did/v1"],"id":"` + host + `",
	  "verificationMethod":[{"id":"#k1","type":"JsonWebKey2020","controller":"` + host + `",
	    "publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}],
	  "assertionMethod":["#k1"]}`))
	require.NoError(t, err)
	tests := []struct {
		name, kid string
		resolves  bool // whether the kid's DID (host) may be resolved
	}{
		{"A6_sql", `' OR 1=1; DROP TABLE keys;--`, false},
		{"A6_sql_in_fragment", host + `#' OR '1'='1`, false},
		{"A6_sql_quote_fragment", host + `#k1'--`, true},
		{"A6_dotdot", "../../../etc/passwd", false},
		{"A6_dotdot_fragment", host + "#../../etc/passwd", true},
		{"A6_dotdot_path", host + "/../../etc/passwd#k1", false},
		{"A6_10KB", strings.Repeat("k", 10240), false},
		{"A6_10KB_did", "did:web:" + strings.Repeat("a", 10240) + "#k1", false},
		{"A6_10KB_fragment", host + "#" + strings.Repeat("k", 10240), false},
		{"A6_NUL_fragment", host + "#k1\x00", false},
		{"A6_NUL_did", host + "\x00#k1", false},
	}
	for _, tc := range tests {
		for _, issuer := range []string{"", host} {
			t.Run(fmt.Sprintf("%s/issuer_%v", tc.name, issuer != ""), func(t *testing.T) {
				var asked []string
				rr := recordingResolver{doc: doc, asked: &asked}
				r := NewRouter().Handle("web", rr).Handle("key", rr)
				_, err := JOSEKeyLookup(context.Background(), r, issuer)(&jose.Header{Kid: tc.kid}, nil)
				assert.Equal(t, "unknown_key", errs.CodeOf(err))
				if tc.resolves {
					assert.Equal(t, []string{host}, asked, "only the kid's DID is resolved")
				} else {
					assert.Empty(t, asked, "a hostile kid must not be resolved")
				}
			})
		}
	}
	// Control: the real key id resolves.
	var asked []string
	pk, err := JOSEKeyLookup(context.Background(), NewRouter().Handle("web", recordingResolver{doc: doc, asked: &asked}), host)(&jose.Header{Kid: host + "#k1"}, nil)
	require.NoError(t, err)
	assert.Equal(t, keys.EdDSA, pk.Alg)
}
