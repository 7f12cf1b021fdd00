package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/keys"
)

func TestLedgerInitAndNode(t *testing.T) {
	dir := t.TempDir()
	kek, err := devKEK("", dir) // writes dir/kek
	require.NoError(t, err)
	kekFile := filepath.Join(dir, "kek")
	var out, errb bytes.Buffer
	require.NoError(t, runLedger(context.Background(), []string{"init", "--validators", "2", "--home", dir, "--base-port", "0", "--kek-file", kekFile}, &out, &errb))
	assert.Contains(t, out.String(), "2 validator home(s)")
	// The operator key is sealed at rest: it opens under the KEK only.
	blob, err := os.ReadFile(filepath.Join(dir, "operator.key"))
	require.NoError(t, err)
	assert.NotContains(t, string(blob), "PRIVATE KEY")
	_, err = keys.Open(blob, kek)
	require.NoError(t, err)
	_, err = keys.Open(blob, keys.KEK{1})
	assert.Error(t, err)
	// A second init refuses to overwrite the homes.
	assert.Error(t, runLedger(context.Background(), []string{"init", "--validators", "2", "--home", dir,
		"--operator-key", filepath.Join(dir, "operator.key"), "--kek-file", kekFile}, &out, &errb))
	assert.Error(t, runLedger(context.Background(), []string{"init", "--validators", "1", "--kek-file", kekFile}, &out, &errb), "--home is required")
	assert.Error(t, runLedger(context.Background(), []string{"init", "--home", t.TempDir()}, &out, &errb), "--kek-file is required")
	assert.Error(t, runLedger(context.Background(), []string{"bogus"}, &out, &errb))

	// A one-validator chain: run node0 alone with its own genesis.
	dir1 := t.TempDir()
	require.NoError(t, runLedger(context.Background(), []string{"init", "--home", dir1, "--base-port", "0", "--kek-file", kekFile}, &out, &errb))
	home := filepath.Join(dir1, "node0")
	s, err := anchor.ReadSettings(home)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var nodeOut safeBuffer
	done := make(chan error, 1)
	go func() { done <- runLedger(ctx, []string{"node", "--home", home, "--quiet"}, &nodeOut, &nodeOut) }()

	// The RPC server answers /status once the node runs.
	url := "http://" + strings.TrimPrefix(s.RPCAddress, "tcp://") + "/status"
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "the node's RPC never answered")
		<-tick.C
	}
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, nodeOut.String(), "running")
}
