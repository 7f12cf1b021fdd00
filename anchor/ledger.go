package anchor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cometbft/cometbft/mempool"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	rpcclient "github.com/cometbft/cometbft/rpc/client"
	"github.com/cometbft/cometbft/types"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/trust"
)

// Ledger is a client of one node: it submits signed transactions, reads
// entries and assembles receipts. It works over the in-process client
// (Node.Client) or CometBFT's HTTP client alike.
type Ledger struct {
	c       rpcclient.Client
	chainID string
}

// NewLedger returns a client of the chain chainID through c.
func NewLedger(c rpcclient.Client, chainID string) *Ledger { return &Ledger{c: c, chainID: chainID} }

// ChainID is the chain this client talks to.
func (l *Ledger) ChainID() string { return l.chainID }

// Submit hands a signed transaction to the node's mempool (CheckTx). It
// returns nil once the transaction is accepted (or was already seen), the
// app's typed rejection (e.g. ErrVersionSkip, with "entry N" as detail),
// ErrMempoolFull when the node asks for back-pressure, or ErrUnavailable.
func (l *Ledger) Submit(ctx context.Context, tx []byte) error {
	res, err := l.c.BroadcastTxSync(ctx, tx)
	switch {
	case err == nil:
	case errors.Is(err, mempool.ErrTxInCache) || strings.Contains(err.Error(), mempool.ErrTxInCache.Error()):
		return nil
	case errors.As(err, new(mempool.ErrMempoolIsFull)) || strings.Contains(err.Error(), "mempool is full"):
		return ErrMempoolFull.With("", err)
	default:
		return ErrUnavailable.With("", err)
	}
	if res.Code != 0 {
		return errFromABCI(res.Code, res.Codespace, string(res.Data))
	}
	return nil
}

// AddWriter submits an operator-signed governance transaction that puts
// key on the allow-list with role (RoleWriter or RoleOperator), or changes
// its role and namespaces. A writer (not an operator) may open new
// subjects only inside its namespaces (subject prefixes, see
// trust.ValidNamespace); an operator may open any. A removed writer comes
// back with its old sequence number and its subjects. It returns once the
// mempool accepted the transaction; the change applies from the next
// block.
func (l *Ledger) AddWriter(ctx context.Context, operator *TxSigner, key WriterKey, role string, namespaces ...string) error {
	return l.govern(ctx, operator, Body{Type: TxAddWriter, Key: &key, Role: role, Namespaces: namespaces})
}

// SetOwner submits an operator-signed governance transaction that gives
// the anchored subject (kind, subject) to the writer with ID owner, which
// must be on the allow-list; from the next block only that writer may
// extend the subject. It is how a subject whose owner was removed (or lost
// its key) is handed over; the entries already anchored stay as they are.
func (l *Ledger) SetOwner(ctx context.Context, operator *TxSigner, kind, subject, owner string) error {
	return l.govern(ctx, operator, Body{Type: TxSetOwner, Kind: kind, Subject: subject, Target: owner})
}

// RemoveWriter submits an operator-signed governance transaction that takes
// the writer with ID id off the allow-list. The last operator cannot be
// removed (ErrInvalidGovernance).
func (l *Ledger) RemoveWriter(ctx context.Context, operator *TxSigner, id string) error {
	return l.govern(ctx, operator, Body{Type: TxRemoveWriter, Target: id})
}

func (l *Ledger) govern(ctx context.Context, operator *TxSigner, b Body) error {
	w, err := l.Writer(ctx, operator.ID())
	if err != nil {
		return err
	}
	b.ChainID, b.Seq = l.chainID, w.Seq+1
	tx, err := operator.Sign(b)
	if err != nil {
		return err
	}
	return l.Submit(ctx, tx)
}

// Writer returns the allow-list record of a writer.
func (l *Ledger) Writer(ctx context.Context, id string) (WriterInfo, error) {
	var w WriterInfo
	err := l.query(ctx, QueryWriter, writerQuery{ID: id}, &w)
	return w, err
}

// Lookup locates entries by reference (version 0: the latest). An entry
// that is not on the ledger comes back with Found false.
func (l *Ledger) Lookup(ctx context.Context, refs ...EntryRef) ([]Located, error) {
	var res entriesResult
	if err := l.query(ctx, QueryEntries, entriesQuery{Items: refs}, &res); err != nil {
		return nil, err
	}
	if len(res.Items) != len(refs) {
		return nil, ErrInternal.With("the ledger answered a different number of entries", nil)
	}
	return res.Items, nil
}

// Status reports the node's latest height and block time.
func (l *Ledger) Status(ctx context.Context) (int64, time.Time, error) {
	st, err := l.c.Status(ctx)
	if err != nil {
		return 0, time.Time{}, ErrUnavailable.With("", err)
	}
	return st.SyncInfo.LatestBlockHeight, st.SyncInfo.LatestBlockTime, nil
}

// ErrNotYet: the entry is not anchored yet (still in the outbox), or it is
// on the ledger but the header that signs its app hash (the next block) is
// not there yet. Retry later.
var ErrNotYet = errs.E(errs.Unavailable, "anchor_pending", "the entry is not anchored and signed over yet")

// Receipt assembles the receipt of a located entry: the inclusion proof in
// the tree as of the block that appended it, and the signed header of the
// next block, whose app hash is that tree's root.
func (l *Ledger) Receipt(ctx context.Context, loc Located) (*trust.Receipt, error) {
	return l.receipt(ctx, loc, nil)
}

