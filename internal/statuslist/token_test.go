package statuslist

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

var update = flag.Bool("update", false, "rewrite golden files")

const listURI = "https://issuer.example/statuslists/1"

var t0 = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

type issuerFixture struct {
	signer keys.Signer
	did    string
	kid    string
	router *did.Router
}

func newIssuer(t testing.TB, alg string) *issuerFixture {
	t.Helper()
	s, err := keys.Generate(alg)
	require.NoError(t, err)
	d, err := did.KeyDID(s.Public())
	require.NoError(t, err)
	return &issuerFixture{
		signer: s, did: d, kid: d + "#" + strings.TrimPrefix(d, "did:key:"),
		router: did.NewRouter().Handle("key", did.KeyResolver{}),
	}
}

func (f *issuerFixture) opts() VerifyOptions {
	return VerifyOptions{
		URI: listURI,
		Key: did.JOSEKeyLookup(context.Background(), f.router, f.did),
		Now: func() time.Time { return t0 },
	}
}

// sign signs an arbitrary payload (even invalid JSON, through
// jose.SignEncoded) with the fixture's key and header typ ("" for none).
func (f *issuerFixture) sign(t testing.TB, typ string, payload string) string {
	t.Helper()
	h := `{"alg":"` + f.signer.Algorithm() + `","kid":"` + f.kid + `"`
	if typ != "" {
		h += `,"typ":"` + typ + `"`
	}
	tok, err := jose.SignEncoded(f.signer, []byte(h+"}"), []byte(payload))
	require.NoError(t, err)
	return tok
}

func revokedList(t testing.TB) *List {
	t.Helper()
	l, err := New(2, 131072)
	require.NoError(t, err)
	require.NoError(t, l.Set(7, Invalid))
	require.NoError(t, l.Set(131071, Suspended))
	return l
}

func TestTokenRoundTrip(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			f := newIssuer(t, alg)
			tok, err := Sign(f.signer, f.kid, Token{
				Subject: listURI, Issuer: f.did, IssuedAt: t0.Add(-time.Hour),
				ExpiresAt: t0.Add(time.Hour), TTL: 10 * time.Minute, List: revokedList(t),
				AggregationURI: "https://issuer.example/statuslists",
			})
			require.NoError(t, err)
			got, err := Verify(tok, f.opts())
			require.NoError(t, err)
			assert.Equal(t, listURI, got.Subject)
			assert.Equal(t, f.did, got.Issuer)
			assert.Equal(t, t0.Add(-time.Hour), got.IssuedAt)
			assert.Equal(t, t0.Add(time.Hour), got.ExpiresAt)
			assert.Equal(t, 10*time.Minute, got.TTL)
			assert.Equal(t, "https://issuer.example/statuslists", got.AggregationURI)
			assert.Equal(t, t0.Add(10*time.Minute), got.CacheUntil(t0))
			assert.Equal(t, t0.Add(time.Hour), got.CacheUntil(t0.Add(55*time.Minute)), "exp caps the cache")
			for idx, want := range map[int]uint8{0: Valid, 7: Invalid, 131071: Suspended} {
				s, err := got.List.Get(idx)
				require.NoError(t, err)
				assert.Equal(t, want, s, "idx %d", idx)
			}
			// E51 through the verified token.
			_, err = got.List.Get(131072)
			assert.Equal(t, "status_index_out_of_range", errs.CodeOf(err))
		})
	}
}

