package anchor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/trust"
)

// Topic is the outbox topic of anchor work.
const Topic = "anchor"

// OutboxTx is the part of a caller's transaction that Enqueue writes
// through (a transaction-bound *store.Store), so that the anchor commits
// or rolls back with the caller's state change.
type OutboxTx interface {
	EnqueueOutbox(ctx context.Context, items ...store.OutboxItem) error
}

// Outbox is the part of the store the anchoring worker uses (its own
// store, not a transaction).
type Outbox interface {
	OutboxTx
	PendingOutbox(ctx context.Context, topic string, limit int) ([]store.OutboxItem, error)
	CompleteOutbox(ctx context.Context, topic string, id int64, result []byte) error
	FailOutbox(ctx context.Context, topic string, id int64, reason string) error
	ParkOutbox(ctx context.Context, topic string, id int64, reason string) error
	GetOutbox(ctx context.Context, topic, key string) (store.OutboxItem, error)
	OutboxDepth(ctx context.Context, topic string) (int64, error)
}

// TxOutbox is an Outbox that also runs transactions, as *store.Store does.
// When the worker's Outbox is one, the receipts of a batch are stored in
// one transaction (one commit, not one per entry); otherwise one by one.
type TxOutbox interface {
	Outbox
	InTx(ctx context.Context, fn func(tx *store.Store) error) error
}

var (
	_ TxOutbox = (*store.Store)(nil)
	_ OutboxTx = (*store.Store)(nil)
)

// permanent prefixes the LastError of an item the worker will not retry
// (a different hash is already anchored for its version, or its payload
// is not an entry). Such items stay pending, so depth and alerts show them.
const permanent = "permanent: "

// Config configures an Anchorer.
type Config struct {
	Ledger *Ledger
	Signer *TxSigner // the writer key on the ledger's allow-list
	Outbox Outbox    // the worker's store (not a transaction)
	// BatchSize is the most entries per transaction (default and maximum
	// 1000, the store's page size).
	BatchSize int
	// PollInterval is how often the worker looks for work and for
	// inclusion (default 20 ms). Back-off doubles from it up to MaxBackoff
	// (default 2 s) while the ledger is unavailable or its mempool full.
	PollInterval time.Duration
	MaxBackoff   time.Duration
	// ConfirmTimeout bounds the wait for a submitted batch to be included
	// (default 30 s); after it the worker re-reads the ledger and resubmits
	// only what is missing.
	ConfirmTimeout time.Duration
	Logger         *slog.Logger
	// ProofReuse is how long a latest-version proof is served again before
	// the ledger is asked for a newer one (ProofCache; default 1 s).
	ProofReuse time.Duration
}

// Anchorer enqueues entries in the outbox and, in Run, anchors them.
type Anchorer struct {
	cfg       Config
	log       *slog.Logger
	anchored  atomic.Int64 // entries completed by this worker
	mismatch  atomic.Int64 // alert: versions anchored with a different hash
	submitted atomic.Int64 // transactions accepted by the mempool
	proofs    *ProofCache
}

