package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/issuer/issuertest"
)

// TestIssuerCheckConfig: `ssi issuer --check-config` opens every agency's
// sealed key under the KEK and reports problems.
func TestIssuerCheckConfig(t *testing.T) {
	dir := t.TempDir()
	kek, err := devKEK("", dir)
	require.NoError(t, err)
	kekText, err := os.ReadFile(filepath.Join(dir, "kek"))
	require.NoError(t, err)
	_, err = newSealedKey(dir, "health-issuing", keys.ES256, kek)
	require.NoError(t, err)
	tenants := []issuerTenantFile{{ID: "health", DID: "did:example:health", KeyID: "did:example:health#issuing-1",
		KeyFile: filepath.Join(dir, "keys", "health-issuing.key"), Configurations: []string{"vaccination-pass"}}}
	b, err := json.Marshal(tenants)
	require.NoError(t, err)
	tf := filepath.Join(dir, "tenants.json")
	require.NoError(t, os.WriteFile(tf, b, 0o600))
	base := []string{"--check-config", "--data", dir, "--ledger-rpc", "http://127.0.0.1:1", "--ledger-key-file", filepath.Join(dir, "op.key"), "--tenants", tf}
	// runIssuer is called directly: the lead adds "issuer" to main.go's
	// command table.
	ctx := context.Background()
	var stdout, stderr safeBuffer
	require.NoError(t, runIssuer(ctx, append(base, "--kek", strings.TrimSpace(string(kekText))), &stdout, &stderr))
	assert.Contains(t, stdout.String(), "configuration ok")

	other := base64.StdEncoding.EncodeToString(make([]byte, 32))
	assert.Error(t, runIssuer(ctx, append(base, "--kek", other), &stdout, &stderr), "a key sealed under another KEK does not open")
	assert.Error(t, runIssuer(ctx, []string{"--check-config", "--data", dir}, &stdout, &stderr), "ledger and tenants are required")
}

// TestDevIssuanceAndRevocationLatency is acceptance 4 on `ssi dev`: a
// wallet gets a vaccination pass from the seeded health agency over HTTP;
// its admin revokes it; the new list is served within 1 s and anchored
// within 2 s. The measured latencies are logged.
func TestDevIssuanceAndRevocationLatency(t *testing.T) {
	dir := t.TempDir()
	url, stop := startDev(t, dir)
	defer stop()
	var seed devSeed
	b, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &seed))
	ctx := context.Background()
	c := &issuertest.Client{HTTP: http.DefaultClient, Base: url}
	key := seed.APIKeys["health"]

	subject := map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01",
		"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}}}
	o, err := c.CreateOffer(ctx, key, "vaccination-pass", "citizen-1", subject)
	require.NoError(t, err)
	sess, err := c.Redeem(ctx, o.OfferURI, o.TxCode)
	require.NoError(t, err)
	nonce, err := sess.Nonce(ctx)
	require.NoError(t, err)
	holder, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	proof, err := issuertest.Proof(holder, sess.Issuer, nonce, time.Now())
	require.NoError(t, err)
	creds, err := sess.Credentials(ctx, []string{proof})
	require.NoError(t, err)
	require.Len(t, creds, 1)
	j, err := jose.ParseUnverified(strings.SplitN(creds[0], "~", 2)[0], 0)
	require.NoError(t, err)
	claims, err := j.Claims()
	require.NoError(t, err)
	assert.Equal(t, seed.DIDs["health"], claims["iss"], "signed by the seeded agency DID")
	assert.Equal(t, seed.DIDs["health"]+"#issuing-1", j.Header.Kid)

	recs, err := c.Records(ctx, key, "citizen-1")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	rec := recs[0]

	start := time.Now()
	require.NoError(t, c.SetStatus(ctx, key, rec.ID, "revoke", "lost phone"))
	var served string
	deadline := start.Add(5 * time.Second)
	for {
		tok, err := c.StatusList(ctx, rec.StatusList)
		if err == nil && listEntry(t, tok, rec.Index) == 1 {
			served = tok
			break
		}
		require.True(t, time.Now().Before(deadline), "the revocation was not served in time")
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	toServed := time.Since(start)
	sum := sha256.Sum256([]byte(served))
	want := hex.EncodeToString(sum[:])
	deadline = start.Add(10 * time.Second)
	var toAnchored time.Duration
poll:
	for {
		for v := uint64(1); v <= 10; v++ {
			h, err := c.ReceiptHash(ctx, rec.StatusList, v)
			require.NoError(t, err)
			if h == want {
				toAnchored = time.Since(start)
				break poll
			}
		}
		require.True(t, time.Now().Before(deadline), "the revoked list was not anchored in time")
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	t.Logf("revocation latency on ssi dev: served after %v, anchored after %v", toServed, toAnchored)
	assert.LessOrEqual(t, toServed, time.Second, "revoke → new list served ≤ 1 s")
	assert.LessOrEqual(t, toAnchored, 2*time.Second, "revoke → anchored ≤ 2 s")
}

// listEntry reads entry idx of a status list token (the signature is
// checked by the issuer package's tests; here only the content matters).
func listEntry(t *testing.T, tok string, idx int64) uint8 {
	t.Helper()
	j, err := jose.ParseUnverified(tok, 0)
	require.NoError(t, err)
	require.Equal(t, statuslist.Typ, j.Header.Typ)
	c, err := j.Claims()
	require.NoError(t, err)
	sl := c["status_list"].(map[string]any)
	bits, err := sl["bits"].(json.Number).Int64()
	require.NoError(t, err)
	l, err := statuslist.Decode(int(bits), sl["lst"].(string), 0)
	require.NoError(t, err)
	v, err := l.Get(int(idx))
	require.NoError(t, err)
	return v
}