// TestTokenUnverifiable covers SECURITY-CASES E50 and the malformed claims
// around it: every one is status_unverifiable, and the cause is kept.
func TestTokenUnverifiable(t *testing.T) {
	f := newIssuer(t, keys.ES256)
	other := newIssuer(t, keys.ES256)
	lst, err := revokedList(t).Encode()
	require.NoError(t, err)
	body := func(extra string) string {
		return `{"sub":"` + listURI + `","iat":` + formatInt(t0.Unix()-60) + extra + `,"status_list":{"bits":2,"lst":"` + lst + `"}}`
	}
	good := f.sign(t, Typ, body(""))
	_, err = Verify(good, f.opts())
	require.NoError(t, err, "the baseline token must verify")

	parts := strings.Split(good, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	sig[10] ^= 1
	flipped := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	// Signed by another key but naming ours.
	forged := other.sign(t, Typ, body(""))
	forged = f.sign(t, Typ, body(""))[:strings.LastIndex(good, ".")] + forged[strings.LastIndex(forged, "."):]
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"statuslist+jwt"}`)) + "." + parts[1] + "."
	bomb := `{"sub":"` + listURI + `","iat":` + formatInt(t0.Unix()) + `,"status_list":{"bits":1,"lst":"` + bombLst(t) + `"}}`

	type unverifiable struct {
		name  string
		token string
		opts  func(*VerifyOptions)
		cause error
	}
	tests := []unverifiable{
		{"bad signature", flipped, nil, jose.ErrInvalidSignature},
		{"signature of another key", forged, nil, jose.ErrInvalidSignature},
		{"alg none", noneTok, nil, jose.ErrUnsupportedAlg},
		{"typ JWT", f.sign(t, "JWT", body("")), nil, jose.ErrWrongTyp},
		{"typ of a credential", f.sign(t, "dc+sd-jwt", body("")), nil, jose.ErrWrongTyp},
		{"typ missing", f.sign(t, "", body("")), nil, jose.ErrWrongTyp},
		{"kid of another issuer", other.sign(t, Typ, body("")), nil, did.ErrUnknownKey},
		{"sub is another uri", good, func(o *VerifyOptions) { o.URI = listURI + "/2" }, nil},
		{"sub case variant", good, func(o *VerifyOptions) { o.URI = strings.ToUpper(listURI) }, nil},
		{"sub missing", f.sign(t, Typ, `{"iat":1,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`), nil, nil},
		{"SUB case variant claim", f.sign(t, Typ, strings.Replace(body(""), `"sub"`, `"SUB"`, 1)), nil, nil},
		{"iat missing", f.sign(t, Typ, `{"sub":"`+listURI+`","status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`), nil, jose.ErrInvalidClaim},
		{"iat in the future", f.sign(t, Typ, strings.Replace(body(""), formatInt(t0.Unix()-60), formatInt(t0.Unix()+3600), 1)), nil, jose.ErrNotYetValid},
		{"iat as string", f.sign(t, Typ, strings.Replace(body(""), formatInt(t0.Unix()-60), `"`+formatInt(t0.Unix())+`"`, 1)), nil, jose.ErrInvalidClaim},
		{"bits 3", f.sign(t, Typ, strings.Replace(body(""), `"bits":2`, `"bits":3`, 1)), nil, ErrInvalidBits},
		{"bits 2.0", f.sign(t, Typ, strings.Replace(body(""), `"bits":2`, `"bits":2.0`, 1)), nil, ErrInvalidBits},
		{"bits as string", f.sign(t, Typ, strings.Replace(body(""), `"bits":2`, `"bits":"2"`, 1)), nil, ErrInvalidBits},
		{"zlib bomb", f.sign(t, Typ, bomb), func(o *VerifyOptions) { o.MaxTokenSize = 1 << 20 }, ErrListTooLarge},
		{"status_list missing", f.sign(t, Typ, `{"sub":"`+listURI+`","iat":1}`), nil, jose.ErrInvalidClaim},
		{"duplicate sub", f.sign(t, Typ, strings.Replace(body(""), `{"sub"`, `{"sub":"x","sub"`, 1)), nil, nil},
		{"no expected uri", good, func(o *VerifyOptions) { o.URI = "" }, nil},
		{"A12 2 MB of dots", strings.Repeat(".", 2<<20), nil, jose.ErrTooLarge},
		{"A12 2 MB of tildes", strings.Repeat("~", 2<<20), nil, jose.ErrTooLarge},
	}
	// A15: each of iat, exp and nbf as 1e300, 2^63, -1, a string and a float.
	iat := `"iat":` + formatInt(t0.Unix()-60)
	for _, bad := range []struct{ name, lit string }{
		{"1e300", `1e300`}, {"2^63", `9223372036854775808`}, {"-1", `-1`},
		{"string", `"` + formatInt(t0.Unix()) + `"`}, {"float", formatInt(t0.Unix()) + `.5`},
	} {
		tests = append(tests,
			unverifiable{"A15 iat " + bad.name, f.sign(t, Typ, strings.Replace(body(""), iat, `"iat":`+bad.lit, 1)), nil, jose.ErrInvalidClaim},
			unverifiable{"A15 exp " + bad.name, f.sign(t, Typ, body(`,"exp":`+bad.lit)), nil, jose.ErrInvalidClaim},
			unverifiable{"A15 nbf " + bad.name, f.sign(t, Typ, body(`,"nbf":`+bad.lit)), nil, jose.ErrInvalidClaim},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := f.opts()
			if tc.opts != nil {
				tc.opts(&o)
			}
			got, err := Verify(tc.token, o)
			assert.Nil(t, got)
			assert.Equal(t, "status_unverifiable", errs.CodeOf(err))
			if tc.cause != nil {
				assert.ErrorIs(t, err, tc.cause)
			}
		})
	}
}

