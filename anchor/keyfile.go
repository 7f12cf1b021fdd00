package anchor

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteOperatorKey stores an Ed25519 key as PKCS#8 PEM, readable by its
// owner only. It refuses to overwrite an existing file.
func WriteOperatorKey(path string, priv ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encoding the operator key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating the operator key file: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("writing the operator key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the operator key: %w", err)
	}
	return nil
}

// ReadOperatorKey reads a key written by WriteOperatorKey.
func ReadOperatorKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the operator key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("the operator key file is not a PKCS#8 PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the operator key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("the operator key is not an Ed25519 key")
	}
	return priv, nil
}

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
