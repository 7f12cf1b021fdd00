package trust_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies holds the package to its doc: a consumer (a verifier, a
// wallet, a page in a browser) imports it without pulling in a service, the
// ledger's node side, the store, SQL, a test server or the CometBFT node.
//
// One path is allowed, because nothing can be done about it short of
// re-implementing CometBFT's header and commit checks: CometBFT's types
// package (which the brief allows, for those checks) has a non-test file,
// test_util.go, that imports testify, whose assert package imports
// net/http/httptest. The test allows net/http/httptest only when every
// package importing it is testify, and testify only when every package
// outside testify importing it is CometBFT's types.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	importers := map[string][]string{} // package -> the packages of the graph importing it
	var deps []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps = append(deps, f[0])
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	if len(deps) < 20 || importers["github.com/cometbft/cometbft/types"] == nil {
		t.Fatalf("go list -deps found %d packages, without CometBFT's types: the listing is broken", len(deps))
	}
	const mod = "github.com/ssi-project/ssi/"
	const testify = "github.com/stretchr/testify/"
	for _, d := range deps {
		switch {
		case strings.HasPrefix(d, mod+"issuer"), strings.HasPrefix(d, mod+"didregistry"),
			strings.HasPrefix(d, mod+"verifier"), strings.HasPrefix(d, mod+"holder"),
			strings.HasPrefix(d, mod+"anchor"), strings.HasPrefix(d, mod+"internal/store"),
			strings.HasPrefix(d, mod+"cmd/"), d == "database/sql",
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
		case d == "net/http/httptest":
			for _, by := range importers[d] {
				if !strings.HasPrefix(by, testify) {
					t.Errorf("internal/trust reaches net/http/httptest through %s", by)
				}
			}
		case strings.HasPrefix(d, testify):
			for _, by := range importers[d] {
				if !strings.HasPrefix(by, testify) && by != "github.com/cometbft/cometbft/types" {
					t.Errorf("internal/trust reaches %s through %s", d, by)
				}
			}
		}
	}
}