// New checks cfg and returns an Anchorer.
func New(cfg Config) (*Anchorer, error) {
	if cfg.Ledger == nil || cfg.Signer == nil || cfg.Outbox == nil {
		return nil, errors.New("anchor: Ledger, Signer and Outbox are required")
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > 1000 {
		cfg.BatchSize = 1000
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.ConfirmTimeout <= 0 {
		cfg.ConfirmTimeout = 30 * time.Second
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &Anchorer{cfg: cfg, log: lg, proofs: NewProofCache(cfg.Ledger, cfg.ProofReuse, nil)}, nil
}

// Enqueue validates entries and writes one outbox item per entry (key
// kind|subject|version) through ob, which should be the caller's
// transaction. Enqueueing the same entry again is a no-op; the same
// version with another hash is store.ErrConflict.
func (a *Anchorer) Enqueue(ctx context.Context, ob OutboxTx, entries ...trust.Entry) error {
	items := make([]store.OutboxItem, len(entries))
	for i, e := range entries {
		req := trust.Entry{Kind: e.Kind, Subject: e.Subject, Version: e.Version, SHA256: e.SHA256}
		if err := req.ValidateRequest(); err != nil {
			return err
		}
		p, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("encoding an outbox entry: %w", err)
		}
		items[i] = store.OutboxItem{Topic: Topic, Key: req.Key(), Payload: p}
	}
	if err := ob.EnqueueOutbox(ctx, items...); err != nil {
		return fmt.Errorf("enqueueing anchors: %w", err)
	}
	return nil
}

// Stats are the worker's counters since start.
type Stats struct {
	Anchored     int64 // entries completed with a receipt
	Mismatches   int64 // versions found anchored with another hash (alert)
	Transactions int64 // transactions accepted by the mempool
}

// Stats returns the worker's counters.
func (a *Anchorer) Stats() Stats {
	return Stats{Anchored: a.anchored.Load(), Mismatches: a.mismatch.Load(), Transactions: a.submitted.Load()}
}

// Collectors returns Prometheus counters over the worker's Stats:
// ssi_anchor_entries_total, ssi_anchor_transactions_total and
// ssi_anchor_hash_mismatches_total (alert on any increase).
func (a *Anchorer) Collectors() []prometheus.Collector {
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		counter("ssi_anchor_entries_total", "Entries anchored with a stored receipt.", &a.anchored),
		counter("ssi_anchor_transactions_total", "Batch transactions accepted by the ledger's mempool.", &a.submitted),
		counter("ssi_anchor_hash_mismatches_total", "Versions found anchored with another hash than ours (alert).", &a.mismatch),
	}
}

// Run drains the outbox until ctx ends, backing off while the ledger is
// unavailable. It returns ctx's error.
func (a *Anchorer) Run(ctx context.Context) error {
	backoff := a.cfg.PollInterval
	for {
		n, err := a.Drain(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			a.log.Warn("anchoring paused", "code", errs.CodeOf(err), "retry_in", backoff)
			backoff = min(2*backoff, a.cfg.MaxBackoff)
		case n == 0:
			backoff = a.cfg.PollInterval
		default:
			backoff = 0
			continue
		}
		if err := wait(ctx, backoff); err != nil {
			return err
		}
	}
}

// Drain processes one page of pending items in order: entries already on
// the ledger are completed (or flagged, if the hash differs), the rest are
// submitted as one batch transaction and completed once included. It
// returns how many items it completed.
func (a *Anchorer) Drain(ctx context.Context) (int, error) {
	items, err := a.cfg.Outbox.PendingOutbox(ctx, Topic, a.cfg.BatchSize)
	if err != nil {
		return 0, err
	}
	var work []pending
	for _, it := range items {
		if strings.HasPrefix(it.LastError, permanent) {
			a.park(ctx, it.ID, it.LastError) // failed for good before parking existed
			continue
		}
		var e trust.Entry
		perr := jsonx.Unmarshal(it.Payload, &e, true)
		if perr == nil {
			perr = e.ValidateRequest()
		}
		if perr != nil {
			a.park(ctx, it.ID, permanent+"the payload is not an anchor entry")
			continue
		}
		work = append(work, pending{id: it.ID, entry: e})
	}
	if len(work) == 0 {
		return 0, nil
	}
	// Order the batch by (kind, subject, version): versions of one subject
	// then go in increasing order even when the outbox returned them out of
	// order (PostgreSQL assigns IDs at insert, not at commit). The order
	// across subjects does not matter inside one transaction.
	slices.SortStableFunc(work, func(x, y pending) int {
		if c := cmp.Compare(x.entry.Kind, y.entry.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(x.entry.Subject, y.entry.Subject); c != 0 {
			return c
		}
		return cmp.Compare(x.entry.Version, y.entry.Version)
	})

	done, todo, err := a.reconcile(ctx, work)
	if err != nil || len(todo) == 0 {
		return done, err
	}
	if todo, err = a.submit(ctx, todo); err != nil || len(todo) == 0 {
		return done, err
	}
	n, err := a.confirm(ctx, todo)
	return done + n, err
}

type pending struct {
	id    int64
	entry trust.Entry
	loc   Located
}

// reconcile looks the entries up on the ledger. Those already anchored
// with the same hash are completed (never submitted again); with another
// hash they are flagged permanently and counted as an alert. It returns
// the entries still to submit.
func (a *Anchorer) reconcile(ctx context.Context, work []pending) (int, []pending, error) {
	refs := make([]EntryRef, len(work))
	for i, p := range work {
		refs[i] = EntryRef{Kind: p.entry.Kind, Subject: p.entry.Subject, Version: p.entry.Version}
	}
	locs, err := a.cfg.Ledger.Lookup(ctx, refs...)
	if err != nil {
		return 0, nil, err
	}
	var found, todo []pending
	for i, p := range work {
		switch {
		case !locs[i].Found:
			todo = append(todo, p)
		case locs[i].Entry.SHA256 == p.entry.SHA256:
			p.loc = locs[i]
			found = append(found, p)
		default:
			a.mismatch.Add(1)
			a.log.Error("ALERT: a different hash is already anchored for this version",
				"kind", p.entry.Kind, "subject", p.entry.Subject, "version", p.entry.Version)
			a.park(ctx, p.id, permanent+ErrHashMismatch.Code)
		}
	}
	n, err := a.complete(ctx, found)
	return n, todo, err
}

// submit signs and submits todo as one transaction and returns what it
// submitted. A version that does not extend the ledger's (its predecessor
// is not anchored yet) is taken out and left for a later round; an entry
// of a subject our writer does not own (or may not open) is taken out and
// parked.
func (a *Anchorer) submit(ctx context.Context, todo []pending) ([]pending, error) {
	todo = slices.Clone(todo)
	for len(todo) > 0 {
		w, err := a.cfg.Ledger.Writer(ctx, a.cfg.Signer.ID())
		if err != nil {
			return nil, err
		}
		entries := make([]trust.Entry, len(todo))
		for i, p := range todo {
			entries[i] = p.entry
		}
		tx, err := a.cfg.Signer.Sign(Body{ChainID: a.cfg.Ledger.ChainID(), Type: TxAnchor, Seq: w.Seq + 1, Entries: entries})
		if err != nil {
			return nil, err
		}
		err = a.cfg.Ledger.Submit(ctx, tx)
		if err == nil {
			a.submitted.Add(1)
			return todo, nil
		}
		var bad int
		foreign := errors.Is(err, ErrNotSubjectOwner) || errors.Is(err, ErrOutsideNamespace)
		if foreign || errors.Is(err, ErrVersionSkip) || errors.Is(err, ErrVersionRepeat) {
			if _, serr := fmt.Sscanf(detailOf(err), "entry %d", &bad); serr == nil && bad >= 0 && bad < len(todo) {
				if foreign { // never ours to write: retrying would hold up the queue forever
					a.log.Error("ALERT: the ledger refuses our writer for this subject", "code", errs.CodeOf(err),
						"kind", todo[bad].entry.Kind, "subject", todo[bad].entry.Subject, "version", todo[bad].entry.Version)
					a.park(ctx, todo[bad].id, permanent+errs.CodeOf(err))
				} else {
					a.fail(ctx, todo[bad].id, errs.CodeOf(err))
				}
				todo = slices.Delete(todo, bad, bad+1)
				continue
			}
		}
		return nil, err
	}
	return nil, nil
}

// confirm waits until every submitted entry is on the ledger and its
// receipt can be made, then completes the items.
func (a *Anchorer) confirm(ctx context.Context, todo []pending) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ConfirmTimeout)
	defer cancel()
	refs := make([]EntryRef, len(todo))
	for i, p := range todo {
		refs[i] = EntryRef{Kind: p.entry.Kind, Subject: p.entry.Subject, Version: p.entry.Version}
	}
	for {
		locs, err := a.cfg.Ledger.Lookup(ctx, refs...)
		if err == nil {
			ready := todo[:0:0]
			for i, p := range todo {
				if locs[i].Found && locs[i].Entry.SHA256 == p.entry.SHA256 {
					p.loc = locs[i]
					ready = append(ready, p)
				}
			}
			if len(ready) == len(todo) {
				return a.complete(ctx, ready)
			}
		}
		if err := wait(ctx, a.cfg.PollInterval); err != nil {
			return 0, ErrUnavailable.With("the batch was not confirmed in time", err)
		}
	}
}

