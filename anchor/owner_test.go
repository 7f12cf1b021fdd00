package anchor

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/trust"
)

// listEntry is version v of list n under the namespace ns.
func listEntry(ns string, n int, v uint64) trust.Entry {
	return trust.Entry{Kind: trust.KindStatusList, Subject: fmt.Sprintf("%slists/%d", ns, n), Version: v,
		SHA256: digest(fmt.Sprintf("%s %d v%d", ns, n, v))}
}

const (
	nsA = "https://agency-a.example/status/"
	nsB = "https://agency-b.example/status/"
)

// ownershipApp is an app with an operator and two agency writers, A and B,
// each confined to its own namespace; B has opened its list 1.
func ownershipApp(t *testing.T) (ta *testApp, op, a, b *TxSigner) {
	t.Helper()
	op, a, b = newEdSigner(t), newEdSigner(t), newEdSigner(t)
	ta = newTestApp(t, op)
	for _, w := range []struct {
		s  *TxSigner
		ns string
	}{{a, nsA}, {b, nsB}} {
		k := w.s.Key()
		require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleWriter, Namespaces: []string{w.ns}}))[0].Code)
	}
	require.Equal(t, uint32(0), ta.block(ta.anchor(b, listEntry(nsB, 1, 1)))[0].Code)
	return ta, op, a, b
}

// resync sets the signers' next sequence numbers from the committed state
// (after a refused transaction, which used none).
func (ta *testApp) resync(ss ...*TxSigner) {
	ta.t.Helper()
	for _, s := range ss {
		w, err := getWriter(&overlay{db: ta.db}, s.ID())
		require.NoError(ta.t, err)
		ta.seq[s.ID()] = w.Seq
	}
}

func (ta *testApp) owner(kind, subject string) string {
	ta.t.Helper()
	s, ok, err := getState(&overlay{db: ta.db}, kind, subject)
	require.NoError(ta.t, err)
	require.True(ta.t, ok, "no state for %s", subject)
	return s.Owner
}

// TestOwnershipRefusesForeignWriters is the attack of issue 14 at the
// app: agency A's writer anchoring agency B's subject (or opening one in
// B's namespace) is refused in CheckTx and again in FinalizeBlock, as if a
// faulty proposer had put it in a block, and changes nothing; B goes on.
func TestOwnershipRefusesForeignWriters(t *testing.T) {
	cases := []struct {
		name string
		tx   func(ta *testApp, op, a, b *TxSigner) []byte
		want error
	}{
		{"A extends B's subject", func(ta *testApp, _, a, _ *TxSigner) []byte {
			return ta.anchor(a, listEntry(nsB, 1, 2))
		}, ErrNotSubjectOwner},
		{"A rewrites B's version 1", func(ta *testApp, _, a, _ *TxSigner) []byte {
			return ta.anchor(a, listEntry(nsB, 1, 1))
		}, ErrNotSubjectOwner},
		{"A opens a subject in B's namespace", func(ta *testApp, _, a, _ *TxSigner) []byte {
			return ta.anchor(a, listEntry(nsB, 2, 1))
		}, ErrOutsideNamespace},
		{"A opens a did-document (operators only)", func(ta *testApp, _, a, _ *TxSigner) []byte {
			return ta.anchor(a, didEntry(1, 1))
		}, ErrOutsideNamespace},
		{"A's batch with one foreign entry", func(ta *testApp, _, a, _ *TxSigner) []byte {
			return ta.anchor(a, listEntry(nsA, 1, 1), listEntry(nsB, 1, 2), listEntry(nsA, 2, 1))
		}, ErrNotSubjectOwner},
		{"the operator extends B's subject without taking it over", func(ta *testApp, op, _, _ *TxSigner) []byte {
			return ta.anchor(op, listEntry(nsB, 1, 2))
		}, ErrNotSubjectOwner},
		{"a writer hands a subject over", func(ta *testApp, _, a, b *TxSigner) []byte {
			return ta.sign(b, Body{Type: TxSetOwner, Kind: trust.KindStatusList, Subject: nsB + "lists/1", Target: a.ID()})
		}, ErrNotOperator},
		{"set_owner of a subject never anchored", func(ta *testApp, op, a, _ *TxSigner) []byte {
			return ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindStatusList, Subject: nsB + "lists/9", Target: a.ID()})
		}, ErrNotFound},
		{"set_owner to a writer not on the allow-list", func(ta *testApp, op, _, _ *TxSigner) []byte {
			return ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindStatusList, Subject: nsB + "lists/1", Target: newEdSigner(t).ID()})
		}, ErrInvalidGovernance},
		{"set_owner to the owner", func(ta *testApp, op, _, b *TxSigner) []byte {
			return ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindStatusList, Subject: nsB + "lists/1", Target: b.ID()})
		}, ErrInvalidGovernance},
		{"an operator with namespaces", func(ta *testApp, op, _, _ *TxSigner) []byte {
			k := newEdSigner(t).Key()
			return ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleOperator, Namespaces: []string{nsA}})
		}, ErrMalformedTx},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ta, op, a, b := ownershipApp(t)
			ta.wantCode(tc.tx(ta, op, a, b), codeOf(t, tc.want))
			ta.resync(op, a, b)
			assert.Equal(t, b.ID(), ta.owner(trust.KindStatusList, nsB+"lists/1"))
			// B's next version still anchors.
			require.Equal(t, uint32(0), ta.block(ta.anchor(b, listEntry(nsB, 1, 2)))[0].Code)
			loc, err := ta.app.locate(EntryRef{Kind: trust.KindStatusList, Subject: nsB + "lists/1"})
			require.NoError(t, err)
			assert.Equal(t, uint64(2), loc.Entry.Version)
			assert.Equal(t, b.ID(), loc.Entry.Writer)
			assert.Equal(t, b.ID(), loc.Entry.Owner, "the leaf records the owner the ledger determined")
		})
	}
}

