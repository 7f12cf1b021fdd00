package dcc

import (
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryDSCOfTheKIDIsTried: two trusted DSCs under one kid (a kid is
// only 8 bytes, and lists do collide): the pass verifies with whichever
// signed it, whatever the order, and a pass neither signed is
// dcc_bad_signature.
func TestEveryDSCOfTheKIDIsTried(t *testing.T) {
	signer := dcctest.NewDSC(t, dcctest.DSCOptions{})
	otherEC := dcctest.NewDSC(t, dcctest.DSCOptions{})
	otherRSA := dcctest.NewDSC(t, dcctest.DSCOptions{RSA: true})
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	text := signer.Make(t, dcctest.Pass{})
	collide := func(t *testing.T, order ...*dcctest.Signer) *Trust {
		var tr Trust
		for _, s := range order {
			d, err := tr.AddDER(s.DER, "")
			require.NoError(t, err)
			if s != signer { // file it under the signer's kid
				l := tr.byKID[d.KID]
				tr.byKID[d.KID] = l[:len(l)-1]
				d.KID = [KIDSize]byte(signer.KID())
				tr.byKID[d.KID] = append(tr.byKID[d.KID], d)
			}
		}
		return &tr
	}
	for name, order := range map[string][]*dcctest.Signer{
		"signer last":  {otherRSA, otherEC, signer},
		"signer first": {signer, otherEC, otherRSA},
	} {
		t.Run(name, func(t *testing.T) {
			tr := collide(t, order...)
			require.Len(t, tr.byKID[[KIDSize]byte(signer.KID())], 3)
			c, err := Verify(text, tr, at)
			require.NoError(t, err)
			assert.Equal(t, signer.DER, c.DSC.Cert.Raw)
		})
	}
	tr := collide(t, otherEC, otherRSA)
	_, err := Verify(text, tr, at)
	assert.ErrorIs(t, err, ErrSignature)
}
