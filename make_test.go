package ssi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMakeTestFailsOnAnUntidyGoMod holds the README's test command to the
// promise that an untidy go.mod fails it: `make test` runs the tidy target
// first, and that target fails on a module whose go.mod `go mod tidy` would
// change and passes on a tidy one. The modules are made in a temporary
// directory, with the module proxy off, so the check needs no network.
func TestMakeTestFailsOnAnUntidyGoMod(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	makefile, err := filepath.Abs("Makefile")
	require.NoError(t, err)

	dry, err := exec.Command("make", "-n", "-f", makefile, "test").CombinedOutput()
	require.NoError(t, err, "%s", dry)
	assert.Contains(t, string(dry), "mod tidy -diff", "make test runs the tidy check")

	run := func(gomod string) (string, error) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600))
		cmd := exec.Command("make", "-f", makefile, "tidy")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// base58 is a requirement of this module, so it is in the module cache.
	out, err := run("module example.com/untidy\n\ngo 1.26\n\nrequire github.com/mr-tron/base58 v1.3.0\n")
	require.Error(t, err, "an unused requirement must fail the tidy check:\n%s", out)
	assert.True(t, strings.Contains(out, "not tidy"), "the failure says what to do:\n%s", out)

	out, err = run("module example.com/tidy\n\ngo 1.26\n")
	assert.NoError(t, err, "a tidy module passes:\n%s", out)
}