// complete builds each receipt (waiting for the signing header when it is
// not there yet) and stores it as the item's result, all in one store
// transaction when the outbox offers one.
func (a *Anchorer) complete(ctx context.Context, ps []pending) (int, error) {
	if len(ps) == 0 {
		return 0, nil
	}
	headers := signedHeaders{}
	results := make([][]byte, len(ps))
	for i, p := range ps {
		var r *trust.Receipt
		var err error
		for {
			r, err = a.cfg.Ledger.receipt(ctx, p.loc, headers)
			if !errors.Is(err, ErrNotYet) {
				break
			}
			if werr := wait(ctx, a.cfg.PollInterval); werr != nil {
				return 0, werr
			}
		}
		if err != nil {
			return 0, err
		}
		if results[i], err = json.Marshal(r); err != nil {
			return 0, fmt.Errorf("encoding a receipt: %w", err)
		}
	}
	n := 0
	storeAll := func(ob Outbox) error {
		n = 0
		for i, p := range ps {
			if err := ob.CompleteOutbox(ctx, Topic, p.id, results[i]); err != nil {
				if errors.Is(err, store.ErrConflict) { // completed by another worker
					continue
				}
				return err
			}
			n++
		}
		return nil
	}
	var err error
	if txer, ok := a.cfg.Outbox.(TxOutbox); ok {
		err = txer.InTx(ctx, func(tx *store.Store) error { return storeAll(tx) })
	} else {
		err = storeAll(a.cfg.Outbox)
	}
	if err != nil {
		return 0, err
	}
	a.anchored.Add(int64(n))
	return n, nil
}

