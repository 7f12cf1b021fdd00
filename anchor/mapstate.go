package anchor

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/pokt-network/smt"

	"github.com/ssi-project/ssi/internal/trust"
)

// The authenticated map of subject states is a sparse Merkle trie
// (github.com/pokt-network/smt, hashed as trust.NewMapSpec says) whose
// nodes live in the app database under 's' + digest, written through the
// deliver overlay, so they commit atomically with the rest of the block.
//
// The library deletes a node as soon as a newer version of the trie no
// longer uses it. The app defers that: the digests a block orphans are
// listed under 'o' + height and deleted mapKeep blocks later, so the map of
// the last mapKeep+1 heights can still be proven (a proof of height H needs
// the header of H+1, and right after H+1 commits the newest height with a
// signed successor is H). Deferring is safe because a node digest, once
// orphaned, never comes back: a subject state only ever changes to a state
// it never had (its version grows, or its owner changes at a later height,
// and trust.SubjectState.Updated records that height), so no subtree ever
// returns to contents it had before.
const mapKeep = 2

// maxCachedMapNodes bounds the map nodes the app's trie keeps in memory
// (a few hundred bytes each, so some tens of MB) before it is reopened
// from its root. (A variable for the tests only.)
var maxCachedMapNodes = 1 << 17

// mapNodes is the trie's smt.MapStore over an overlay (the deliver overlay
// for the app's trie; the committed database, read-only, for proofs).
type mapNodes struct {
	st       *overlay
	orphans  [][]byte // digests the trie deleted in this block
	touched  int      // nodes read or written since the trie was opened (it keeps them in memory)
	readOnly bool
}

var errReadOnlyMap = errors.New("the map trie is read-only here")

func mapNodeKey(digest []byte) []byte { return append([]byte{pMapNode}, digest...) }
func orphansKey(h int64) []byte       { return binary.BigEndian.AppendUint64([]byte{pOrphans}, uint64(h)) }

// Get returns a stored node. A node the trie refers to is always stored,
// so a missing one is an error (the library would panic on nil data).
func (m *mapNodes) Get(k []byte) ([]byte, error) {
	m.touched++
	v, err := m.st.get(mapNodeKey(k))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("map node %x is missing", k)
	}
	return v, nil
}

func (m *mapNodes) Set(k, v []byte) error {
	if m.readOnly {
		return errReadOnlyMap
	}
	m.touched++
	m.st.set(mapNodeKey(k), bytes.Clone(v))
	return nil
}

// Delete records the orphaned node; the app deletes it mapKeep blocks
// later.
func (m *mapNodes) Delete(k []byte) error {
	if m.readOnly {
		return errReadOnlyMap
	}
	m.orphans = append(m.orphans, bytes.Clone(k))
	return nil
}

func (m *mapNodes) Len() (int, error) { return 0, errors.New("the map store is not countable") }
func (m *mapNodes) ClearAll() error   { return errors.New("the map store cannot be cleared") }

// openMap opens the trie with the given root (nil: empty) over nodes.
func openMap(nodes *mapNodes, root []byte) *smt.SMT {
	if root == nil {
		return smt.NewSparseMerkleTrie(nodes, sha256.New(), trust.MapOptions()...)
	}
	return smt.ImportSparseMerkleTrie(nodes, sha256.New(), root, trust.MapOptions()...)
}

// commitMap applies the block's changed subject states to the trie in key
// order, writes the new nodes into the deliver overlay, records the nodes
// it orphaned and deletes those orphaned mapKeep blocks ago. It returns the
// new map root.
func (a *App) commitMap(height int64) ([]byte, error) {
	keys := make([]string, 0, len(a.dirty))
	for k := range a.dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := a.tree.Update([]byte(k), a.dirty[k]); err != nil {
			return nil, fmt.Errorf("updating the map: %w", err)
		}
	}
	clear(a.dirty)
	a.nodes.orphans = a.nodes.orphans[:0]
	if err := a.tree.Commit(); err != nil {
		return nil, fmt.Errorf("writing the map: %w", err)
	}
	if len(a.nodes.orphans) > 0 {
		a.deliver.set(orphansKey(height), bytes.Join(a.nodes.orphans, nil))
	}
	if old := height - mapKeep; old > 0 {
		list, err := a.deliver.get(orphansKey(old))
		if err != nil {
			return nil, err
		}
		if len(list)%sha256.Size != 0 {
			return nil, fmt.Errorf("corrupt orphan list at height %d", old)
		}
		for i := 0; i < len(list); i += sha256.Size {
			a.deliver.del(mapNodeKey(list[i : i+sha256.Size]))
		}
		if list != nil {
			a.deliver.del(orphansKey(old))
		}
	}
	return a.tree.Root(), nil
}

// proveLatest builds the latest-version proof (without its signed header)
// of (kind, subject) after the committed block at height h, which must be
// one of the last mapKeep+1 committed heights.
func (a *App) proveLatest(kind, subject string, h int64) (*trust.LatestProof, error) {
	if err := trust.ValidSubject(kind, subject); err != nil {
		return nil, err
	}
	if h == 0 {
		h = a.meta.Height
	}
	if h < 1 || h > a.meta.Height || h < a.meta.Height-mapKeep {
		return nil, ErrNotFound.With(fmt.Sprintf("the map can be proven at heights %d to %d only", max(1, a.meta.Height-mapKeep), a.meta.Height), nil)
	}
	st := &overlay{db: a.db}
	rec, ok, err := getHeight(st, h)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("a committed height has no record")
	}
	t := openMap(&mapNodes{st: st, readOnly: true}, rec.MapRoot)
	key := trust.MapKey(kind, subject)
	value, err := t.Get(key)
	if err != nil {
		return nil, fmt.Errorf("reading the map: %w", err)
	}
	sp, err := t.Prove(key)
	if err != nil {
		return nil, fmt.Errorf("proving the map: %w", err)
	}
	mp, err := trust.CompactMapProof(sp)
	if err != nil {
		return nil, fmt.Errorf("compacting a map proof: %w", err)
	}
	p := &trust.LatestProof{Kind: kind, Subject: subject, Height: h, LogRoot: rec.LogRoot, MapRoot: rec.MapRoot, Proof: mp}
	if len(value) > 0 {
		s, err := trust.DecodeState(value)
		if err != nil {
			return nil, fmt.Errorf("decoding a proven state: %w", err)
		}
		p.State = &s
	}
	return p, nil
}
