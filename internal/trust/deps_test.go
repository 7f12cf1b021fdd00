package trust_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies holds the package to its doc: a consumer (a verifier, a
// wallet, a page in a browser) imports it without pulling in a service, the
// ledger's node side, the store, SQL, a test server, testify or CometBFT's
// types package (whose non-test test_util.go imports testify and so
// net/http/httptest: header.go checks headers from the protobuf types
// instead). There is no exception.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 || !slices.Contains(deps, "github.com/cometbft/cometbft/proto/tendermint/types") {
		t.Fatalf("go list -deps found %d packages, without CometBFT's protobuf types: the listing is broken", len(deps))
	}
	const mod = "github.com/ssi-project/ssi/"
	for _, d := range deps {
		switch {
		case strings.HasPrefix(d, mod+"issuer"), strings.HasPrefix(d, mod+"didregistry"),
			strings.HasPrefix(d, mod+"verifier"), strings.HasPrefix(d, mod+"holder"),
			strings.HasPrefix(d, mod+"anchor"), strings.HasPrefix(d, mod+"internal/store"),
			strings.HasPrefix(d, mod+"cmd/"), d == "database/sql", d == "net/http/httptest",
			strings.HasPrefix(d, "github.com/stretchr/testify"),
			d == "github.com/cometbft/cometbft/types",
			strings.HasPrefix(d, "github.com/cometbft/cometbft/crypto/ed25519"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/node"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/consensus"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/rpc"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/p2p"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/state"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/store"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/mempool"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/privval"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/proxy"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft/light"),
			strings.HasPrefix(d, "github.com/cometbft/cometbft-db"):
			t.Errorf("internal/trust depends on %s", d)
		}
	}
}

// TestBuildsForWasm builds the package for a browser, with no build tag:
// the offline venue page runs it there.
func TestBuildsForWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package for js/wasm")
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build: %v\n%s", err, out)
	}
}
