package anchor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

const testChain = "test-chain"

// testApp drives the ABCI application directly, block by block, the way
// CometBFT does.
type testApp struct {
	t      testing.TB
	app    *App
	db     dbm.DB
	height int64
	seq    map[string]uint64
	blocks [][][]byte  // every block's txs, to replay into another app
	ops    []*TxSigner // the genesis operators
}

func newTestApp(t testing.TB, ops ...*TxSigner) *testApp {
	t.Helper()
	return newTestAppOn(t, dbm.NewMemDB(), ops...)
}

// newTestAppOn is newTestApp on a given (empty) database.
func newTestAppOn(t testing.TB, db dbm.DB, ops ...*TxSigner) *testApp {
	t.Helper()
	app, err := NewApp(db, testChain)
	require.NoError(t, err)
	var keys []WriterKey
	for _, op := range ops {
		keys = append(keys, op.Key())
	}
	gs, err := json.Marshal(GenesisState{Operators: keys})
	require.NoError(t, err)
	_, err = app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: gs})
	require.NoError(t, err)
	ta := &testApp{t: t, app: app, db: db, seq: map[string]uint64{}, ops: ops}
	ta.block()
	return ta
}

// block finalizes and commits one block with txs and returns the results.
func (ta *testApp) block(txs ...[]byte) []*abci.ExecTxResult {
	ta.t.Helper()
	ta.height++
	ta.blocks = append(ta.blocks, txs)
	res, err := ta.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{
		Height: ta.height, Time: time.Unix(1700000000+ta.height, 0), Txs: txs})
	require.NoError(ta.t, err)
	_, err = ta.app.Commit(context.Background(), &abci.RequestCommit{})
	require.NoError(ta.t, err)
	return res.TxResults
}

func (ta *testApp) checkTx(tx []byte) *abci.ResponseCheckTx {
	ta.t.Helper()
	res, err := ta.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
	require.NoError(ta.t, err)
	return res
}

// sign signs a body with the signer's next sequence number (tracked here).
func (ta *testApp) sign(s *TxSigner, b Body) []byte {
	ta.t.Helper()
	if b.ChainID == "" {
		b.ChainID = testChain
	}
	if b.Seq == 0 {
		ta.seq[s.ID()]++
		b.Seq = ta.seq[s.ID()]
	}
	tx, err := s.Sign(b)
	require.NoError(ta.t, err)
	return tx
}

func (ta *testApp) anchor(s *TxSigner, es ...trust.Entry) []byte {
	return ta.sign(s, Body{Type: TxAnchor, Entries: es})
}

func (ta *testApp) appHash() []byte {
	ta.app.mu.Lock()
	defer ta.app.mu.Unlock()
	return ta.app.meta.AppHash
}

// wantCode asserts that tx is rejected with code in CheckTx and again in
// FinalizeBlock (as if a faulty proposer had included it), and that the
// log root does not move.
func (ta *testApp) wantCode(tx []byte, want *ErrorCode) {
	ta.t.Helper()
	ct := ta.checkTx(tx)
	assert.Equal(ta.t, want.Code, ct.Log, "CheckTx code")
	assert.Equal(ta.t, Codespace, ct.Codespace)
	assert.Equal(ta.t, want.abci, ct.Code)
	before := ta.appHash()
	res := ta.block(tx)
	require.Len(ta.t, res, 1)
	assert.Equal(ta.t, want.Code, res[0].Log, "FinalizeBlock code")
	assert.Equal(ta.t, want.abci, res[0].Code)
	assert.Equal(ta.t, before, ta.appHash(), "a rejected tx must not change the log")
}

// ErrorCode pairs a stable code string with its ABCI number.
type ErrorCode struct {
	Code string
	abci uint32
}

func codeOf(t *testing.T, e interface{ Error() string }) *ErrorCode {
	t.Helper()
	n, name := abciCode(e.(error))
	return &ErrorCode{Code: name, abci: n}
}

