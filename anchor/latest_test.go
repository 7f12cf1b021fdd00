package anchor

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

// latest makes the latest-version proof of (kind, subject) after the
// chain's last block, its header signed by the validators sign picks.
func (oc *offlineChain) latest(t testing.TB, kind, subject string, sign func(int) bool) *trust.LatestProof {
	t.Helper()
	p, err := oc.ta.app.proveLatest(kind, subject, 0)
	require.NoError(t, err)
	p.SignedHeader = oc.signedHeader(t, p.Height, oc.rootAt(t, p.Height), sign)
	p.ValidatorsHash = oc.vals.Hash()
	return p
}

// headerTime is the time offlineChain.signedHeader gives the header after
// block h.
func headerTime(h int64) time.Time { return time.Unix(1700000000+h+1, 0).UTC() }

func TestVerifyLatest(t *testing.T) {
	op := newEdSigner(t)
	oc := newOfflineChain(t, op, 1)
	subject := "did:ssi:issuer-5"
	var batch []trust.Entry
	for i := range 40 {
		batch = append(batch, didEntry(i, 1))
	}
	require.Equal(t, uint32(0), oc.ta.block(oc.ta.anchor(op, batch...))[0].Code)
	old := oc.latest(t, trust.KindDIDDocument, subject, all) // version 1 is the latest here
	require.Equal(t, uint32(0), oc.ta.block(oc.ta.anchor(op, didEntry(5, 2)))[0].Code)
	loc, err := oc.ta.app.locate(EntryRef{Kind: trust.KindDIDDocument, Subject: subject})
	require.NoError(t, err)
	require.Equal(t, uint64(2), loc.Entry.Version)

	t.Run("the latest version verifies, with its entry and owner", func(t *testing.T) {
		p := oc.latest(t, trust.KindDIDDocument, subject, all)
		b, err := json.Marshal(p) // what a verifier gets, from JSON
		require.NoError(t, err)
		parsed, err := trust.ParseLatestProof(b)
		require.NoError(t, err)
		l, err := trust.VerifyLatest(parsed, oc.trust)
		require.NoError(t, err)
		require.NotNil(t, l.State)
		assert.Equal(t, uint64(2), l.State.Version)
		assert.Equal(t, loc.Entry.SHA256, l.State.SHA256)
		assert.Equal(t, loc.LeafIndex, l.State.LeafIndex)
		assert.Equal(t, loc.Entry.LeafHash(), l.State.LeafHash, "the state names the entry a receipt proves")
		assert.Equal(t, op.ID(), l.State.Owner)
		assert.Equal(t, oc.ta.height, l.Height)
		assert.Equal(t, headerTime(oc.ta.height), l.Time)
		assert.NoError(t, l.Require(trust.KindDIDDocument, subject, 2, loc.Entry.SHA256))
		assert.NoError(t, l.FreshAt(l.Time.Add(time.Minute), time.Minute))
	})
	t.Run("a subject never anchored is proven absent", func(t *testing.T) {
		l, err := trust.VerifyLatest(oc.latest(t, trust.KindDIDDocument, "did:ssi:nobody", all), oc.trust)
		require.NoError(t, err)
		assert.Nil(t, l.State)
		assert.ErrorIs(t, l.Require(trust.KindDIDDocument, "did:ssi:nobody", 1, digest("x")), trust.ErrProofTooOld)
		l, err = trust.VerifyLatest(oc.latest(t, trust.KindStatusList, subject, all), oc.trust)
		require.NoError(t, err, "the same subject under another kind is another key")
		assert.Nil(t, l.State)
	})
	t.Run("an older version served as the latest is stale", func(t *testing.T) {
		l, err := trust.VerifyLatest(oc.latest(t, trust.KindDIDDocument, subject, all), oc.trust)
		require.NoError(t, err)
		assert.ErrorIs(t, l.Require(trust.KindDIDDocument, subject, 1, didEntry(5, 1).SHA256), trust.ErrStaleVersion)
		assert.ErrorIs(t, l.Require(trust.KindDIDDocument, subject, 2, digest("other content")), trust.ErrProofUnverified)
		assert.ErrorIs(t, l.Require(trust.KindDIDDocument, subject, 3, digest("x")), trust.ErrProofTooOld)
	})
	t.Run("a genuine proof from before the update is told apart by its age", func(t *testing.T) {
		l, err := trust.VerifyLatest(old, oc.trust)
		require.NoError(t, err, "it was true then")
		require.Equal(t, uint64(1), l.State.Version)
		assert.ErrorIs(t, l.Require(trust.KindDIDDocument, subject, 2, loc.Entry.SHA256), trust.ErrProofTooOld)
		now := headerTime(oc.ta.height).Add(30 * time.Second)
		assert.ErrorIs(t, l.FreshAt(now, 30*time.Second), trust.ErrProofTooOld, "older than the fresh proof")
	})
	t.Run("a proof for another subject", func(t *testing.T) {
		l, err := trust.VerifyLatest(oc.latest(t, trust.KindDIDDocument, "did:ssi:issuer-6", all), oc.trust)
		require.NoError(t, err)
		assert.ErrorIs(t, l.Require(trust.KindDIDDocument, subject, 1, didEntry(6, 1).SHA256), trust.ErrProofUnverified)
	})

	two := func(i int) bool { return i < 2 }
	cases := []struct {
		name   string
		mutate func(t *testing.T, p *trust.LatestProof)
		want   error
	}{
		{"relabelled for another subject", func(t *testing.T, p *trust.LatestProof) { p.Subject = "did:ssi:issuer-6" }, trust.ErrProofUnverified},
		{"relabelled for another kind", func(t *testing.T, p *trust.LatestProof) { p.Kind = trust.KindStatusList }, trust.ErrProofUnverified},
		{"an older version claimed", func(t *testing.T, p *trust.LatestProof) {
			p.State.Version, p.State.SHA256 = 1, didEntry(5, 1).SHA256
		}, trust.ErrProofUnverified},
		{"another digest", func(t *testing.T, p *trust.LatestProof) { p.State.SHA256 = digest("forged") }, trust.ErrProofUnverified},
		{"another owner", func(t *testing.T, p *trust.LatestProof) { p.State.Owner = newEdSigner(t).ID() }, trust.ErrProofUnverified},
		{"another leaf hash", func(t *testing.T, p *trust.LatestProof) { p.State.LeafHash = bytes.Repeat([]byte{1}, 32) }, trust.ErrProofUnverified},
		{"another leaf index", func(t *testing.T, p *trust.LatestProof) { p.State.LeafIndex++ }, trust.ErrProofUnverified},
		{"claimed absent", func(t *testing.T, p *trust.LatestProof) { p.State = nil }, trust.ErrProofUnverified},
		{"a forged side node", func(t *testing.T, p *trust.LatestProof) { p.Proof.SideNodes[0] = bytes.Repeat([]byte{7}, 32) }, trust.ErrProofUnverified},
		{"a side node dropped", func(t *testing.T, p *trust.LatestProof) {
			p.Proof.SideNodes = p.Proof.SideNodes[1:]
		}, trust.ErrInvalidLatestProof},
		{"a forged map root", func(t *testing.T, p *trust.LatestProof) { p.MapRoot = bytes.Repeat([]byte{3}, 32) }, trust.ErrProofUnverified},
		{"a forged log root", func(t *testing.T, p *trust.LatestProof) { p.LogRoot = bytes.Repeat([]byte{3}, 32) }, trust.ErrProofUnverified},
		{"the header of another height", func(t *testing.T, p *trust.LatestProof) { p.Height-- }, trust.ErrProofUnverified},
		{"signed by 2 of 4 (not more than 2/3)", func(t *testing.T, p *trust.LatestProof) {
			p.SignedHeader = oc.signedHeader(t, p.Height, oc.rootAt(t, p.Height), two)
		}, trust.ErrProofUnverified},
		{"signed by 1 of 4", func(t *testing.T, p *trust.LatestProof) {
			p.SignedHeader = oc.signedHeader(t, p.Height, oc.rootAt(t, p.Height), func(i int) bool { return i == 3 })
		}, trust.ErrProofUnverified},
		{"a header with another app hash", func(t *testing.T, p *trust.LatestProof) {
			p.SignedHeader = oc.signedHeader(t, p.Height, bytes.Repeat([]byte{1}, 32), all)
		}, trust.ErrProofUnverified},
		{"validators hash not the pinned set", func(t *testing.T, p *trust.LatestProof) { p.ValidatorsHash = bytes.Repeat([]byte{2}, 32) }, trust.ErrProofUnverified},
		{"garbage header", func(t *testing.T, p *trust.LatestProof) { p.SignedHeader = []byte("not protobuf") }, trust.ErrInvalidLatestProof},
		{"too many side nodes", func(t *testing.T, p *trust.LatestProof) { p.Proof.NumSideNodes = 257 }, trust.ErrInvalidLatestProof},
		{"a malformed state", func(t *testing.T, p *trust.LatestProof) { p.State.Owner = "x" }, trust.ErrInvalidLatestProof},
		{"a malformed subject", func(t *testing.T, p *trust.LatestProof) { p.Subject = "not a did" }, trust.ErrInvalidLatestProof},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := oc.latest(t, trust.KindDIDDocument, subject, all)
			require.NotEmpty(t, p.Proof.SideNodes)
			tc.mutate(t, p)
			_, err := trust.VerifyLatest(p, oc.trust)
			assert.ErrorIs(t, err, tc.want)
		})
	}
	t.Run("a padding bit set in the mask", func(t *testing.T) {
		// The library counts every set bit of the mask, padding too: with
		// one node fewer it would decompact past the end of the nodes.
		for _, e := range batch {
			p := oc.latest(t, e.Kind, e.Subject, all)
			n := p.Proof.NumSideNodes
			if n%8 == 0 || len(p.Proof.SideNodes) == 0 {
				continue // no padding bit in this one's mask
			}
			p.Proof.BitMask[n/8] |= 1 << (7 - uint(n%8))
			p.Proof.SideNodes = p.Proof.SideNodes[:len(p.Proof.SideNodes)-1]
			_, err := trust.VerifyLatest(p, oc.trust)
			assert.ErrorIs(t, err, trust.ErrInvalidLatestProof)
			return
		}
		t.Fatal("no proof of the batch has padding bits")
	})
	t.Run("an absence proof relabelled for an anchored subject", func(t *testing.T) {
		p := oc.latest(t, trust.KindDIDDocument, "did:ssi:nobody", all)
		p.Subject = subject
		_, err := trust.VerifyLatest(p, oc.trust)
		assert.ErrorIs(t, err, trust.ErrProofUnverified)
	})
	t.Run("a verifier pinning other validators refuses it", func(t *testing.T) {
		_, err := trust.VerifyLatest(oc.latest(t, trust.KindDIDDocument, subject, all), newOfflineChain(t, op, 2).trust)
		assert.ErrorIs(t, err, trust.ErrProofUnverified)
	})
	t.Run("every subject's proof verifies", func(t *testing.T) {
		for _, e := range batch {
			l, err := trust.VerifyLatest(oc.latest(t, e.Kind, e.Subject, all), oc.trust)
			require.NoError(t, err, e.Subject)
			assert.Equal(t, e.Subject, l.Subject)
		}
	})
}

