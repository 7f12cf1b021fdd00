package keys

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func TestSealData(t *testing.T) {
	k, err := NewDataKey()
	require.NoError(t, err)
	blob, err := SealData(k, []byte("given_name=Ada"), []byte("acct-1/cred-1"))
	require.NoError(t, err)
	assert.NotContains(t, string(blob), "Ada")
	pt, err := OpenData(k, blob, []byte("acct-1/cred-1"))
	require.NoError(t, err)
	assert.Equal(t, "given_name=Ada", string(pt))

	other, err := NewDataKey()
	require.NoError(t, err)
	flipped := append([]byte(nil), blob...)
	flipped[len(flipped)-1] ^= 1
	for name, try := range map[string]func() ([]byte, error){
		"other key":     func() ([]byte, error) { return OpenData(other, blob, []byte("acct-1/cred-1")) },
		"other context": func() ([]byte, error) { return OpenData(k, blob, []byte("acct-2/cred-1")) },
		"changed byte":  func() ([]byte, error) { return OpenData(k, flipped, []byte("acct-1/cred-1")) },
		"truncated":     func() ([]byte, error) { return OpenData(k, blob[:10], []byte("acct-1/cred-1")) },
		"not a blob":    func() ([]byte, error) { return OpenData(k, []byte("SSIK\x01xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := try()
			assert.Equal(t, "sealed_data_invalid", errs.CodeOf(err))
		})
	}
}