func TestAppAcceptsBatchAndExtendsVersions(t *testing.T) {
	op := newEdSigner(t)
	ta := newTestApp(t, op)
	// One batch may carry consecutive versions of one subject.
	res := ta.block(ta.anchor(op, didEntry(1, 1), didEntry(1, 2), didEntry(2, 1)))
	require.Len(t, res, 1)
	require.Equal(t, uint32(0), res[0].Code, res[0].Log)
	loc, err := ta.app.locate(EntryRef{Kind: trust.KindDIDDocument, Subject: "did:ssi:issuer-1"})
	require.NoError(t, err)
	assert.Equal(t, uint64(2), loc.Entry.Version)
	assert.Equal(t, uint64(1), loc.LeafIndex)
	assert.Equal(t, time.Unix(1700000002, 0).UTC(), loc.Entry.Time, "block time, not wall clock")
	assert.Equal(t, int64(2), loc.Height)
}

func TestAppRejections(t *testing.T) {
	op := newEdSigner(t)
	stranger := newEdSigner(t)

	cases := []struct {
		name string
		tx   func(ta *testApp) []byte
		want error
	}{
		{"writer not on the allow-list", func(ta *testApp) []byte {
			return ta.anchor(stranger, didEntry(1, 1))
		}, ErrWriterNotAllowed},
		{"bad signature", func(ta *testApp) []byte {
			return tamperSig(t, ta.anchor(op, didEntry(1, 1)))
		}, ErrBadSignature},
		{"body changed after signing", func(ta *testApp) []byte {
			tx := ta.anchor(op, didEntry(1, 1))
			return []byte(strings.Replace(string(tx), `"version":1`, `"version":2`, 1))
		}, ErrBadSignature},
		{"signed by another key than the writer's", func(ta *testApp) []byte {
			return forgeWriter(t, ta.anchor(stranger, didEntry(1, 1)), op.ID())
		}, ErrBadSignature},
		{"replayed transaction", func(ta *testApp) []byte {
			tx := ta.anchor(op, didEntry(1, 1))
			res := ta.block(tx)
			require.Equal(t, uint32(0), res[0].Code)
			return tx
		}, ErrReplayedTx},
		{"sequence skips ahead", func(ta *testApp) []byte {
			return ta.sign(op, Body{Type: TxAnchor, Seq: 5, Entries: []trust.Entry{didEntry(1, 1)}})
		}, ErrSequenceGap},
		{"version skip", func(ta *testApp) []byte {
			return ta.anchor(op, didEntry(1, 2))
		}, ErrVersionSkip},
		{"version skip after an anchored one", func(ta *testApp) []byte {
			require.Equal(t, uint32(0), ta.block(ta.anchor(op, didEntry(1, 1)))[0].Code)
			return ta.anchor(op, didEntry(1, 3))
		}, ErrVersionSkip},
		{"version repeat", func(ta *testApp) []byte {
			require.Equal(t, uint32(0), ta.block(ta.anchor(op, didEntry(1, 1)))[0].Code)
			return ta.anchor(op, didEntry(1, 1))
		}, ErrVersionRepeat},
		{"version repeat inside one batch", func(ta *testApp) []byte {
			return ta.anchor(op, didEntry(1, 1), didEntry(1, 1))
		}, ErrVersionRepeat},
		{"oversized subject", func(ta *testApp) []byte {
			return ta.anchor(op, trust.Entry{Kind: trust.KindStatusList, Subject: "https://x.example/" + strings.Repeat("a", trust.MaxSubjectLen),
				Version: 1, SHA256: digest("x")})
		}, ErrFieldTooLarge},
		{"oversized hash", func(ta *testApp) []byte {
			return ta.anchor(op, trust.Entry{Kind: trust.KindStatusList, Subject: "https://x.example/1", Version: 1, SHA256: digest("x") + "00"})
		}, ErrFieldTooLarge},
		{"too many entries", func(ta *testApp) []byte {
			es := make([]trust.Entry, MaxEntriesPerTx+1)
			for i := range es {
				es[i] = didEntry(i, 1)
			}
			return ta.anchor(op, es...)
		}, ErrFieldTooLarge},
		{"personal data as subject", func(ta *testApp) []byte {
			return ta.anchor(op, trust.Entry{Kind: trust.KindAccreditation, Subject: "Jane Doe, born 1990-01-01", Version: 1, SHA256: digest("x")})
		}, ErrInvalidEntry},
		{"did-document subject that is not a DID", func(ta *testApp) []byte {
			return ta.anchor(op, trust.Entry{Kind: trust.KindDIDDocument, Subject: "https://x.example/", Version: 1, SHA256: digest("x")})
		}, ErrInvalidEntry},
		{"unknown kind", func(ta *testApp) []byte {
			return ta.anchor(op, trust.Entry{Kind: "medical-record", Subject: "did:ssi:x", Version: 1, SHA256: digest("x")})
		}, ErrInvalidEntry},
		{"writer-set time", func(ta *testApp) []byte {
			e := didEntry(1, 1)
			e.Time = time.Unix(1, 0)
			return ta.anchor(op, e)
		}, ErrMalformedTx},
		{"another chain", func(ta *testApp) []byte {
			return ta.sign(op, Body{ChainID: "other-chain", Type: TxAnchor, Entries: []trust.Entry{didEntry(1, 1)}})
		}, ErrWrongChain},
		{"not JSON", func(*testApp) []byte { return []byte("\x00\x01garbage") }, ErrMalformedTx},
		{"writer adds a writer", func(ta *testApp) []byte {
			w := newEdSigner(t)
			k := w.Key()
			require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleWriter}))[0].Code)
			k2 := stranger.Key()
			return ta.sign(w, Body{Type: TxAddWriter, Key: &k2, Role: RoleWriter})
		}, ErrNotOperator},
		{"removing the last operator", func(ta *testApp) []byte {
			return ta.sign(op, Body{Type: TxRemoveWriter, Target: op.ID()})
		}, ErrInvalidGovernance},
		{"writer-set owner", func(ta *testApp) []byte {
			e := didEntry(1, 1)
			e.Owner = op.ID()
			return ta.anchor(op, e)
		}, ErrMalformedTx},
		{"anchor carrying namespaces", func(ta *testApp) []byte {
			return ta.sign(op, Body{Type: TxAnchor, Entries: []trust.Entry{didEntry(1, 1)}, Namespaces: []string{"did:ssi:"}})
		}, ErrMalformedTx},
		{"namespace not at a boundary", func(ta *testApp) []byte {
			k := stranger.Key()
			return ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleWriter, Namespaces: []string{"https://x.example/status"}})
		}, ErrMalformedTx},
		{"set_owner carrying entries", func(ta *testApp) []byte {
			return ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindDIDDocument, Subject: "did:ssi:x", Target: op.ID(), Entries: []trust.Entry{didEntry(1, 1)}})
		}, ErrMalformedTx},
		{"set_owner of a did-document that is not a DID", func(ta *testApp) []byte {
			return ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindDIDDocument, Subject: "https://x.example/", Target: op.ID()})
		}, ErrInvalidEntry},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t, op)
			ta.wantCode(tc.tx(ta), codeOf(t, tc.want))
		})
	}
}

