package dcc

import (
	"testing"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/passcheck/passvectors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUpstreamVectors: every EU DCC test vector gets its expected result
// (and reason class) at its validation clock, with its own DSC trusted.
func TestUpstreamVectors(t *testing.T) {
	for _, c := range passvectors.DCC(t) {
		t.Run(c.Name, func(t *testing.T) {
			var trust Trust
			_, err := trust.AddDER(c.DSC, "")
			require.NoError(t, err)
			cert, err := Verify(c.Text, &trust, c.At)
			if c.Valid {
				require.NoError(t, err, c.Description)
				assert.Equal(t, c.Holder, cert.Name.Full())
				return
			}
			require.Error(t, err, c.Description)
			assert.Equal(t, c.Reason, passvectors.ReasonClass[errs.CodeOf(err)], "%s: got %s", c.Description, errs.CodeOf(err))
		})
	}
}