func TestVerifyCurrent(t *testing.T) {
	op := newEdSigner(t)
	oc := newOfflineChain(t, op, 1)
	e1, e2 := didEntry(1, 1), didEntry(1, 2)
	require.Equal(t, uint32(0), oc.ta.block(oc.ta.anchor(op, e1, didEntry(2, 1)))[0].Code)
	r1, other := oc.receipt(t, e1, all), oc.receipt(t, didEntry(2, 1), all)
	p1 := oc.latest(t, e1.Kind, e1.Subject, all)
	now := headerTime(oc.ta.height)
	_, err := trust.VerifyCurrent(r1, p1, oc.trust, now, time.Minute)
	require.NoError(t, err, "version 1 is current")

	require.Equal(t, uint32(0), oc.ta.block(oc.ta.anchor(op, e2))[0].Code)
	r2 := oc.receipt(t, e2, all)
	p2 := oc.latest(t, e1.Kind, e1.Subject, all)
	now = headerTime(oc.ta.height)
	l, err := trust.VerifyCurrent(r2, p2, oc.trust, now, time.Minute)
	require.NoError(t, err, "version 2 is current")
	assert.Equal(t, uint64(2), l.State.Version)

	_, err = trust.VerifyCurrent(r1, p2, oc.trust, now, time.Minute)
	assert.ErrorIs(t, err, trust.ErrStaleVersion, "version 1 with its genuine receipt, after version 2")
	_, err = trust.VerifyCurrent(r1, p1, oc.trust, now.Add(2*time.Minute), time.Minute)
	assert.ErrorIs(t, err, trust.ErrProofTooOld, "version 1 with the proof from when it was current")
	_, err = trust.VerifyCurrent(r2, p1, oc.trust, headerTime(oc.ta.height-1), time.Minute)
	assert.ErrorIs(t, err, trust.ErrProofTooOld, "a proof from before the served version")
	_, err = trust.VerifyCurrent(other, p2, oc.trust, now, time.Minute)
	assert.ErrorIs(t, err, trust.ErrProofUnverified, "a proof for another subject")
	forged := *r2
	forged.Entry.Writer = newEdSigner(t).ID()
	_, err = trust.VerifyCurrent(&forged, p2, oc.trust, now, time.Minute)
	assert.ErrorIs(t, err, trust.ErrReceiptUnverified)
}
