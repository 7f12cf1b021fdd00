package trust

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"

	"github.com/pokt-network/smt"
)

// SubjectState is what the ledger's authenticated map holds for one
// subject (kind, subject): its latest anchored version, where that
// version's entry is in the log, and which writer owns the subject (the
// only one that may extend it).
type SubjectState struct {
	Version   uint64 `json:"version"`    // the latest anchored version
	SHA256    string `json:"sha256"`     // its digest, 64 lowercase hex characters
	LeafIndex uint64 `json:"leaf_index"` // its entry's leaf in the log
	LeafHash  []byte `json:"leaf_hash"`  // its entry's RFC 6962 leaf hash (Entry.LeafHash)
	Owner     string `json:"owner"`      // the writer ID that owns the subject
	// Updated is the height of the block that last changed this state (a
	// new version or a new owner). It makes every state a subject ever has
	// distinct, which the ledger's pruning of old map nodes relies on.
	Updated int64 `json:"updated"`
}

const stateFormat = 1

// MapKey is the key of (kind, subject) in the authenticated map. Kinds and
// subjects never contain a NUL byte (see ValidSubject), so keys are
// unambiguous.
func MapKey(kind, subject string) []byte {
	k := make([]byte, 0, len(kind)+1+len(subject))
	k = append(k, kind...)
	k = append(k, 0)
	return append(k, subject...)
}

// EncodeState is the canonical encoding of s: the value the authenticated
// map holds (and hashes) for its subject. s must be valid (Validate).
//
//	format:1 version:8 sha256:32 leaf_index:8 leaf_hash:32 len(owner):1 owner updated:8
//
// Integers are big-endian.
func EncodeState(s SubjectState) []byte {
	b := make([]byte, 0, 1+8+32+8+32+1+len(s.Owner)+8)
	b = append(b, stateFormat)
	b = binary.BigEndian.AppendUint64(b, s.Version)
	sum, _ := hex.DecodeString(s.SHA256)
	b = append(b, sum...)
	b = binary.BigEndian.AppendUint64(b, s.LeafIndex)
	b = append(b, s.LeafHash...)
	b = append(b, byte(len(s.Owner)))
	b = append(b, s.Owner...)
	return binary.BigEndian.AppendUint64(b, uint64(s.Updated))
}

// DecodeState decodes what EncodeState wrote. It checks the structure, not
// the fields (Validate does).
func DecodeState(b []byte) (SubjectState, error) {
	var s SubjectState
	const fixed = 1 + 8 + 32 + 8 + 32 + 1
	if len(b) < fixed+8 || b[0] != stateFormat {
		return s, errors.New("not a subject state")
	}
	s.Version = binary.BigEndian.Uint64(b[1:])
	s.SHA256 = hex.EncodeToString(b[9:41])
	s.LeafIndex = binary.BigEndian.Uint64(b[41:])
	s.LeafHash = append([]byte(nil), b[49:81]...)
	n := int(b[81])
	if len(b) != fixed+n+8 {
		return s, errors.New("not a subject state")
	}
	s.Owner = string(b[fixed : fixed+n])
	s.Updated = int64(binary.BigEndian.Uint64(b[fixed+n:]))
	return s, nil
}

// Validate checks the shape of a state: a version, a digest, a 32-byte
// leaf hash, a writer ID as owner and a block height.
func (s SubjectState) Validate() error {
	if s.Version == 0 || s.Version > 1<<53 || !validDigest(s.SHA256) || len(s.LeafHash) != sha256.Size ||
		!ValidWriterID(s.Owner) || s.Updated < 1 {
		return ErrInvalidEntry.With("the subject state is malformed", nil)
	}
	return nil
}

// appHashDomain separates the app hash from every other SHA-256 of ssi.
const appHashDomain = "ssi-anchor-app-hash-v2\x00"

// AppHash is the ledger's app hash, which CometBFT puts in the header of
// the next block: SHA-256 of the domain "ssi-anchor-app-hash-v2\x00", the
// root of the log (RFC 6962, 32 bytes) and the root of the authenticated
// map of subject states (32 bytes). A receipt proves an entry under the log
// root; a latest-version proof proves a subject's state under the map root.
func AppHash(logRoot, mapRoot []byte) []byte {
	h := sha256.New()
	h.Write([]byte(appHashDomain))
	h.Write(logRoot)
	h.Write(mapRoot)
	return h.Sum(nil)
}

// NewMapSpec returns the hashing of the authenticated map: a sparse Merkle
// trie (github.com/pokt-network/smt) over SHA-256, whose path is the
// SHA-256 of MapKey and whose leaves hold the encoded state itself (no
// value hasher), so the trie can answer a state at any height it keeps.
// The ledger builds its trie with the same options (MapOptions).
func NewMapSpec() *smt.TrieSpec {
	s := smt.NewTrieSpec(sha256.New(), false, MapOptions()...)
	return &s
}

// MapOptions are the trie options of the authenticated map.
func MapOptions() []smt.TrieSpecOption { return []smt.TrieSpecOption{smt.WithValueHasher(nil)} }