// signedHeaders caches encoded signed headers by height while one batch of
// receipts is built (they all share the header after their block).
type signedHeaders map[int64]encodedHeader

type encodedHeader struct{ enc, validatorsHash []byte }

func (l *Ledger) receipt(ctx context.Context, loc Located, cache signedHeaders) (*trust.Receipt, error) {
	if !loc.Found {
		return nil, ErrNotFound
	}
	next := loc.Height + 1
	hdr, ok := cache[next]
	if !ok {
		res, err := l.c.Commit(ctx, &next)
		if err != nil {
			// The header was not there when asked. The status read after the
			// failure may already show it (h == next): that is still "not
			// yet", and a retry will find it.
			if h, _, serr := l.Status(ctx); serr == nil && h <= next {
				return nil, ErrNotYet
			}
			return nil, ErrUnavailable.With("", err)
		}
		enc, err := encodeSignedHeader(res.SignedHeader.ToProto())
		if err != nil {
			return nil, err
		}
		hdr = encodedHeader{enc: enc, validatorsHash: res.SignedHeader.ValidatorsHash}
		if cache != nil {
			cache[next] = hdr
		}
	}
	var p proofResult
	if err := l.query(ctx, QueryProof, proofQuery{LeafIndex: loc.LeafIndex, Height: loc.Height}, &p); err != nil {
		return nil, err
	}
	return &trust.Receipt{
		Entry:          loc.Entry,
		LeafIndex:      loc.LeafIndex,
		TreeSize:       p.TreeSize,
		InclusionProof: p.Proof,
		MapRoot:        p.MapRoot,
		Height:         loc.Height,
		SignedHeader:   hdr.enc,
		ValidatorsHash: hdr.validatorsHash,
	}, nil
}

// Latest returns the latest anchored version of (kind, subject) with its
// receipt, or ErrNotFound.
func (l *Ledger) Latest(ctx context.Context, kind, subject string) (*trust.Receipt, error) {
	return l.Get(ctx, kind, subject, 0)
}

// Get returns one anchored version (0: the latest) with its receipt, or
// ErrNotFound, or ErrNotYet right after it was anchored.
func (l *Ledger) Get(ctx context.Context, kind, subject string, version uint64) (*trust.Receipt, error) {
	locs, err := l.Lookup(ctx, EntryRef{Kind: kind, Subject: subject, Version: version})
	if err != nil {
		return nil, err
	}
	return l.Receipt(ctx, locs[0])
}

// LatestProof returns the proof, verifiable offline with trust.VerifyLatest,
// of the latest state of (kind, subject) (or that it was never anchored),
// as of the newest block whose successor's signed header the node has. It
// asks the app for the state after its last committed block H and takes
// the header H+1; when that header is not there yet (the next block is
// being made), it asks for the state after H-1 instead, whose header H is.
// It returns ErrNotYet when neither is available, or ErrUnavailable.
func (l *Ledger) LatestProof(ctx context.Context, kind, subject string) (*trust.LatestProof, error) {
	var p trust.LatestProof
	if err := l.query(ctx, QueryLatest, latestQuery{Kind: kind, Subject: subject}, &p); err != nil {
		return nil, err
	}
	next := p.Height + 1
	res, err := l.c.Commit(ctx, &next)
	if err != nil && p.Height > 1 {
		p = trust.LatestProof{}
		if err := l.query(ctx, QueryLatest, latestQuery{Kind: kind, Subject: subject, Height: next - 2}, &p); err != nil {
			return nil, err
		}
		next = p.Height + 1
		res, err = l.c.Commit(ctx, &next)
	}
	if err != nil {
		if h, _, serr := l.Status(ctx); serr == nil && h <= next {
			return nil, ErrNotYet
		}
		return nil, ErrUnavailable.With("", err)
	}
	if p.SignedHeader, err = encodeSignedHeader(res.SignedHeader.ToProto()); err != nil {
		return nil, err
	}
	p.ValidatorsHash = res.SignedHeader.ValidatorsHash
	return &p, nil
}

func (l *Ledger) query(ctx context.Context, path string, req, out any) error {
	data, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding a query: %w", err)
	}
	res, err := l.c.ABCIQuery(ctx, path, data)
	if err != nil {
		return ErrUnavailable.With("", err)
	}
	if res.Response.Code != 0 {
		return errFromABCI(res.Response.Code, res.Response.Codespace, res.Response.Info)
	}
	if err := jsonx.Unmarshal(res.Response.Value, out, false); err != nil {
		return ErrInternal.With("the ledger answered malformed JSON", err)
	}
	return nil
}

// header returns the signed header at height h (for tests and tools).
func (l *Ledger) header(ctx context.Context, h int64) (*types.SignedHeader, error) {
	res, err := l.c.Commit(ctx, &h)
	if err != nil {
		return nil, ErrUnavailable.With("", err)
	}
	return &res.SignedHeader, nil
}

// encodeSignedHeader is the protobuf encoding of a CometBFT signed header
// (header and commit) that receipts and latest-state proofs carry, and
// internal/trust decodes at the wire level.
func encodeSignedHeader(sh *cmtproto.SignedHeader) ([]byte, error) {
	b, err := sh.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the signed header: %w", err)
	}
	return b, nil
}
