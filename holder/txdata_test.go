package holder

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
)

// TestTransactionDataUnambiguous: a transaction data object is taken only
// when it reads one way. A duplicate member (the consent would show the
// last, a verifier reading the first would hold the citizen to another
// summary, amount or type) or anything after the object is refused with
// invalid_transaction_data; the same object without them is taken.
func TestTransactionDataUnambiguous(t *testing.T) {
	q, err := dcql.Parse([]byte(`{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["urn:v"]}}]}`))
	require.NoError(t, err)
	parse := func(obj string) ([]txData, error) {
		return parseTransactionData(jose.Claims{"transaction_data": []any{base64.RawURLEncoding.EncodeToString([]byte(obj))}}, q, DefaultTransactionDataTypes)
	}
	const head = `{"type":"urn:ssi:transaction-data:confirmation:1","credential_ids":["pass"],"reference":"r"`
	tds, err := parse(head + `,"summary":"Pay 5 EUR","amount":"5"}`)
	require.NoError(t, err)
	require.Len(t, tds, 1)
	assert.Equal(t, map[string]any{"reference": "r", "summary": "Pay 5 EUR", "amount": "5"}, tds[0].view.Fields)
	for name, obj := range map[string]string{
		"a duplicate field":        head + `,"summary":"Pay 5 EUR","amount":"5","amount":"5000"}`,
		"a duplicate type":         head + `,"summary":"s","type":"urn:ssi:transaction-data:confirmation:1"}`,
		"a bracket after it":       head + `,"summary":"s"}]`,
		"a second object":          head + `,"summary":"s"}{}`,
		"invalid UTF-8 in a value": head + `,"summary":"s` + "\xff" + `"}`,
	} {
		_, err := parse(obj)
		assert.Equal(t, "invalid_transaction_data", errs.CodeOf(err), name)
	}
}
