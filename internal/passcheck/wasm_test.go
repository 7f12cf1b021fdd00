package passcheck_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBuildsForWasm: the venue page runs this package offline, so it (with
// dcc, shc and qr) must build for GOOS=js GOARCH=wasm and must not pull in
// net/http.
func TestBuildsForWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package for js/wasm")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	cmd := exec.Command(goBin, "list", "-deps", ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list for js/wasm: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || strings.Contains(dep, "internal/store") || strings.HasSuffix(dep, "/verifier") {
			t.Errorf("passcheck depends on %s", dep)
		}
	}
	build := exec.Command(goBin, "build", "-o", os.DevNull, ".")
	build.Env = cmd.Env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build for js/wasm: %v\n%s", err, out)
	}
}