func tamperSig(t *testing.T, tx []byte) []byte {
	var env map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(tx, &env))
	var sig []byte
	require.NoError(t, json.Unmarshal(env["sig"], &sig))
	sig[0] ^= 1
	env["sig"], _ = json.Marshal(sig)
	out, err := json.Marshal(env)
	require.NoError(t, err)
	return out
}

// forgeWriter re-labels a transaction signed by one key as coming from
// another writer (the signature no longer matches the writer's key).
func forgeWriter(t *testing.T, tx []byte, writer string) []byte {
	var env struct {
		Body json.RawMessage `json:"body"`
		Sig  []byte          `json:"sig"`
	}
	require.NoError(t, json.Unmarshal(tx, &env))
	var b Body
	require.NoError(t, json.Unmarshal(env.Body, &b))
	b.Writer = writer
	b.Seq = 1
	env.Body, _ = json.Marshal(b)
	out, err := json.Marshal(env)
	require.NoError(t, err)
	return out
}

func TestGovernanceAddRemoveWriter(t *testing.T) {
	op := newEdSigner(t)
	ta := newTestApp(t, op)

	// An ES256 writer (as a keys.Signer on P-256 would be) is added by the
	// operator and may then anchor.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	w, err := NewTxSigner(ec)
	require.NoError(t, err)
	k := w.Key()
	require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleWriter, Namespaces: []string{"did:ssi:"}}))[0].Code)
	old := ta.anchor(w, didEntry(7, 1))
	require.Equal(t, uint32(0), ta.block(old)[0].Code)

	// Removed: its transactions are refused.
	require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxRemoveWriter, Target: w.ID()}))[0].Code)
	ta.wantCode(ta.anchor(w, didEntry(7, 2)), codeOf(t, ErrWriterNotAllowed))

	// Re-added: its sequence number survived, so the old transaction is
	// still a replay. It still owns its subject (re-added with no
	// namespace, it could open none).
	require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleWriter}))[0].Code)
	ta.wantCode(old, codeOf(t, ErrReplayedTx))
	ta.seq[w.ID()] = 1 // the rejected seq-2 attempt above did not count
	require.Equal(t, uint32(0), ta.block(ta.anchor(w, didEntry(7, 2)))[0].Code)
}

