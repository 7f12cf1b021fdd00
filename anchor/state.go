package anchor

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/ssi-project/ssi/internal/trust"
)

// Key layout of the application database. All integers are big-endian, so
// keys sort in numeric order.
//
//	m                          meta (format, committed height, app hash, log size and compact range, map root)
//	n <level:1> <index:8>      hash of a perfect subtree of the log (level 0: a leaf hash)
//	l <index:8>                the leaf at index (storedLeaf JSON)
//	v <kind> 0 <subject>       the subject's state (trust.EncodeState): latest version, owner, …
//	e <kind> 0 <subject> 0 <version:8>  leaf index of that version
//	w <writer id>              writer record JSON
//	h <height:8>               the roots after the block at height (heightRecord)
//	s <digest:32>              a node of the map trie (see mapstate.go)
//	o <height:8>               digests of the map nodes the block at height orphaned
const (
	pMeta    = 'm'
	pNode    = 'n'
	pLeaf    = 'l'
	pState   = 'v'
	pEntry   = 'e'
	pWriter  = 'w'
	pHeight  = 'h'
	pMapNode = 's'
	pOrphans = 'o'
)

// stateFormat is the version of the layout and of the app hash. Format 1
// (before subject ownership and the map of latest versions) hashed only
// the log, so a chain of format 1 cannot be resumed by this code.
const stateFormat = 2

var hasher = rfc6962.DefaultHasher

var rangeFactory = &compact.RangeFactory{Hash: hasher.HashChildren}

// meta is the committed state summary, persisted at every Commit.
type meta struct {
	Format    int      `json:"format"`
	Height    int64    `json:"height"`
	AppHash   []byte   `json:"app_hash"`
	Size      uint64   `json:"size"`
	Range     [][]byte `json:"range"` // compact range [0, Size)
	MapRoot   []byte   `json:"map_root,omitempty"`
	Operators int      `json:"operators"`
}

// writer is an allow-list record. A removed writer keeps its record, and so
// its sequence number: re-adding it never re-opens old sequence numbers.
// Namespaces are the subject prefixes under which a writer (not an
// operator) may open new subjects.
type writer struct {
	ID         string    `json:"id"`
	Key        WriterKey `json:"key"`
	Role       string    `json:"role"`
	Namespaces []string  `json:"namespaces,omitempty"`
	Seq        uint64    `json:"seq"`
	Removed    bool      `json:"removed,omitempty"`
}

// storedLeaf is a leaf and the height of the block that appended it.
type storedLeaf struct {
	Entry  trust.Entry `json:"entry"`
	Height int64       `json:"height"`
}

// heightRecord is what the app keeps for every committed height: the log's
// size and root and the map's root after that block, from which receipts
// and latest-version proofs for that height are made.
type heightRecord struct {
	Size    uint64
	LogRoot []byte
	MapRoot []byte
}

func (r heightRecord) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, r.Size)
	b = append(b, r.LogRoot...)
	return append(b, r.MapRoot...)
}

func getHeight(o *overlay, h int64) (heightRecord, bool, error) {
	v, err := o.get(heightKey(h))
	if err != nil || v == nil {
		return heightRecord{}, false, err
	}
	if len(v) != 8+2*sha256.Size {
		return heightRecord{}, false, fmt.Errorf("corrupt height record %d", h)
	}
	return heightRecord{Size: binary.BigEndian.Uint64(v), LogRoot: v[8:40], MapRoot: v[40:]}, true, nil
}

// overlay buffers writes over the committed database. Reads see the
// buffered writes first. Nothing reaches the database before flush. A nil
// pending value is a deletion (no record is ever stored empty).
type overlay struct {
	db      dbm.DB
	pending map[string][]byte
}

func newOverlay(db dbm.DB) *overlay { return &overlay{db: db, pending: map[string][]byte{}} }

func (o *overlay) get(k []byte) ([]byte, error) {
	if v, ok := o.pending[string(k)]; ok {
		return v, nil
	}
	v, err := o.db.Get(k)
	if err != nil {
		return nil, fmt.Errorf("reading the app database: %w", err)
	}
	return v, nil
}

func (o *overlay) set(k, v []byte) { o.pending[string(k)] = v }

func (o *overlay) del(k []byte) { o.pending[string(k)] = nil }