func formatInt(n int64) string {
	if n < 0 {
		return "-" + formatInt(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return formatInt(n/10) + string(rune('0'+n%10))
}

// TestTokenExpiryAndTTL covers SECURITY-CASES E53: a list past its exp
// fails closed, and ttl is clamped.
func TestTokenExpiryAndTTL(t *testing.T) {
	f := newIssuer(t, keys.EdDSA)
	lst, err := revokedList(t).Encode()
	require.NoError(t, err)
	payload := func(extra string) string {
		return `{"sub":"` + listURI + `","iat":` + formatInt(t0.Unix()-7200) + extra + `,"status_list":{"bits":2,"lst":"` + lst + `"}}`
	}
	tests := []struct {
		name    string
		extra   string
		opts    func(*VerifyOptions)
		ttl     time.Duration
		code    string
		isCause error
	}{
		{"exp passed an hour ago", `,"exp":` + formatInt(t0.Unix()-3600), nil, 0, "status_unverifiable", jose.ErrExpired},
		{"exp passed beyond skew", `,"exp":` + formatInt(t0.Unix()-61), func(o *VerifyOptions) { o.Skew = time.Hour }, 0, "status_unverifiable", jose.ErrExpired},
		{"exp now", `,"exp":` + formatInt(t0.Unix()), nil, 0, "status_unverifiable", jose.ErrExpired},
		{"exp within skew", `,"exp":` + formatInt(t0.Unix()-30), func(o *VerifyOptions) { o.Skew = 60 * time.Second }, DefaultMaxTTL, "", nil},
		{"exp required but absent", "", func(o *VerifyOptions) { o.RequireExp = true }, 0, "status_unverifiable", jose.ErrInvalidClaim},
		{"ttl absent gets the maximum", "", nil, DefaultMaxTTL, "", nil},
		{"ttl 1 s clamped up", `,"ttl":1`, nil, DefaultMinTTL, "", nil},
		{"ttl 300 s kept", `,"ttl":300`, nil, 300 * time.Second, "", nil},
		{"ttl a year clamped down", `,"ttl":31536000`, nil, DefaultMaxTTL, "", nil},
		{"ttl huge clamped down", `,"ttl":253402300799`, nil, DefaultMaxTTL, "", nil},
		{"ttl custom bounds", `,"ttl":30`, func(o *VerifyOptions) { o.MinTTL, o.MaxTTL = 10*time.Second, time.Hour }, 30 * time.Second, "", nil},
		{"ttl zero", `,"ttl":0`, nil, 0, "status_unverifiable", jose.ErrInvalidClaim},
		{"ttl negative", `,"ttl":-5`, nil, 0, "status_unverifiable", jose.ErrInvalidClaim},
		{"ttl fraction", `,"ttl":1.5`, nil, 0, "status_unverifiable", jose.ErrInvalidClaim},
		{"ttl 1e300", `,"ttl":1e300`, nil, 0, "status_unverifiable", jose.ErrInvalidClaim},
		{"ttl string", `,"ttl":"60"`, nil, 0, "status_unverifiable", jose.ErrInvalidClaim},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := f.opts()
			if tc.opts != nil {
				tc.opts(&o)
			}
			got, err := Verify(f.sign(t, Typ, payload(tc.extra)), o)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			if tc.isCause != nil {
				assert.True(t, errors.Is(err, tc.isCause), "cause %v", err)
			}
			if tc.code == "" {
				require.NotNil(t, got)
				assert.Equal(t, tc.ttl, got.TTL)
			}
		})
	}
}

func TestSignRejectsIncompleteTokens(t *testing.T) {
	f := newIssuer(t, keys.ES256)
	l := revokedList(t)
	for name, tok := range map[string]Token{
		"no sub":         {IssuedAt: t0, List: l},
		"no iat":         {Subject: listURI, List: l},
		"no list":        {Subject: listURI, IssuedAt: t0},
		"exp before iat": {Subject: listURI, IssuedAt: t0, ExpiresAt: t0.Add(-time.Second), List: l},
		"ttl under 1 s":  {Subject: listURI, IssuedAt: t0, TTL: time.Millisecond, List: l},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Sign(f.signer, "", tok)
			assert.Equal(t, "invalid_status_token", errs.CodeOf(err))
		})
	}
}

// TestTokenClaimsGolden pins the claims Sign writes (refresh with -update).
// The lst value is Go's zlib output for the fixed list.
func TestTokenClaimsGolden(t *testing.T) {
	f := newIssuer(t, keys.ES256)
	l, err := New(1, 16)
	require.NoError(t, err)
	for _, i := range []int{0, 3, 4, 5, 7, 8, 9, 13, 15} { // the §4.1 example
		require.NoError(t, l.Set(i, Invalid))
	}
	tok, err := Sign(f.signer, f.kid, Token{
		Subject: listURI, Issuer: "did:web:issuer.example", IssuedAt: t0,
		ExpiresAt: t0.Add(24 * time.Hour), TTL: 12 * time.Hour, List: l,
	})
	require.NoError(t, err)
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	assert.Contains(t, string(header), `"typ":"statuslist+jwt"`)

	const golden = "testdata/token-claims.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, append(payload, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(want)), string(payload))
}
