package trust

import (
	"bytes"
	"crypto/sha256"
	"time"

	"github.com/pokt-network/smt"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// LatestProof proves, from a signed header alone, the state of one subject
// after block Height: its latest anchored version, that version's entry
// and the subject's owner, or (State nil) that the subject was never
// anchored. The map proof leads from the state to MapRoot, which with
// LogRoot makes the app hash (AppHash) of the header at Height+1. It is
// self-contained and serialises to JSON.
type LatestProof struct {
	Kind    string        `json:"kind"`
	Subject string        `json:"subject"`
	State   *SubjectState `json:"state,omitempty"` // nil: never anchored
	Height  int64         `json:"height"`
	LogRoot []byte        `json:"log_root"`
	MapRoot []byte        `json:"map_root"`
	Proof   MapProof      `json:"map_proof"`
	// SignedHeader is the protobuf encoding of the CometBFT SignedHeader
	// (header and commit) at Height+1.
	SignedHeader   []byte `json:"signed_header"`
	ValidatorsHash []byte `json:"validators_hash"`
}

// MapProof is a compact sparse Merkle proof of inclusion (or, for a
// subject never anchored, of exclusion) in the map of subject states:
// the fields of smt.SparseCompactMerkleProof, in JSON rather than gob
// (gob is not meant for untrusted input).
type MapProof struct {
	SideNodes [][]byte `json:"side_nodes"`
	// NonMembershipLeaf is the encoded leaf found where an absent subject
	// would be, when there is one.
	NonMembershipLeaf []byte `json:"non_membership_leaf,omitempty"`
	BitMask           []byte `json:"bit_mask"`
	NumSideNodes      int    `json:"num_side_nodes"`
}

// CompactMapProof is the MapProof of an smt proof (ledger side).
func CompactMapProof(p *smt.SparseMerkleProof) (MapProof, error) {
	c, err := smt.CompactProof(&smt.SparseMerkleProof{SideNodes: p.SideNodes, NonMembershipLeafData: p.NonMembershipLeafData}, NewMapSpec())
	if err != nil {
		return MapProof{}, err
	}
	return MapProof{SideNodes: c.SideNodes, NonMembershipLeaf: c.NonMembershipLeafData, BitMask: c.BitMask, NumSideNodes: c.NumSideNodes}, nil
}

const (
	maxLatestProofLen = 2 * maxSignedHeaderLen
	mapDepth          = 8 * sha256.Size
	// maxLeafLen bounds a non-membership leaf: prefix, path and the
	// longest encoded state.
	maxLeafLen = 1 + sha256.Size + 1 + 8 + 32 + 8 + 32 + 1 + 255 + 8
)

// ParseLatestProof decodes a latest-version proof from untrusted JSON. It
// checks the shape only; VerifyLatest checks the proof.
func ParseLatestProof(b []byte) (*LatestProof, error) {
	if len(b) > maxLatestProofLen {
		return nil, ErrInvalidLatestProof.With("the proof is too large", nil)
	}
	var p LatestProof
	if err := jsonx.Unmarshal(b, &p, true); err != nil {
		return nil, ErrInvalidLatestProof.With("", err)
	}
	return &p, nil
}

// Latest is what a verified LatestProof establishes: after the block at
// Height (whose successor's header, signed by the pinned validators, has
// time Time), the latest state of (Kind, Subject) is State, or the subject
// was never anchored (State nil).
type Latest struct {
	Kind    string
	Subject string
	State   *SubjectState
	Height  int64
	Time    time.Time
}

// VerifyLatest checks p offline against the pinned trust:
//
//  1. the header at p.Height+1 belongs to the pinned chain, names the
//     pinned validator set, and more than 2/3 of the pinned voting power
//     signed its commit (every signature present must verify);
//  2. its app hash is AppHash(p.LogRoot, p.MapRoot);
//  3. the map proof shows, under p.MapRoot, exactly p.State (encoded by
//     EncodeState) at the key of (p.Kind, p.Subject), or no value at all
//     when p.State is nil.
//
// Any failure is ErrProofUnverified, ErrInvalidLatestProof for a proof that
// is malformed, or ErrInvalidTrust; it never panics and needs no network.
// A genuine proof stays genuine when newer blocks change the subject: the
// caller bounds its age (Latest.FreshAt) and compares what it was served
// (Latest.Require).
func VerifyLatest(p *LatestProof, trust Trust) (*Latest, error) {
	if p == nil {
		return nil, ErrInvalidLatestProof.With("no proof", nil)
	}
	if err := ValidSubject(p.Kind, p.Subject); err != nil {
		return nil, ErrInvalidLatestProof.With("the subject is not valid", err)
	}
	if p.State != nil {
		if err := p.State.Validate(); err != nil {
			return nil, ErrInvalidLatestProof.With("the state is not valid", err)
		}
	}
	if len(p.LogRoot) != sha256.Size || len(p.MapRoot) != sha256.Size {
		return nil, ErrInvalidLatestProof.With("a root is missing", nil)
	}
	mp := &p.Proof
	if mp.NumSideNodes < 0 || mp.NumSideNodes > mapDepth || len(mp.SideNodes) > mapDepth ||
		len(mp.BitMask) > mapDepth/8 || len(mp.NonMembershipLeaf) > maxLeafLen {
		return nil, ErrInvalidLatestProof.With("the map proof is too large", nil)
	}
	for _, n := range mp.SideNodes {
		if len(n) != sha256.Size {
			return nil, ErrInvalidLatestProof.With("a map proof node is not a hash", nil)
		}
	}
	if !bitMaskFits(mp) {
		return nil, ErrInvalidLatestProof.With("the map proof's bit mask does not match its nodes", nil)
	}
	sh, err := verifiedHeader(p.SignedHeader, p.Height, p.ValidatorsHash, trust, ErrProofUnverified, ErrInvalidLatestProof)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(AppHash(p.LogRoot, p.MapRoot), sh.appHash) {
		return nil, ErrProofUnverified.With("the roots do not make the signed app hash", nil)
	}
	var value []byte // absent: a proof of exclusion
	if p.State != nil {
		value = EncodeState(*p.State)
	}
	c := &smt.SparseCompactMerkleProof{SideNodes: mp.SideNodes, NonMembershipLeafData: mp.NonMembershipLeaf,
		BitMask: mp.BitMask, NumSideNodes: mp.NumSideNodes}
	if c.NonMembershipLeafData != nil && value != nil {
		return nil, ErrProofUnverified.With("an inclusion proof carries an unrelated leaf", nil)
	}
	ok, err := smt.VerifyCompactProof(c, p.MapRoot, MapKey(p.Kind, p.Subject), value, NewMapSpec())
	if err != nil || !ok {
		return nil, ErrProofUnverified.With("the map proof does not lead to the signed map root", err)
	}
	l := &Latest{Kind: p.Kind, Subject: p.Subject, Height: p.Height, Time: sh.time.asTime()}
	if p.State != nil {
		s := *p.State
		s.LeafHash = bytes.Clone(s.LeafHash)
		l.State = &s
	}
	return l, nil
}

// bitMaskFits reports whether the bit mask has exactly one bit per side
// node (set: a placeholder), no bit set past them, and one hash for each
// unset bit. The library counts every set bit of the mask, so without this
// a set padding bit would send its decompaction past the end of the nodes.
func bitMaskFits(mp *MapProof) bool {
	n := mp.NumSideNodes
	if len(mp.BitMask) != (n+7)/8 {
		return false
	}
	placeholders := 0
	for i := range 8 * len(mp.BitMask) {
		if mp.BitMask[i/8]&(1<<(7-uint(i)%8)) == 0 {
			continue
		}
		if i >= n {
			return false
		}
		placeholders++
	}
	return len(mp.SideNodes) == n-placeholders
}

// FreshAt refuses (ErrProofTooOld) a proof whose header is more than
// maxAge older than now. A proof from before a key rotation or a
// deactivation is genuine, so only its age tells it from a current one;
// the ledger makes a block at least every second or so, so a few seconds
// to a minute is a reasonable bound.
func (l *Latest) FreshAt(now time.Time, maxAge time.Duration) error {
	if now.Sub(l.Time) > maxAge {
		return ErrProofTooOld.With("the latest-version proof is older than allowed", nil)
	}
	return nil
}

// Require checks a served version of (kind, subject), whose content has
// the SHA-256 digest sha256 (hex), against the proven latest state:
//
//   - a proof for another subject: ErrProofUnverified;
//   - a version older than the proven latest: ErrStaleVersion (a registry
//     serving a document from before a rotation or a deactivation);
//   - a version newer than the proven latest (or a subject the proof shows
//     never anchored): ErrProofTooOld, the proof predates it;
//   - the latest version with another digest: ErrProofUnverified.
func (l *Latest) Require(kind, subject string, version uint64, sha256 string) error {
	if l.Kind != kind || l.Subject != subject {
		return ErrProofUnverified.With("the latest-version proof is for another subject", nil)
	}
	var latest uint64
	if l.State != nil {
		latest = l.State.Version
	}
	switch {
	case version < latest:
		return ErrStaleVersion.With("a newer version of the subject is anchored", nil)
	case version > latest:
		return ErrProofTooOld.With("the latest-version proof predates the served version", nil)
	case l.State == nil: // version 0 of a subject never anchored: nothing was served
		return ErrProofUnverified.With("no anchored version was served", nil)
	case l.State.SHA256 != sha256:
		return ErrProofUnverified.With("the served content is not the latest anchored version", nil)
	}
	return nil
}

// VerifyCurrent checks, offline, that the entry r proves anchored is the
// latest version of its subject: r verifies (VerifyReceipt), p verifies
// (VerifyLatest), p is no older than maxAge at now (FreshAt), and p's
// latest state is r's entry (Require, and the same leaf). It is what a
// client does with a document, its receipt and a latest-version proof
// served together: a document from before a rotation or a deactivation,
// with its genuine receipt, is ErrStaleVersion.
func VerifyCurrent(r *Receipt, p *LatestProof, trust Trust, now time.Time, maxAge time.Duration) (*Latest, error) {
	if err := VerifyReceipt(r, trust); err != nil {
		return nil, err
	}
	l, err := VerifyLatest(p, trust)
	if err != nil {
		return nil, err
	}
	if err := l.FreshAt(now, maxAge); err != nil {
		return nil, err
	}
	e := r.Entry
	if err := l.Require(e.Kind, e.Subject, e.Version, e.SHA256); err != nil {
		return nil, err
	}
	if !bytes.Equal(l.State.LeafHash, e.LeafHash()) || l.State.LeafIndex != r.LeafIndex {
		return nil, ErrProofUnverified.With("the latest state names another entry than the receipt", nil)
	}
	return l, nil
}
