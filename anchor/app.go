package anchor

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/pokt-network/smt"
	"github.com/transparency-dev/merkle/compact"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/trust"
)

// AppVersion is the ABCI application protocol version.
const AppVersion = 1

// GenesisState is the app_state of the genesis document: the registry
// operators, who start the allow-list.
type GenesisState struct {
	Operators []WriterKey `json:"operators"`
}

// App is the ABCI application: the permissioned append-only log, and the
// authenticated map of each subject's latest state (version, entry, owner).
// The app hash commits to both (trust.AppHash).
//
// Consensus state (FinalizeBlock) and mempool state (CheckTx) are separate
// overlays on the committed database; only Commit writes, in one synced
// batch together with the height and app hash, so a restart resumes from
// the last commit without replaying the chain.
type App struct {
	abci.BaseApplication

	mu      sync.Mutex
	chainID string
	db      dbm.DB
	meta    meta // committed

	deliver  *overlay
	rng      *compact.Range // the log after the transactions delivered so far
	tree     *smt.SMT       // the map of subject states, as of the last Commit plus the block's commitMap
	nodes    *mapNodes      // tree's node store, over deliver
	dirty    map[string][]byte
	next     meta // what Commit will persist
	check    *overlay
	checkOps int // operators in the mempool state

	finalized int64 // blocks finalized by this instance (restart tests)
	txs       txCache
	// propose, when set (tests only), plays a faulty proposer: it rewrites
	// the transactions this validator proposes for the block at a height.
	propose func(height int64, txs [][]byte) [][]byte
}

var _ abci.Application = (*App)(nil)

// NewApp opens the application over db (which it does not close) for the
// chain chainID, resuming from the last committed state in db. A database
// of an older, incompatible app is refused (ErrOldState).
func NewApp(db dbm.DB, chainID string) (*App, error) {
	m, err := loadMeta(db)
	if err != nil {
		return nil, err
	}
	rng, err := rangeFactory.NewRange(0, m.Size, m.Range)
	if err != nil {
		return nil, fmt.Errorf("restoring the log's compact range: %w", err)
	}
	a := &App{chainID: chainID, db: db, meta: m, next: m, rng: rng, dirty: map[string][]byte{},
		deliver: newOverlay(db), check: newOverlay(db), checkOps: m.Operators}
	a.nodes = &mapNodes{st: a.deliver}
	a.tree = openMap(a.nodes, m.MapRoot)
	return a, nil
}

// Info reports the last committed height and app hash, so CometBFT replays
// only the blocks the app has not committed.
func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{
		Data:             "ssi-anchor",
		Version:          "1",
		AppVersion:       AppVersion,
		LastBlockHeight:  a.meta.Height,
		LastBlockAppHash: a.meta.AppHash,
	}, nil
}

// InitChain loads the genesis operators onto the allow-list.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var gs GenesisState
	if err := jsonx.Unmarshal(req.AppStateBytes, &gs, true); err != nil {
		return nil, fmt.Errorf("decoding the genesis app state: %w", err)
	}
	if len(gs.Operators) == 0 {
		return nil, errors.New("the genesis app state lists no operator")
	}
	for i := range gs.Operators {
		k := gs.Operators[i]
		id, err := k.id()
		if err != nil {
			return nil, fmt.Errorf("genesis operator %d: %w", i, err)
		}
		if w, err := getWriter(a.deliver, id); err != nil || w != nil {
			return nil, fmt.Errorf("genesis operator %d is listed twice", i)
		}
		if err := putWriter(a.deliver, &writer{ID: id, Key: k, Role: RoleOperator}); err != nil {
			return nil, err
		}
		a.next.Operators++
	}
	return &abci.ResponseInitChain{}, nil
}

// CheckTx validates a transaction against the mempool state: the committed
// state plus the transactions already accepted into the mempool.
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.apply(a.check, &a.checkOps, req.Tx, nil)
	if err != nil {
		code, name := abciCode(err)
		return &abci.ResponseCheckTx{Code: code, Codespace: Codespace, Log: name, Data: []byte(detailOf(err))}, nil
	}
	return &abci.ResponseCheckTx{Code: abci.CodeTypeOK}, nil
}

// PrepareProposal proposes the mempool's transactions in order, as many as
// fit the block (CometBFT's default). Every validator checks each of them
// again in FinalizeBlock, so a proposer that adds others gains nothing.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	propose := a.propose
	a.mu.Unlock()
	in := req.Txs
	if propose != nil {
		in = propose(req.Height, slices.Clone(in))
	}
	txs := make([][]byte, 0, len(in))
	var total int64
	for _, tx := range in {
		if total += int64(len(tx)); total > req.MaxTxBytes {
			break
		}
		txs = append(txs, tx)
	}
	return &abci.ResponsePrepareProposal{Txs: txs}, nil
}

