package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/trust"
)

// rotatingIssuer registers a did:psr issuer with the assertion key
// issuing-1 (old) and accredits it, and returns it with the key issuing-2
// (renewed), the DID's controller key, and the controller-signed update
// (version 2) that adds issuing-2 and retires issuing-1.
func (w *trustWorld) rotatingIssuer() (old, renewed issuerID, ctl keys.Signer, rotation string) {
	t := w.t
	t.Helper()
	k1, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	k2, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	d, ctl := w.newDID(k1)
	w.accredit(d, time.Now().Add(-time.Minute), time.Now().AddDate(1, 0, 0), trust.StatusActive)
	vm2, err := didregistry.VMFor("issuing-2", k2, didregistry.PurposeAssertionMethod)
	require.NoError(t, err)
	rotation, err = didregistry.SignOp(ctl, "controller-1", didregistry.Operation{Op: "update", DID: d, Version: 2,
		AddVerificationMethod: []didregistry.VMInput{vm2}, RetireVerificationMethod: []string{"issuing-1"}})
	require.NoError(t, err)
	return issuerID{k1, d, d + "#issuing-1"}, issuerID{k2, d, d + "#issuing-2"}, ctl, rotation
}

// rotateAfterBlock has the ledger commit a block, and returns at the start
// of the next whole second, early enough that the ledger's next block (an
// empty one comes a second after the last) is not committed yet: an
// operation made now is appended in a block whose (BFT) time is that of
// the commit before this second.
func (w *trustWorld) rotateAfterBlock() time.Time {
	deadline := time.Now().Add(30 * time.Second)
	for {
		w.block()
		now := time.Now()
		next := now.Truncate(time.Second).Add(time.Second)
		if next.Sub(now) < 600*time.Millisecond {
			nextSecond(w.t, now)
			return next
		}
		require.True(w.t, time.Now().Before(deadline), "no block early enough before a second's end")
	}
}

// TestVerifierRotationTimes: the issuer's key is judged valid at a pass's
// iat by the registry's controller-signed history (the version in force at
// some instant of the iat's whole second), with the ledger bounding when
// each version was superseded (docs/did-method.md §4), on `ssi dev`'s real
// registry and ledger and the real verifier over HTTP. Passes signed with
// the old key shortly before a rotation pass the issuer-key check (and
// every check up to the status step, where this test issuer's passes stop
// with status_missing: it runs no status list), whether their iat is the
// second before the rotation's (the ledger's entry for the rotation has
// the time of the block before, earlier than that iat: it was
// stale_version) or the rotation's own second (the version at the end of
// the second no longer has the key: it was issuer_key_not_valid_at_iat).
// A pass signed with the old key after the rotation is red with
// issuer_key_not_valid_at_iat; the new key is valid from the rotation's
// second on.
func TestVerifierRotationTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	w := newTrustWorld(t)
	old, renewed, _, op := w.rotatingIssuer()
	d := old.did
	issued := func(iat time.Time) func(p *pass) {
		return func(p *pass) { p.claims.IssuedAt, p.claims.Status = iat, nil }
	}
	second := w.rotateAfterBlock()
	// Signed before the rotation: in the second before it, and in its own.
	lastSecond := w.pass(t, old, w.valid, issued(second.Add(-time.Second)))
	sameSecond := w.pass(t, old, w.valid, issued(second))
	w.registry("health", "/registry/v1/dids/"+d+"/operations", map[string]string{"operation": op})
	rotated := time.Now()
	require.Equal(t, second.Unix(), rotated.Unix(), "the rotation was made in the second it was meant for")
	waitAnchoredDID(t, w.dev.c.Base, d)
	nextSecond(t, rotated)

	v := w.verifier(t, verifierOpts{})
	for _, c := range []struct {
		name string
		pass string
		code string
	}{
		{"old key, signed the second before the rotation", lastSecond, "status_missing"},
		{"old key, signed earlier in the rotation's second", sameSecond, "status_missing"},
		{"old key, signed after the rotation", w.pass(t, old, w.valid, issued(time.Now().UTC())), "issuer_key_not_valid_at_iat"},
		{"new key, iat the second before the rotation", w.pass(t, renewed, w.valid, issued(second.Add(-time.Second))), "issuer_key_not_valid_at_iat"},
		{"new key, iat the rotation's second", w.pass(t, renewed, w.valid, issued(second)), "status_missing"},
		{"new key, after the rotation", w.pass(t, renewed, w.valid, issued(time.Now().UTC())), "status_missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertRed(t, v.verdict(t, "entry", c.pass, presentation{}), c.code)
		})
	}
	// A verifier whose clock is behind the registry's (within its allowed
	// skew) judges a version created in the iat's own second by that
	// second's end, not by its own now (then before the rotation, or even
	// the DID's creation).
	t.Run("new key, iat the rotation's second, the verifier's clock behind", func(t *testing.T) {
		slow := w.verifier(t, verifierOpts{ahead: -10 * time.Second, skew: 30 * time.Second})
		assertRed(t, slow.verdict(t, "entry", w.pass(t, renewed, w.valid, issued(second)), presentation{}), "status_missing")
	})
}

