package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/trust"
	"github.com/ssi-project/ssi/issuer/issuertest"
)

// TestDevTrustClient runs the consumer side of issue 14 against `ssi dev`
// (registry, issuer and ledger in one process), pinning only the ledger's
// genesis validators: the seeded agency's did:psr resolves with its proofs,
// its accreditation and the venue's registration are recomputed from
// anchored records, and a credential's status is read from a proven list,
// before and after its revocation, with the list signed by the agency's
// did:psr key resolved through the same client.
func TestDevTrustClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	dir := t.TempDir()
	url, stop := startDev(t, dir)
	t.Cleanup(stop)
	seed := readDevSeed(t, dir)
	pinned, err := trust.TrustFromGenesis(filepath.Join(dir, "ledger", "node0", "config", "genesis.json"))
	require.NoError(t, err)
	ctx := context.Background()
	health := seed.DIDs["health"]
	eventually := func(what string, f func() error) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := f()
			if err == nil {
				return
			}
			require.True(t, time.Now().Before(deadline), "%s: %v", what, err)
			time.Sleep(20 * time.Millisecond)
		}
	}
	fresh := func() *trust.Client { return trust.NewClient(url, trust.Options{Trust: pinned, TTL: time.Second}) }

	eventually("resolving the agency's DID", func() error {
		_, err := fresh().Resolve(ctx, health, did.ResolveOptions{})
		return err
	})
	pub, alg, err := did.ResolveKey(ctx, did.NewRouter().Handle("psr", fresh()), health+"#issuing-1", did.AssertionMethod)
	require.NoError(t, err)
	assert.NotNil(t, pub)
	assert.Equal(t, "ES256", alg)

	var acc trust.AccreditationDecision
	eventually("the accreditation", func() error {
		var err error
		acc, err = fresh().IsAccredited(ctx, health, VaccinationVCT, time.Now())
		if err == nil && !acc.Accredited {
			return errs.E(errs.Invalid, "", "not accredited yet: "+acc.Reason)
		}
		return err
	})
	assert.Equal(t, seed.Accredit["health"], acc.AccreditationID)
	var rp trust.RPDecision
	eventually("the venue's registration", func() error {
		var err error
		rp, err = fresh().CheckRP(ctx, seed.DIDs["venue"], VaccinationVCT, []string{"vaccinated_within_policy"})
		if err == nil && !rp.Within {
			return errs.E(errs.Invalid, "", "not within yet: "+rp.Reason)
		}
		return err
	})
	assert.Equal(t, seed.Venue, rp.RegistrationID)

	w := &devWallet{c: &issuertest.Client{HTTP: http.DefaultClient, Base: url}, key: seed.APIKeys["health"], did: health}
	rec := w.issue(t, "citizen-trust")
	var st trust.StatusResult
	eventually("the credential's status", func() error {
		var err error
		st, err = fresh().Status(ctx, health, rec.StatusList, int(rec.Index))
		return err
	})
	assert.Equal(t, uint8(0), st.Value)
	w.revoke(t, rec)
	eventually("the revocation", func() error {
		var err error
		st, err = fresh().Status(ctx, health, rec.StatusList, int(rec.Index))
		if err == nil && st.Value != 1 {
			return errs.E(errs.Invalid, "", "not revoked yet")
		}
		return err
	})
	assert.Equal(t, uint8(1), st.Value)
}
