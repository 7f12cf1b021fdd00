package bundle

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// The whole bundle, built from a real registry and ledger, is exercised in
// cmd/ssi (TestTrustBundleOffline); these are the refusals that need none.

func signer(t testing.TB) (keys.Signer, jose.PublicKey) {
	s, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	return s, jose.PublicKey{Key: s.Public(), Alg: keys.ES256}
}

func TestOpenRefusals(t *testing.T) {
	s, pub := signer(t)
	_, other := signer(t)
	good := &Bundle{Verifier: "did:key:zVenue", IssuedAt: time.Unix(1_800_000_000, 0), MaxAge: 3600}
	signed, err := Sign(s, "did:key:zVenue#k", good)
	require.NoError(t, err)
	_, err = Open(signed, pub)
	require.NoError(t, err, "an empty bundle verifies (and no QR code passes it)")

	_, err = Open(signed, other)
	assert.Equal(t, "bundle_invalid", errs.CodeOf(err), "another key")
	for name, b := range map[string]*Bundle{
		"no max age":    {Verifier: "did:key:z", IssuedAt: good.IssuedAt},
		"no issue time": {Verifier: "did:key:z", MaxAge: 1},
		"no verifier":   {IssuedAt: good.IssuedAt, MaxAge: 1},
		"an issuer without anchor": {Verifier: "did:key:z", IssuedAt: good.IssuedAt, MaxAge: 1,
			Issuers: []Issuer{{DID: "did:psr:x", Document: []byte(`{}`), Version: 1}}},
	} {
		signed, err := Sign(s, "did:key:zVenue#k", b)
		require.NoError(t, err)
		_, err = Open(signed, pub)
		assert.Equal(t, "bundle_invalid", errs.CodeOf(err), name)
	}
	// Another typ.
	payload, _ := json.Marshal(good)
	jws, err := jose.Sign(s, map[string]any{"typ": "JWT"}, payload)
	require.NoError(t, err)
	_, err = Open(jws, pub)
	assert.Equal(t, "bundle_invalid", errs.CodeOf(err))
}

func TestCheckAgeAndEnvelope(t *testing.T) {
	s, pub := signer(t)
	t0 := time.Unix(1_800_000_000, 0)
	signed, err := Sign(s, "did:key:zVenue#k", &Bundle{Verifier: "did:key:zVenue", IssuedAt: t0, MaxAge: 60})
	require.NoError(t, err)
	v, err := Open(signed, pub)
	require.NoError(t, err)
	assert.Equal(t, []string{"bundle_too_old"}, v.Check("SSI1:anything", t0.Add(61*time.Second), &MemoryNonces{}).Reasons)
	assert.Equal(t, []string{"qr_unknown_prefix"}, v.Check("HELLO", t0, &MemoryNonces{}).Reasons)
	assert.Equal(t, []string{"qr_base45_character"}, v.Check("SSI1:aaa", t0, &MemoryNonces{}).Reasons)
}

func TestMemoryNonces(t *testing.T) {
	var m MemoryNonces
	t0 := time.Unix(1_800_000_000, 0)
	assert.True(t, m.Use("n1", t0.Add(time.Minute), t0))
	assert.False(t, m.Use("n1", t0.Add(time.Minute), t0.Add(time.Second)), "a replay")
	assert.True(t, m.Use("n1", t0.Add(2*time.Minute), t0.Add(time.Minute)), "forgotten once its window ended")
}

// FuzzOpen: no bytes make Open panic.
func FuzzOpen(f *testing.F) {
	s, pub := signer(f)
	good, err := Sign(s, "did:key:zVenue#k", &Bundle{Verifier: "did:key:zVenue", IssuedAt: time.Unix(1_800_000_000, 0), MaxAge: 60})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)    // a valid, empty bundle
	f.Add("a.b.c") // not a JWS
	f.Fuzz(func(t *testing.T, signed string) {
		_, _ = Open(signed, pub)
	})
}

// TestMissingLists: a status list the bundle records as missing (one
// list, or every list of an issuer not in the bundle) is
// status_unavailable offline; one it does not record stays
// status_list_not_in_bundle; a record without an issuer DID or a reason
// makes the bundle bundle_invalid.
func TestMissingLists(t *testing.T) {
	s, pub := signer(t)
	b := &Bundle{Verifier: "did:key:zVenue", IssuedAt: time.Unix(1_800_000_000, 0), MaxAge: 3600, Missing: []Missing{
		{Issuer: "did:psr:a", Reason: MissingIndex},
		{Issuer: "did:psr:b", URI: "https://b.example/status/1", Reason: MissingUnverified},
	}}
	signed, err := Sign(s, "did:key:zVenue#k", b)
	require.NoError(t, err)
	v, err := Open(signed, pub)
	require.NoError(t, err)
	for _, c := range []struct{ iss, uri, code string }{
		{"did:psr:a", "https://a.example/status/7", "status_unavailable"},
		{"did:psr:b", "https://b.example/status/1", "status_unavailable"},
		{"did:psr:b", "https://b.example/status/2", "status_list_not_in_bundle"},
		{"did:psr:c", "https://b.example/status/1", "status_list_not_in_bundle"},
	} {
		_, err := v.statusList(c.iss, c.uri)
		assert.Equal(t, c.code, Code(err), "%s %s", c.iss, c.uri)
	}
	for name, m := range map[string]Missing{
		"no issuer": {URI: "https://b.example/status/1", Reason: MissingList},
		"no reason": {Issuer: "did:psr:a"},
	} {
		bad := *b
		bad.Missing = []Missing{m}
		signed, err := Sign(s, "did:key:zVenue#k", &bad)
		require.NoError(t, err)
		_, err = Open(signed, pub)
		assert.Equal(t, "bundle_invalid", errs.CodeOf(err), name)
	}
}
