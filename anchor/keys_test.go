package anchor

import (
	"context"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
)

// TestKeysSignersWriteToTheLedger: the project's keys.Signer (ES256 and
// EdDSA) signs ledger transactions, and the writer ID is the signer's own
// RFC 7638 KeyID.
func TestKeysSignersWriteToTheLedger(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k, err := keys.Generate(alg)
			require.NoError(t, err)
			s, err := NewTxSigner(k)
			require.NoError(t, err)
			assert.Equal(t, k.KeyID(), s.ID(), "writer ID = keys.Signer.KeyID")

			ta := newTestApp(t, s)
			res := ta.block(ta.anchor(s, didEntry(1, 1), didEntry(1, 2)))
			require.Equal(t, uint32(0), res[0].Code, res[0].Log)
			ta.wantCode(tamperSig(t, ta.anchor(s, didEntry(1, 3))), codeOf(t, ErrBadSignature))
		})
	}
}

// TestGenesisRefusesDuplicateOperators: one key listed twice would count
// as two operators and let the "last operator" rule be bypassed.
func TestGenesisRefusesDuplicateOperators(t *testing.T) {
	op := newEdSigner(t)
	app, err := NewApp(dbm.NewMemDB(), testChain)
	require.NoError(t, err)
	gs := mustJSON(t, GenesisState{Operators: []WriterKey{op.Key(), op.Key()}})
	_, err = app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: gs})
	assert.Error(t, err)
}