// TestVerifierStatusListAcrossRotation: a status list signed with the
// issuer's key before the issuer rotated it out still verifies, against
// the key in force at the list's iat (docs/did-method.md §4), on `ssi
// dev`'s real issuer, registry and ledger and the real verifier over HTTP:
// the health agency's passes signed before the rotation are green (and the
// revoked one red, revoked: the list is read), until the issuer re-signs
// the list with the retired key after the rotation, which no longer
// verifies (status_unverifiable). A pass signed with the retired key after
// the rotation is red, issuer_key_not_valid_at_iat. Without the rule, the
// lists of a rotated issuer stop verifying (status_unverifiable) until it
// re-signs them with its new key.
func TestVerifierStatusListAcrossRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	w := newTrustWorld(t)
	ctx := context.Background()
	valid := w.pass(t, w.health, w.valid, nil)
	revoked := w.pass(t, w.health, w.revoked, nil)
	assert.Equal(t, "green", w.verifier(t, verifierOpts{}).verdict(t, "entry", valid, presentation{})["verdict"], "before the rotation")

	res, err := w.trustClient().Resolve(ctx, w.health.did, didResolveOptions())
	require.NoError(t, err)
	version, err := strconv.ParseUint(res.DocumentMetadata.VersionID, 10, 64)
	require.NoError(t, err)
	k2, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	vm2, err := didregistry.VMFor("issuing-2", k2, didregistry.PurposeAssertionMethod)
	require.NoError(t, err)
	op, err := didregistry.SignOp(sealedKey(t, w.dev.dir, "health-controller"), "controller-1", didregistry.Operation{Op: "update",
		DID: w.health.did, Version: version + 1, AddVerificationMethod: []didregistry.VMInput{vm2}, RetireVerificationMethod: []string{"issuing-1"}})
	require.NoError(t, err)
	nextSecond(t, time.Now())
	w.registry("health", "/registry/v1/dids/"+w.health.did+"/operations", map[string]string{"operation": op})
	waitAnchoredDID(t, w.dev.c.Base, w.health.did)
	nextSecond(t, time.Now())

	v := w.verifier(t, verifierOpts{})
	t.Run("signed before the rotation, list signed before it", func(t *testing.T) {
		assert.Equal(t, "green", v.verdict(t, "entry", valid, presentation{})["verdict"])
	})
	t.Run("revoked before the rotation", func(t *testing.T) {
		assertRed(t, v.verdict(t, "entry", revoked, presentation{}), "revoked")
	})
	t.Run("the retired key after the rotation", func(t *testing.T) {
		assertRed(t, v.verdict(t, "entry", w.pass(t, w.health, w.valid, nil), presentation{}), "issuer_key_not_valid_at_iat")
	})

	// The dev issuer still signs with the retired key: its next list is
	// signed after the rotation.
	late := w.dev.issue(t, "citizen-late")
	require.Equal(t, w.valid.StatusList, late.StatusList, "one list")
	w.dev.revoke(t, late)
	t.Run("list re-signed with the retired key after the rotation", func(t *testing.T) {
		assertRed(t, w.verifier(t, verifierOpts{}).verdict(t, "entry", valid, presentation{}), "status_unverifiable")
	})
}
