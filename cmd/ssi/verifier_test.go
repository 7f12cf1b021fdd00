package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
)

// venueClient is the demo venue's side of `ssi dev`.
type venueClient struct {
	base, key string
	policy    string // the policy create asks for; "" is entry
}

// create starts a transaction of v's policy; it retries while the
// verifier has not checked its (just anchored) registration yet.
func (v venueClient) create(t *testing.T, mode string) (id, authURI string) {
	t.Helper()
	policy := v.policy
	if policy == "" {
		policy = "entry"
	}
	body, _ := json.Marshal(map[string]string{"policy": policy, "response_mode": mode})
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("POST", v.base+"/verifier/v1/presentations", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+v.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			return m["transaction_id"].(string), m["authorization_request_uri"].(string)
		}
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, m)
		require.Equal(t, "verifier_not_ready", m["code"])
		require.True(t, time.Now().Before(deadline), "the verifier never checked its registration")
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
}

// result long-polls a transaction's verdict.
func (v venueClient) result(t *testing.T, id string) map[string]any {
	t.Helper()
	code, body := get(t, v.base+"/verifier/v1/presentations/"+id+"?wait=20", v.key)
	require.Equal(t, http.StatusOK, code, string(body))
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	return m
}

// TestVerifierFullFlow is issue 15's acceptance 1 over real HTTP on
// `ssi dev` (issuer, registry, ledger and verifier, with the real trust
// client checking anchors against the ledger's validators): the test
// wallet obtains a vaccination pass from the issuer, answers the demo
// venue's transactions cross-device with direct_post and with
// direct_post.jwt: green, with exactly the policy's shown claims; after
// the pass is revoked, the next presentation is red with revoked once the
// list is published.
func TestVerifierFullFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	d := newDevWallet(t)
	ctx := context.Background()
	seed := readDevSeed(t, d.dir)
	venue := venueClient{base: d.c.Base, key: seed.APIKeys["venue"]}

	// The wallet's pass, bound to its own key.
	subject := map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01",
		"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}}}
	o, err := d.c.CreateOffer(ctx, d.key, "vaccination-pass", "citizen-ada", subject)
	require.NoError(t, err)
	holder, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	creds := d.redeemFor(t, o.OfferURI, o.TxCode, holder)
	waitAnchoredDID(t, d.c.Base, d.did)
	recs, err := d.c.Records(ctx, d.key, "citizen-ada")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	d.waitListAnchored(t, recs[0]) // a venue cannot read an unanchored list

	for _, mode := range []string{"direct_post", "direct_post.jwt"} {
		t.Run(mode, func(t *testing.T) {
			id, auth := venue.create(t, mode)
			_, err := d.c.Present(ctx, auth, creds[0], holder, time.Now())
			require.NoError(t, err)
			v := venue.result(t, id)
			require.Equal(t, "green", v["verdict"], v)
			assert.Equal(t, "verified", v["status"])
			assert.Equal(t, map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01"}, v["claims"],
				"exactly the policy's shown claims")
			assert.Equal(t, d.did, v["issuer"])
			assert.Equal(t, VaccinationVCT, v["vct"])
		})
	}

	d.revoke(t, recs[0]) // served and anchored
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		id, auth := venue.create(t, "direct_post.jwt")
		_, err := d.c.Present(ctx, auth, creds[0], holder, time.Now())
		require.NoError(t, err)
		v := venue.result(t, id)
		if v["verdict"] == "red" {
			assert.Equal(t, []any{"revoked"}, v["reasons"], v)
			assert.Nil(t, v["claims"])
			return
		}
		require.True(t, time.Now().Before(deadline), fmt.Sprintf("still %v after %d tries", v["verdict"], i))
		time.Sleep(200 * time.Millisecond) // the trust client's cache of the list
	}
}

// TestVerifierCommandConfig: `ssi verifier` reports every missing piece of
// its configuration at once, and --check-config opens the venues' sealed
// keys and the pinned validators.
func TestVerifierCommandConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"verifier", "--check-config", "--data", t.TempDir()}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	for _, want := range []string{"kek:", "venues:", "registry-url:", "trust-file:"} {
		assert.Contains(t, stderr.String(), want)
	}

	dir := t.TempDir()
	kek, err := devKEK("", dir)
	require.NoError(t, err)
	_, err = newSealedKey(dir, "venue", keys.ES256, kek)
	require.NoError(t, err)
	venues := []verifierVenueFile{{ID: "venue", DID: "did:key:zVenue", KeyID: "did:key:zVenue#k", KeyFile: filepath.Join(dir, "keys", "venue.key"),
		Policies: []verifierPolicyFile{entryPolicy()}}}
	b, err := json.Marshal(venues)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "venues.json"), b, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trust.json"), []byte(`{"chain_id":"c","validators":[]}`), 0o600))
	args := []string{"verifier", "--check-config", "--data", dir, "--kek-file", filepath.Join(dir, "kek"), "--venues", filepath.Join(dir, "venues.json"),
		"--registry-url", "https://registry.example", "--trust-file", filepath.Join(dir, "trust.json")}
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), args, &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), "configuration ok")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys", "venue.key"), []byte("SSIK garbage"), 0o600))
	stderr.Reset()
	code = run(context.Background(), args, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "opening the signing key of venue venue")
}

// TestVerifierTunesGC: `ssi verifier` sets its GC target when the
// environment has no GOGC, and leaves an operator's GOGC alone.
func TestVerifierTunesGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	t.Setenv("GOGC", "50")
	assert.False(t, tuneGC(verifierGCPercent))
	assert.Equal(t, 100, debug.SetGCPercent(100), "unchanged")
	t.Setenv("GOGC", "")
	assert.True(t, tuneGC(verifierGCPercent))
	assert.Equal(t, verifierGCPercent, debug.SetGCPercent(100))
}
