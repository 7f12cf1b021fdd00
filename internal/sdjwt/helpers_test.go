package sdjwt

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
)

// RFC 9901 Appendix A.5: the issuer key of every spec example.
const rfcIssuerJWK = `{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}`

// The KB-JWTs of the spec carry this iat, nonce and aud.
var (
	rfcKBTime  = time.Unix(1748536865, 0)
	rfcNonce   = "1234567890"
	rfcAud     = "https://verifier.example.org"
	testIssuer = "https://issuer.example"
	testVerAud = "https://venue.example"
)

func readVector(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rfc9901", name))
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

func rfcIssuerKey(t testing.TB) jose.PublicKey {
	t.Helper()
	c, err := jose.ParseClaims([]byte(rfcIssuerJWK))
	require.NoError(t, err)
	_, pub, err := jose.HolderKey(c)
	require.NoError(t, err)
	return pub
}

// fixedKey is an IssuerKeyFunc that knows one key and accepts any iss.
func fixedKey(k jose.PublicKey) IssuerKeyFunc {
	return func(string, *jose.Header) (jose.PublicKey, error) { return k, nil }
}

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// env is one issuer key, one holder key and a verifier trusting the issuer.
type env struct {
	issuer *josetest.Signer
	holder *josetest.Signer
	now    time.Time
}

func newEnv(t testing.TB) *env {
	return &env{
		issuer: josetest.New(t, keys.ES256),
		holder: josetest.New(t, keys.ES256),
		now:    time.Unix(1_800_000_000, 0),
	}
}

func (e *env) verifier() *Verifier {
	return &Verifier{
		IssuerKey: func(iss string, h *jose.Header) (jose.PublicKey, error) {
			if iss != testIssuer || h.Kid != e.issuer.KeyID() {
				return jose.PublicKey{}, jose.ErrUnknownKey
			}
			return e.issuer.PublicKey(), nil
		},
		Now: at(e.now),
	}
}

func (e *env) kbOpts() Options {
	return Options{RequireKeyBinding: true, Nonce: "n-123", Audience: testVerAud}
}

func (e *env) kb() *KeyBinding {
	return &KeyBinding{Signer: e.holder, Nonce: "n-123", Audience: testVerAud, IssuedAt: e.now}
}

// vcClaims is a 10-claim SD-JWT VC bound to the holder key.
func (e *env) vcClaims(t testing.TB) []byte {
	t.Helper()
	c := map[string]any{
		"iss": testIssuer, "vct": "https://credentials.example/pid", "iat": e.now.Unix() - 60,
		"exp": e.now.Unix() + 86400, "cnf": map[string]any{"jwk": e.holder.JWK().Map()},
		"status":     map[string]any{"status_list": map[string]any{"idx": 412, "uri": "https://issuer.example/status/1"}},
		"given_name": "Erika", "family_name": "Mustermann", "birthdate": "1963-08-12",
		"age_over_18": true, "nationality": "DE", "email": "erika@example.org",
		"phone": "+49 30 1234", "address": map[string]any{"locality": "Köln", "country": "DE"},
		"vaccinated_within_policy": true, "eligible_for_benefit": false,
	}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	return b
}

var vcDisclose = []string{"/given_name", "/family_name", "/birthdate", "/age_over_18", "/nationality",
	"/email", "/phone", "/address", "/vaccinated_within_policy", "/eligible_for_benefit"}

func (e *env) issue(t testing.TB, claims []byte, disclose []string) string {
	t.Helper()
	is := &Issuer{Signer: e.issuer}
	out, err := is.Issue(Request{Claims: claims, Disclose: disclose})
	require.NoError(t, err)
	return out.String()
}

// signJWT signs a raw payload as a dc+sd-jwt with the issuer key; header
// members may be overridden.
func (e *env) signJWT(t testing.TB, payload string, header map[string]any) string {
	t.Helper()
	h := map[string]any{"typ": TypDCSDJWT, "kid": e.issuer.KeyID()}
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = e.issuer.Algorithm()
	hj, err := json.Marshal(h)
	require.NoError(t, err)
	// SignEncoded signs the payload bytes as given, so hostile payloads
	// (duplicate members, bad NumericDates) can be built.
	tok, err := jose.SignEncoded(e.issuer, hj, []byte(payload))
	require.NoError(t, err)
	return tok
}

// disc returns a disclosure for the raw JSON array body and its digest.
func disc(body string) (enc, dg string) {
	enc = base64.RawURLEncoding.EncodeToString([]byte(body))
	return enc, digest(SHA256, enc)
}

// basePayload returns the always-visible claims of a valid SD-JWT VC as JSON
// members (without braces), for building hostile payloads by hand.
func (e *env) basePayload() string {
	j := e.holder.JWK()
	return `"iss":"` + testIssuer + `","vct":"urn:x","iat":1799999000,"exp":1900000000,` +
		`"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"` + j.X + `","y":"` + j.Y + `"}}`
}