// TestOwnershipInACraftedBlock finalizes a block that a faulty proposer
// filled with A's foreign entry between two good transactions: only the
// good ones are appended.
func TestOwnershipInACraftedBlock(t *testing.T) {
	ta, _, a, b := ownershipApp(t)
	size := ta.app.meta.Size
	res := ta.block(ta.anchor(a, listEntry(nsA, 1, 1)), ta.anchor(a, listEntry(nsB, 1, 2)), ta.anchor(b, listEntry(nsB, 1, 2)))
	require.Len(t, res, 3)
	assert.Equal(t, uint32(0), res[0].Code)
	assert.Equal(t, ErrNotSubjectOwner.Code, res[1].Log)
	assert.Equal(t, "entry 0", res[1].Info)
	assert.Equal(t, uint32(0), res[2].Code)
	assert.Equal(t, size+2, ta.app.meta.Size, "the foreign entry is not in the log")
	loc, err := ta.app.locate(EntryRef{Kind: trust.KindStatusList, Subject: nsB + "lists/1", Version: 2})
	require.NoError(t, err)
	assert.Equal(t, b.ID(), loc.Entry.Writer)
	assert.Equal(t, listEntry(nsB, 1, 2).SHA256, loc.Entry.SHA256)
}

// TestOwnershipGovernance: an operator hands a subject over (the way to
// recover a subject whose owner was removed); the new owner extends it,
// the old one no longer may, history stays, and a re-added writer finds
// the subjects it still owns.
func TestOwnershipGovernance(t *testing.T) {
	ta, op, a, b := ownershipApp(t)
	subject := nsB + "lists/1"

	// B is removed: its subject is frozen, nobody may extend it.
	require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxRemoveWriter, Target: b.ID()}))[0].Code)
	ta.wantCode(ta.anchor(b, listEntry(nsB, 1, 2)), codeOf(t, ErrWriterNotAllowed))
	ta.wantCode(ta.anchor(a, listEntry(nsB, 1, 2)), codeOf(t, ErrNotSubjectOwner))
	ta.resync(a, b)

	// The operator gives it to A, which extends it from where it is.
	require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindStatusList, Subject: subject, Target: a.ID()}))[0].Code)
	assert.Equal(t, a.ID(), ta.owner(trust.KindStatusList, subject))
	require.Equal(t, uint32(0), ta.block(ta.anchor(a, listEntry(nsB, 1, 2)))[0].Code)
	v1, err := ta.app.locate(EntryRef{Kind: trust.KindStatusList, Subject: subject, Version: 1})
	require.NoError(t, err)
	assert.Equal(t, b.ID(), v1.Entry.Writer, "B's entry stays in the log as B wrote it")

	// B back on the allow-list owns nothing it gave away...
	k := b.Key()
	require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxAddWriter, Key: &k, Role: RoleWriter, Namespaces: []string{nsB}}))[0].Code)
	ta.wantCode(ta.anchor(b, listEntry(nsB, 1, 3)), codeOf(t, ErrNotSubjectOwner))
	ta.resync(b)
	// ...and the operator takes the subject over itself to extend it.
	require.Equal(t, uint32(0), ta.block(ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindStatusList, Subject: subject, Target: op.ID()}))[0].Code)
	require.Equal(t, uint32(0), ta.block(ta.anchor(op, listEntry(nsB, 1, 3)))[0].Code)
	// A set_owner and an anchor of the new owner in one block: the block's
	// order decides.
	res := ta.block(ta.sign(op, Body{Type: TxSetOwner, Kind: trust.KindStatusList, Subject: subject, Target: b.ID()}),
		ta.anchor(b, listEntry(nsB, 1, 4)), ta.anchor(op, listEntry(nsB, 1, 5)))
	assert.Equal(t, uint32(0), res[0].Code)
	assert.Equal(t, uint32(0), res[1].Code)
	assert.Equal(t, ErrNotSubjectOwner.Code, res[2].Log)
}

func TestNamespaces(t *testing.T) {
	for _, tc := range []struct {
		ns string
		ok bool
	}{
		{"https://health.example/status/", true},
		{"https://health.example/", true},
		{"http://127.0.0.1:8080/status/", true},
		{"did:web:health.example:", true},
		{"did:psr:", true},
		{"https://health.example", false},        // no path: would cover https://health.example.evil/
		{"https://health.example/status", false}, // not at a boundary: would cover /status-forged
		{"https:///status/", false},
		{"did:psr", false},
		{"did::x:", false},
		{"did:PSR:", false},
		{"ftp://x.example/", false},
		{"https://x.example/\u00e9/", false},
		{"", false},
	} {
		assert.Equal(t, tc.ok, trust.ValidNamespace(tc.ns), tc.ns)
	}
	w := &writer{Role: RoleWriter, Namespaces: []string{nsA}}
	assert.True(t, w.mayOpen(nsA+"lists/1"))
	assert.False(t, w.mayOpen("https://agency-a.example/statusx/lists/1"))
	assert.False(t, (&writer{Role: RoleWriter}).mayOpen(nsA+"lists/1"), "a writer with no namespace opens nothing")
	assert.True(t, (&writer{Role: RoleOperator}).mayOpen("did:psr:anything"))
}
