package anchor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/trust"
)

// ABCI query paths. Requests and responses are JSON.
const (
	QueryEntries = "/entries" // entriesQuery → entriesResult
	QueryProof   = "/proof"   // proofQuery → proofResult
	QueryWriter  = "/writer"  // writerQuery → WriterInfo
	QueryLatest  = "/latest"  // latestQuery → trust.LatestProof without its signed header
)

// EntryRef names one entry; Version 0 means the latest version.
type EntryRef struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Version uint64 `json:"version"`
}

type entriesQuery struct {
	Items []EntryRef `json:"items"`
}

// Located is an entry found on the ledger: where it is in the log and the
// height of the block that appended it.
type Located struct {
	Found     bool        `json:"found"`
	Entry     trust.Entry `json:"entry"`
	LeafIndex uint64      `json:"leaf_index"`
	Height    int64       `json:"height"`
}

type entriesResult struct {
	Items []Located `json:"items"`
}

type proofQuery struct {
	LeafIndex uint64 `json:"leaf_index"`
	Height    int64  `json:"height"`
}

type proofResult struct {
	TreeSize uint64   `json:"tree_size"`
	Proof    [][]byte `json:"proof"`
	MapRoot  []byte   `json:"map_root"` // the map root at the same height, for the app hash
}

// latestQuery asks for the state of a subject after block Height (0: the
// last committed block; only the last few heights can be proven).
type latestQuery struct {
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Height  int64  `json:"height"`
}

type writerQuery struct {
	ID string `json:"id"`
}

// WriterInfo is an allow-list record as a query returns it.
type WriterInfo struct {
	ID         string    `json:"id"`
	Key        WriterKey `json:"key"`
	Role       string    `json:"role"`
	Namespaces []string  `json:"namespaces,omitempty"`
	Seq        uint64    `json:"seq"`
	Removed    bool      `json:"removed"`
}

// Query answers from the committed state only.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, err := a.query(req.Path, req.Data)
	if err != nil {
		code, name := abciCode(err)
		return &abci.ResponseQuery{Code: code, Codespace: Codespace, Log: name, Info: detailOf(err), Height: a.meta.Height}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding a query result: %w", err)
	}
	return &abci.ResponseQuery{Code: abci.CodeTypeOK, Value: b, Height: a.meta.Height}, nil
}

func (a *App) query(path string, data []byte) (any, error) {
	if len(data) > MaxTxBytes {
		return nil, ErrFieldTooLarge
	}
	switch path {
	case QueryEntries:
		var q entriesQuery
		if err := jsonx.Unmarshal(data, &q, true); err != nil {
			return nil, ErrMalformedTx.With("", err)
		}
		if len(q.Items) > MaxEntriesPerTx {
			return nil, ErrFieldTooLarge.With("too many items", nil)
		}
		res := entriesResult{Items: make([]Located, len(q.Items))}
		for i, ref := range q.Items {
			l, err := a.locate(ref)
			if err != nil {
				return nil, err
			}
			res.Items[i] = l
		}
		return res, nil
	case QueryProof:
		var q proofQuery
		if err := jsonx.Unmarshal(data, &q, true); err != nil {
			return nil, ErrMalformedTx.With("", err)
		}
		if q.Height <= 0 || q.Height > a.meta.Height {
			return nil, ErrNotFound.With("no committed block at that height", nil)
		}
		rec, ok, err := getHeight(&overlay{db: a.db}, q.Height)
		if err != nil {
			return nil, err
		}
		if !ok || q.LeafIndex >= rec.Size {
			return nil, ErrNotFound.With("the leaf is not in the tree at that height", nil)
		}
		p, err := inclusionProof(a.db, q.LeafIndex, rec.Size)
		if err != nil {
			return nil, err
		}
		return proofResult{TreeSize: rec.Size, Proof: p, MapRoot: rec.MapRoot}, nil
	case QueryLatest:
		var q latestQuery
		if err := jsonx.Unmarshal(data, &q, true); err != nil {
			return nil, ErrMalformedTx.With("", err)
		}
		return a.proveLatest(q.Kind, q.Subject, q.Height)
	case QueryWriter:
		var q writerQuery
		if err := jsonx.Unmarshal(data, &q, true); err != nil {
			return nil, ErrMalformedTx.With("", err)
		}
		if !trust.ValidWriterID(q.ID) {
			return nil, ErrMalformedTx.With("not a writer ID", nil)
		}
		w, err := getWriter(&overlay{db: a.db}, q.ID)
		if err != nil {
			return nil, err
		}
		if w == nil {
			return nil, ErrNotFound.With("no such writer", nil)
		}
		return WriterInfo(*w), nil
	}
	return nil, ErrMalformedTx.With("unknown query path", nil)
}

func (a *App) locate(ref EntryRef) (Located, error) {
	if len(ref.Kind) > trust.MaxKindLen || len(ref.Subject) > trust.MaxSubjectLen {
		return Located{}, ErrFieldTooLarge
	}
	st := &overlay{db: a.db}
	v := ref.Version
	if v == 0 {
		s, ok, err := getState(st, ref.Kind, ref.Subject)
		if err != nil || !ok {
			return Located{}, err
		}
		v = s.Version
	}
	idx, ok, err := getU64(st, entryKey(ref.Kind, ref.Subject, v))
	if err != nil || !ok {
		return Located{}, err
	}
	l, ok, err := getLeaf(a.db, idx)
	if err != nil {
		return Located{}, err
	}
	if !ok {
		return Located{}, errors.New("an indexed leaf is missing")
	}
	return Located{Found: true, Entry: l.Entry, LeafIndex: idx, Height: l.Height}, nil
}