// FinalizeBlock applies the block's transactions in order. A rejected
// transaction changes nothing and carries its code in its result.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	blk := &block{height: req.Height, time: req.Time.UTC()}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	for i, raw := range req.Txs {
		err := a.apply(a.deliver, &a.next.Operators, raw, blk)
		if err != nil {
			if errors.Is(err, errStorage) {
				return nil, err // the node must stop rather than diverge
			}
			code, name := abciCode(err)
			results[i] = &abci.ExecTxResult{Code: code, Codespace: Codespace, Log: name, Info: detailOf(err)}
			continue
		}
		results[i] = &abci.ExecTxResult{Code: abci.CodeTypeOK}
	}
	logRoot, err := a.rng.GetRootHash(nil)
	if err != nil {
		return nil, fmt.Errorf("computing the log root: %w", err)
	}
	if logRoot == nil { // an empty log (the range has no root)
		logRoot = hasher.EmptyRoot()
	}
	mapRoot, err := a.commitMap(req.Height)
	if err != nil {
		return nil, err // the node must stop rather than diverge
	}
	a.finalized++
	a.next.Height = req.Height
	a.next.AppHash = trust.AppHash(logRoot, mapRoot)
	a.next.Size = a.rng.End()
	a.next.Range = a.rng.Hashes()
	a.next.MapRoot = mapRoot
	a.deliver.set(heightKey(req.Height), heightRecord{Size: a.next.Size, LogRoot: logRoot, MapRoot: mapRoot}.encode())
	return &abci.ResponseFinalizeBlock{TxResults: results, AppHash: a.next.AppHash}, nil
}

// Commit persists the block's state, height and app hash atomically, then
// resets the mempool state to it (CometBFT rechecks the mempool next).
func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, err := json.Marshal(a.next)
	if err != nil {
		return nil, fmt.Errorf("encoding the app meta: %w", err)
	}
	a.deliver.set([]byte{pMeta}, m)
	if err := a.deliver.flush(); err != nil {
		return nil, err
	}
	a.meta = a.next
	a.meta.Range = append([][]byte(nil), a.next.Range...)
	a.check, a.checkOps = newOverlay(a.db), a.meta.Operators
	// The library keeps every node it read or wrote in memory, which saves
	// reading them again in the next blocks but would end up holding the
	// whole map: reopen the trie from its root now and then.
	if a.nodes.touched > maxCachedMapNodes {
		a.tree, a.nodes.touched = openMap(a.nodes, a.meta.MapRoot), 0
	}
	return &abci.ResponseCommit{}, nil
}

var errStorage = errors.New("app storage failure")

// block is the block a transaction is delivered in (nil in CheckTx).
type block struct {
	height int64
	time   time.Time
}

// apply checks raw against st and, when every check passes, applies it:
// the writer's sequence advances, subject states change, and in a block
// (blk not nil) entries are appended to the log and the changed states
// are marked for the map. A rejected transaction writes nothing.
func (a *App) apply(st *overlay, operators *int, raw []byte, blk *block) error {
	tx, err := a.txs.decode(raw)
	if err != nil {
		return err
	}
	b := &tx.Body
	if b.ChainID != a.chainID {
		return ErrWrongChain
	}
	w, err := getWriter(st, b.Writer)
	if err != nil {
		return fmt.Errorf("%w: %v", errStorage, err)
	}
	if w == nil || w.Removed {
		return ErrWriterNotAllowed
	}
	if !tx.verifiedBy(&w.Key) {
		return ErrBadSignature
	}
	switch {
	case b.Seq <= w.Seq:
		return ErrReplayedTx
	case b.Seq > w.Seq+1:
		return ErrSequenceGap
	}
	switch b.Type {
	case TxAnchor:
		if err := a.applyAnchor(st, w, b, blk); err != nil {
			return err
		}
	case TxAddWriter, TxRemoveWriter, TxSetOwner:
		if w.Role != RoleOperator {
			return ErrNotOperator
		}
		if b.Type == TxSetOwner {
			err = a.applySetOwner(st, b, blk)
		} else {
			err = applyGovernance(st, operators, b)
		}
		if err != nil {
			return err
		}
	}
	// Governance may have rewritten this writer's own record: reload it.
	if w, err = getWriter(st, b.Writer); err != nil {
		return fmt.Errorf("%w: %v", errStorage, err)
	}
	w.Seq = b.Seq
	if err := putWriter(st, w); err != nil {
		return fmt.Errorf("%w: %v", errStorage, err)
	}
	return nil
}

