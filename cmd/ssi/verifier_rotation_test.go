package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/trust"
)

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
	k1, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	k2, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	d, ctl := w.newDID(k1)
	w.accredit(d, time.Now().Add(-time.Minute), time.Now().AddDate(1, 0, 0), trust.StatusActive)
	old := issuerID{k1, d, d + "#issuing-1"}
	renewed := issuerID{k2, d, d + "#issuing-2"}
	issued := func(iat time.Time) func(p *pass) {
		return func(p *pass) { p.claims.IssuedAt, p.claims.Status = iat, nil }
	}

	vm2, err := didregistry.VMFor("issuing-2", k2, didregistry.PurposeAssertionMethod)
	require.NoError(t, err)
	op, err := didregistry.SignOp(ctl, "controller-1", didregistry.Operation{Op: "update", DID: d, Version: 2,
		AddVerificationMethod: []didregistry.VMInput{vm2}, RetireVerificationMethod: []string{"issuing-1"}})
	require.NoError(t, err)
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
}
