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
// ledger's node side, the store, SQL, a test server, testify, or any of
// CometBFT (its types package's non-test test_util.go imports testify and
// so net/http/httptest; its generated protobuf types pull gogoproto and the
// protobuf registry, 1.5 MB of the venue's WASM): wire.go reads headers
// with protowire alone. There is no exception.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 || !slices.Contains(deps, "google.golang.org/protobuf/encoding/protowire") {
		t.Fatalf("go list -deps found %d packages, without protowire: the listing is broken", len(deps))
	}
	const mod = "github.com/ssi-project/ssi/"
	for _, d := range deps {
		switch {
		case strings.HasPrefix(d, mod+"issuer"), strings.HasPrefix(d, mod+"didregistry"),
			strings.HasPrefix(d, mod+"verifier"), strings.HasPrefix(d, mod+"holder"),
			strings.HasPrefix(d, mod+"anchor"), strings.HasPrefix(d, mod+"internal/store"),
			strings.HasPrefix(d, mod+"cmd/"), d == "database/sql", d == "net/http/httptest",
			strings.HasPrefix(d, "github.com/stretchr/testify"),
			strings.HasPrefix(d, "github.com/cometbft/"),
			strings.HasPrefix(d, "github.com/cosmos/"),
			strings.HasPrefix(d, "github.com/google/go-cmp"),
			strings.HasPrefix(d, "google.golang.org/protobuf/") && !strings.HasPrefix(d, "google.golang.org/protobuf/encoding/protowire") &&
				!strings.HasPrefix(d, "google.golang.org/protobuf/internal/"),
			d == "google.golang.org/protobuf/internal/impl", d == "google.golang.org/protobuf/internal/filedesc":
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
