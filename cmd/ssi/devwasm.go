package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ssi-project/ssi/web"
)

// venueWasmSource is where the venue scanner's offline verifier lives,
// relative to the module root (the README's commands run there).
const venueWasmSource = "cmd/venue-wasm"

// devVenueWasm keeps the README's first command whole: a binary built
// without make venue-wasm embeds no offline verifier, so ssi dev, run from
// a checkout with the Go toolchain on PATH, builds it (the flags of
// make venue-wasm) into the data directory and serves it. Elsewhere (an
// installed binary, a test's working directory) it says what is missing
// and the scanner checks passes online only. It runs before the server
// serves, as web.SetVenueWasm requires.
func devVenueWasm(ctx context.Context, dataDir string) string {
	if web.HasVenueWasm() {
		return "built in"
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "not built (no Go toolchain on PATH; make venue-wasm builds it in): the venue scanner checks online only"
	}
	if st, err := os.Stat(venueWasmSource); err != nil || !st.IsDir() {
		return "not built (not run from the source tree; make venue-wasm builds it in): the venue scanner checks online only"
	}
	b, err := buildVenueWasm(ctx, goTool, filepath.Join(dataDir, "venue.wasm"))
	if err != nil {
		return "not built (" + err.Error() + "): the venue scanner checks online only"
	}
	web.SetVenueWasm(b)
	return "built into " + filepath.Join(dataDir, "venue.wasm")
}

// buildVenueWasm builds ./cmd/venue-wasm for js/wasm into out, as make
// venue-wasm does, and returns the module.
func buildVenueWasm(ctx context.Context, goTool, out string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+venueWasmSource)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build of %s failed: %w: %s", venueWasmSource, err, firstLine(msg))
	}
	return os.ReadFile(out)
}

// firstLine is the first line of a tool's output, for an error message.
func firstLine(b []byte) string {
	for i, c := range b {
		if c == '\n' {
			return string(b[:i])
		}
	}
	return string(b)
}