func TestAppRestartResumesFromCommit(t *testing.T) {
	op := newEdSigner(t)
	ta := newTestApp(t, op)
	for i := range 5 {
		require.Equal(t, uint32(0), ta.block(ta.anchor(op, didEntry(i, 1), didEntry(i, 2)))[0].Code)
	}
	// A block finalized but not committed is lost on restart, as CometBFT
	// expects: it replays it.
	_, err := ta.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: ta.height + 1,
		Time: time.Unix(1800000000, 0), Txs: [][]byte{ta.anchor(op, didEntry(9, 1))}})
	require.NoError(t, err)

	app2, err := NewApp(ta.db, testChain)
	require.NoError(t, err)
	info, err := app2.Info(context.Background(), &abci.RequestInfo{})
	require.NoError(t, err)
	assert.Equal(t, ta.height, info.LastBlockHeight)
	assert.Equal(t, ta.appHash(), info.LastBlockAppHash)
	_, found, err := getState(&overlay{db: ta.db}, trust.KindDIDDocument, "did:ssi:issuer-9")
	require.NoError(t, err)
	assert.False(t, found, "uncommitted state must not persist")

	// The resumed app computes the same roots as one that never stopped.
	ta2 := &testApp{t: t, app: app2, db: ta.db, height: ta.height, seq: ta.seq, blocks: ta.blocks}
	ta2.block(ta.anchor(op, didEntry(3, 3)))

	ref := newTestApp(t, op)
	for _, txs := range ta2.blocks[1:] {
		ref.block(txs...)
	}
	assert.Equal(t, ta2.height, ref.height)
	assert.Equal(t, ref.appHash(), ta2.appHash(), "same blocks, same app hash")
}

func TestCheckTxTracksMempoolState(t *testing.T) {
	op := newEdSigner(t)
	ta := newTestApp(t, op)
	tx1 := ta.anchor(op, didEntry(1, 1))
	tx2 := ta.anchor(op, didEntry(1, 2))
	// Both pass CheckTx before any block: the second builds on the first.
	assert.Equal(t, uint32(0), ta.checkTx(tx1).Code)
	assert.Equal(t, uint32(0), ta.checkTx(tx2).Code)
	assert.Equal(t, ErrReplayedTx.Code, ta.checkTx(tx1).Log, "the mempool already holds this sequence number")
	// After the block with tx1 commits, a recheck of tx2 still passes.
	ta.block(tx1)
	assert.Equal(t, uint32(0), ta.checkTx(tx2).Code)
}

// TestAppRefusesAnOldState: the state of a chain whose app hash covered
// the log only (format 1, before ownership and the map) is refused, not
// resumed: replaying it would compute other app hashes and fork.
func TestAppRefusesAnOldState(t *testing.T) {
	db := dbm.NewMemDB()
	old := `{"height":12,"app_hash":"` + strings.Repeat("A", 43) + `=","size":3,"range":[],"operators":1}`
	require.NoError(t, db.Set([]byte{pMeta}, []byte(old)))
	_, err := NewApp(db, testChain)
	assert.ErrorIs(t, err, ErrOldState)

	// A state this version wrote resumes.
	ta := newTestApp(t, newEdSigner(t))
	_, err = NewApp(ta.db, testChain)
	assert.NoError(t, err)
}
