package anchor

import (
	"os"
	"path/filepath"
)

// EnsureDevHome prepares a single-validator home under dir for `ssi dev`
// (fast blocks, no RPC server) and returns its path. An existing home is
// reused as is, so the ledger survives restarts of the dev process.
func EnsureDevHome(dir string, operators ...WriterKey) (string, error) {
	home := filepath.Join(dir, "node0")
	if _, err := os.Stat(filepath.Join(home, "config", "genesis.json")); err == nil {
		return home, nil
	}
	homes, err := Init(dir, 1, InitOptions{ChainID: "ssi-dev", Operators: operators})
	if err != nil {
		return "", err
	}
	return homes[0], nil
}