// flush writes the buffered writes in one synced batch, in sorted key order.
func (o *overlay) flush() error {
	keys := make([]string, 0, len(o.pending))
	for k := range o.pending {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := o.db.NewBatch()
	defer b.Close()
	for _, k := range keys {
		var err error
		if v := o.pending[k]; v == nil {
			err = b.Delete([]byte(k))
		} else {
			err = b.Set([]byte(k), v)
		}
		if err != nil {
			return fmt.Errorf("batching the app state: %w", err)
		}
	}
	if err := b.WriteSync(); err != nil {
		return fmt.Errorf("writing the app state: %w", err)
	}
	clear(o.pending)
	return nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func nodeKey(id compact.NodeID) []byte {
	return binary.BigEndian.AppendUint64([]byte{pNode, byte(id.Level)}, id.Index)
}

func leafKey(i uint64) []byte    { return binary.BigEndian.AppendUint64([]byte{pLeaf}, i) }
func heightKey(h int64) []byte   { return binary.BigEndian.AppendUint64([]byte{pHeight}, uint64(h)) }
func writerKey(id string) []byte { return append([]byte{pWriter}, id...) }
func stateKey(kind, subject string) []byte {
	return append([]byte{pState}, trust.MapKey(kind, subject)...)
}
func entryKey(kind, subject string, v uint64) []byte {
	k := append([]byte{pEntry}, kind...)
	k = append(k, 0)
	k = append(k, subject...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, v)
}

func getU64(o *overlay, k []byte) (uint64, bool, error) {
	v, err := o.get(k)
	if err != nil || v == nil {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("corrupt integer under key %q", k[:1])
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// getState reads the state of (kind, subject). In the mempool overlay a
// state written by CheckTx has no leaf yet (zero leaf hash and height).
func getState(o *overlay, kind, subject string) (trust.SubjectState, bool, error) {
	v, err := o.get(stateKey(kind, subject))
	if err != nil || v == nil {
		return trust.SubjectState{}, false, err
	}
	s, err := trust.DecodeState(v)
	if err != nil {
		return s, false, fmt.Errorf("decoding the state of a subject: %w", err)
	}
	return s, true, nil
}

func putState(o *overlay, kind, subject string, s trust.SubjectState) []byte {
	v := trust.EncodeState(s)
	o.set(stateKey(kind, subject), v)
	return v
}

func getWriter(o *overlay, id string) (*writer, error) {
	v, err := o.get(writerKey(id))
	if err != nil || v == nil {
		return nil, err
	}
	var w writer
	if err := json.Unmarshal(v, &w); err != nil {
		return nil, fmt.Errorf("decoding a writer record: %w", err)
	}
	return &w, nil
}

func putWriter(o *overlay, w *writer) error {
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encoding a writer record: %w", err)
	}
	o.set(writerKey(w.ID), b)
	return nil
}

// ErrOldState: the database holds the state of an older, incompatible
// app (see stateFormat). It is never resumed or converted: its chain's
// app hashes were computed another way, so replaying it would fork.
var ErrOldState = errors.New("the ledger's app state was written by an older version of ssi, " +
	"whose app hash covered the log only (no subject ownership, no map of latest versions); " +
	"this chain cannot be resumed: start a new one in a fresh directory (for ssi dev, a fresh --data directory)")

func loadMeta(db dbm.DB) (meta, error) {
	m := meta{Format: stateFormat}
	v, err := db.Get([]byte{pMeta})
	if err != nil {
		return m, fmt.Errorf("reading the app meta: %w", err)
	}
	if v == nil {
		return m, nil
	}
	m.Format = 0
	if err := json.Unmarshal(v, &m); err != nil {
		return m, fmt.Errorf("decoding the app meta: %w", err)
	}
	if m.Format != stateFormat {
		return m, fmt.Errorf("%w (app state format %d, this version needs %d)", ErrOldState, m.Format, stateFormat)
	}
	return m, nil
}

// getLeaf reads the leaf at index i from the committed database.
func getLeaf(db dbm.DB, i uint64) (storedLeaf, bool, error) {
	var l storedLeaf
	v, err := db.Get(leafKey(i))
	if err != nil || v == nil {
		return l, false, err
	}
	if err := json.Unmarshal(v, &l); err != nil {
		return l, false, fmt.Errorf("decoding a leaf: %w", err)
	}
	return l, true, nil
}

// inclusionProof builds the RFC 6962 inclusion proof of leaf index in the
// committed tree of the given size, from the stored perfect-subtree hashes.
func inclusionProof(db dbm.DB, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, ErrNotFound.With("the leaf is not in a tree of that size", err)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := db.Get(nodeKey(id))
		if err != nil {
			return nil, fmt.Errorf("reading a tree node: %w", err)
		}
		if h == nil {
			return nil, fmt.Errorf("tree node %d/%d is missing", id.Level, id.Index)
		}
		hashes[i] = h
	}
	p, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("rehashing the proof: %w", err)
	}
	return p, nil
}
