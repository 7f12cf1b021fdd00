package dcc

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vectorsDir holds the upstream test data (../shared/vectors/passes,
// outside the repository).
const vectorsDir = "../../../shared/vectors/passes"

// reasonClass maps each refusal code to the reason classes of the
// upstream manifest.
var reasonClass = map[string]string{
	"dcc_bad_signature":  "signature",
	"dcc_key_usage":      "key-usage",
	"dcc_expired":        "time",
	"dcc_not_yet_valid":  "time",
	"dcc_iat_before_dsc": "time",
	"dcc_exp_after_dsc":  "time",
	"dcc_wrong_prefix":   "prefix",
	"dcc_bad_zlib":       "not-zlib",
}

type upstreamCase struct {
	File           string  `json:"file"`
	Description    string  `json:"description"`
	ValidationTime string  `json:"validation_clock"`
	Expected       string  `json:"expected"`
	Reason         *string `json:"reason"`
	HolderName     *string `json:"holder_name"`
}

// TestUpstreamVectors: every EU DCC test vector gets its expected result
// (and reason class) at its validation clock, with its own DSC trusted.
func TestUpstreamVectors(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join(vectorsDir, "dcc", "manifest.json"))
	if os.IsNotExist(err) {
		t.Skipf("no upstream vectors at %s (../shared is absent)", vectorsDir)
	}
	require.NoError(t, err)
	var cases []upstreamCase
	require.NoError(t, json.Unmarshal(manifest, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(filepath.Base(c.File), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(vectorsDir, c.File))
			require.NoError(t, err)
			var v struct {
				Prefix  string `json:"PREFIX"`
				TestCtx struct {
					Certificate string `json:"CERTIFICATE"`
				} `json:"TESTCTX"`
			}
			require.NoError(t, json.Unmarshal(raw, &v))
			der, err := base64.StdEncoding.DecodeString(v.TestCtx.Certificate)
			require.NoError(t, err)
			var trust Trust
			_, err = trust.AddDER(der, "")
			require.NoError(t, err)
			at, err := time.Parse(time.RFC3339, c.ValidationTime)
			require.NoError(t, err)
			cert, err := Verify(v.Prefix, &trust, at)
			if c.Expected == "valid" {
				require.NoError(t, err, c.Description)
				require.NotNil(t, c.HolderName)
				assert.Equal(t, *c.HolderName, cert.Name.Full())
				return
			}
			require.Error(t, err, c.Description)
			require.NotNil(t, c.Reason)
			assert.Equal(t, *c.Reason, reasonClass[errs.CodeOf(err)], "%s: got %s", c.Description, errs.CodeOf(err))
		})
	}
}