// applyAnchor checks every entry of the batch, then applies them all:
//
//   - a subject that has no state yet is opened by the entry (version 1),
//     if the writer is an operator or the subject is inside one of the
//     writer's namespaces (else ErrOutsideNamespace); the writer becomes
//     its owner;
//   - a subject that has a state is extended only by its owner (else
//     ErrNotSubjectOwner), by exactly one version (else ErrVersionRepeat or
//     ErrVersionSkip).
func (a *App) applyAnchor(st *overlay, w *writer, b *Body, blk *block) error {
	// A batch may carry v1 and v2 of one subject: track what the batch
	// already did. The map is only looked up, never iterated.
	inBatch := make(map[string]uint64, len(b.Entries))
	for i, e := range b.Entries {
		key := string(trust.MapKey(e.Kind, e.Subject))
		latest, ok := inBatch[key]
		if !ok {
			s, found, err := getState(st, e.Kind, e.Subject)
			if err != nil {
				return fmt.Errorf("%w: %v", errStorage, err)
			}
			switch {
			case !found && !w.mayOpen(e.Subject):
				return entryError(ErrOutsideNamespace, i)
			case found && s.Owner != w.ID:
				return entryError(ErrNotSubjectOwner, i)
			}
			latest = s.Version
		}
		switch {
		case e.Version <= latest:
			return entryError(ErrVersionRepeat, i)
		case e.Version > latest+1:
			return entryError(ErrVersionSkip, i)
		}
		inBatch[key] = e.Version
	}
	for _, e := range b.Entries {
		e.Writer, e.Owner = w.ID, w.ID
		s := trust.SubjectState{Version: e.Version, SHA256: e.SHA256, Owner: w.ID, LeafHash: make([]byte, sha256.Size)}
		if blk != nil {
			idx, leaf, err := a.appendLeaf(e, blk)
			if err != nil {
				return fmt.Errorf("%w: %v", errStorage, err)
			}
			s.LeafIndex, s.LeafHash, s.Updated = idx, leaf, blk.height
		}
		v := putState(st, e.Kind, e.Subject, s)
		if blk != nil {
			a.dirty[string(trust.MapKey(e.Kind, e.Subject))] = v
		}
	}
	return nil
}

// applySetOwner gives an anchored subject to another writer on the
// allow-list. History stays: the entries the old owner wrote are still in
// the log, and the new owner extends the version sequence from where it is.
func (a *App) applySetOwner(st *overlay, b *Body, blk *block) error {
	s, found, err := getState(st, b.Kind, b.Subject)
	if err != nil {
		return fmt.Errorf("%w: %v", errStorage, err)
	}
	if !found {
		return ErrNotFound.With("the subject is not anchored", nil)
	}
	t, err := getWriter(st, b.Target)
	if err != nil {
		return fmt.Errorf("%w: %v", errStorage, err)
	}
	switch {
	case t == nil || t.Removed:
		return ErrInvalidGovernance.With("the new owner is not on the allow-list", nil)
	case s.Owner == b.Target:
		return ErrInvalidGovernance.With("the writer owns the subject already", nil)
	}
	s.Owner = b.Target
	if blk != nil {
		s.Updated = blk.height
	}
	v := putState(st, b.Kind, b.Subject, s)
	if blk != nil {
		a.dirty[string(trust.MapKey(b.Kind, b.Subject))] = v
	}
	return nil
}

// appendLeaf appends e (stamped with the block time) to the log, storing
// the leaf, its version index and every new perfect-subtree hash, and
// returns its index and leaf hash.
func (a *App) appendLeaf(e trust.Entry, blk *block) (uint64, []byte, error) {
	e.Time = blk.time
	idx := a.rng.End()
	leaf, err := json.Marshal(storedLeaf{Entry: e, Height: blk.height})
	if err != nil {
		return 0, nil, fmt.Errorf("encoding a leaf: %w", err)
	}
	a.deliver.set(leafKey(idx), leaf)
	a.deliver.set(entryKey(e.Kind, e.Subject, e.Version), u64(idx))
	h := e.LeafHash()
	err = a.rng.Append(h, func(id compact.NodeID, h []byte) {
		a.deliver.set(nodeKey(id), h)
	})
	return idx, h, err
}

func applyGovernance(st *overlay, operators *int, b *Body) error {
	if b.Type == TxAddWriter {
		id, err := b.Key.id()
		if err != nil {
			return err
		}
		w, err := getWriter(st, id)
		if err != nil {
			return fmt.Errorf("%w: %v", errStorage, err)
		}
		if w == nil {
			w = &writer{ID: id, Key: *b.Key, Removed: true}
		}
		wasOp := !w.Removed && w.Role == RoleOperator
		if wasOp && b.Role != RoleOperator && *operators <= 1 {
			return ErrInvalidGovernance.With("the last operator cannot be demoted", nil)
		}
		if wasOp != (b.Role == RoleOperator) {
			if wasOp {
				*operators--
			} else {
				*operators++
			}
		}
		w.Role, w.Namespaces, w.Removed = b.Role, b.Namespaces, false
		return putWriter(st, w)
	}
	w, err := getWriter(st, b.Target)
	if err != nil {
		return fmt.Errorf("%w: %v", errStorage, err)
	}
	if w == nil || w.Removed {
		return ErrInvalidGovernance.With("the writer is not on the allow-list", nil)
	}
	if w.Role == RoleOperator {
		if *operators <= 1 {
			return ErrInvalidGovernance.With("the last operator cannot be removed", nil)
		}
		*operators--
	}
	w.Removed = true
	return putWriter(st, w)
}

// mayOpen reports whether w may open (anchor version 1 of) a subject: an
// operator may open any, a writer only those inside its namespaces.
func (w *writer) mayOpen(subject string) bool {
	if w.Role == RoleOperator {
		return true
	}
	for _, ns := range w.Namespaces {
		if strings.HasPrefix(subject, ns) {
			return true
		}
	}
	return false
}

// detailOf returns the user-safe detail of err, for the ABCI Info field.
func detailOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Detail
	}
	return ""
}
