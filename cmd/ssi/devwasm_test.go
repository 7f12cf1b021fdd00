package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuildVenueWasm: the build ssi dev falls back to, on a checkout
// without make venue-wasm, makes a WebAssembly module of the offline
// verifier from the module root, where the README's commands run.
func TestBuildVenueWasm(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no Go toolchain on PATH")
	}
	t.Chdir(filepath.Join("..", ".."))
	b, err := buildVenueWasm(context.Background(), goTool, filepath.Join(t.TempDir(), "venue.wasm"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("\x00asm")), "a WebAssembly module")
	require.Greater(t, len(b), 1<<20, "the whole verifier, not an empty module")
}
