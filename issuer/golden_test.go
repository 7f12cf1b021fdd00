package issuer

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMetadataGolden holds the Credential Issuer Metadata and the
// Authorization Server Metadata of the dev configurations to golden files
// (refresh with -update).
func TestMetadataGolden(t *testing.T) {
	sg, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	health, benefits := DevConfigs(vaccVCT, benefitsVCT)
	svc, err := New(Config{Store: storetest.SQLite(t), PublicURL: "https://issuer.example", Tenants: []Tenant{
		{ID: "health", DID: "did:psr:health", KeyID: "did:psr:health#issuing-1", Signer: sg, Configs: health},
		{ID: "benefits", DID: "did:psr:benefits", KeyID: "did:psr:benefits#issuing-1", Signer: sg, Configs: benefits},
	}})
	require.NoError(t, err)
	for _, tenant := range []string{"health", "benefits"} {
		md, err := svc.Metadata(tenant)
		require.NoError(t, err)
		as, err := svc.AuthServerMetadata(tenant)
		require.NoError(t, err)
		got, err := json.MarshalIndent(map[string]any{"openid-credential-issuer": md, "oauth-authorization-server": as}, "", "  ")
		require.NoError(t, err)
		path := filepath.Join("testdata", "metadata-"+tenant+".golden")
		if *update {
			require.NoError(t, os.MkdirAll("testdata", 0o755))
			require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "run with -update to create the golden file")
		assert.JSONEq(t, string(want), string(got), tenant)
	}
	_, err = svc.Metadata("nobody")
	assert.ErrorIs(t, err, ErrUnknownIssuer)
}