func (a *Anchorer) fail(ctx context.Context, id int64, reason string) {
	if err := a.cfg.Outbox.FailOutbox(ctx, Topic, id, reason); err != nil {
		a.log.Warn("recording an anchoring failure", "code", errs.CodeOf(err))
	}
}

// park takes an item the worker will never retry out of the queue, so it
// cannot hold up the items behind it; it still counts in the outbox depth.
func (a *Anchorer) park(ctx context.Context, id int64, reason string) {
	if err := a.cfg.Outbox.ParkOutbox(ctx, Topic, id, reason); err != nil {
		a.log.Warn("parking an anchoring item", "code", errs.CodeOf(err))
	}
}

// Receipt returns the stored receipt of an entry once the worker anchored
// it, ErrNotYet while it is pending, or ErrHashMismatch when a different
// hash holds its version on the ledger.
func (a *Anchorer) Receipt(ctx context.Context, e trust.Entry) (*trust.Receipt, error) {
	it, err := a.cfg.Outbox.GetOutbox(ctx, Topic, e.Key())
	if err != nil {
		return nil, err
	}
	if it.DoneAt.IsZero() {
		if strings.HasPrefix(it.LastError, permanent+ErrHashMismatch.Code) {
			return nil, ErrHashMismatch
		}
		return nil, ErrNotYet
	}
	var r trust.Receipt
	if err := json.Unmarshal(it.Result, &r); err != nil {
		return nil, ErrInternal.With("a stored receipt does not decode", err)
	}
	return &r, nil
}

// Latest returns the latest anchored version of (kind, subject) with a
// fresh receipt from the ledger.
func (a *Anchorer) Latest(ctx context.Context, kind, subject string) (*trust.Receipt, error) {
	return a.cfg.Ledger.Latest(ctx, kind, subject)
}

// LatestProof returns a latest-version proof of (kind, subject) that
// covers the block at minHeight (the height of the receipt it is served
// with), from the worker's ProofCache or the ledger. The proof is shared:
// callers must not modify it.
func (a *Anchorer) LatestProof(ctx context.Context, kind, subject string, minHeight int64) (*trust.LatestProof, error) {
	return a.proofs.Get(ctx, kind, subject, minHeight)
}

// Get returns one anchored version with a fresh receipt from the ledger.
func (a *Anchorer) Get(ctx context.Context, kind, subject string, version uint64) (*trust.Receipt, error) {
	if version == 0 {
		return nil, ErrInvalidEntry.With("the version must be at least 1", nil)
	}
	return a.cfg.Ledger.Get(ctx, kind, subject, version)
}

func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
