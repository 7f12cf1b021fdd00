package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/trust"
)

// TestRegistryCommand runs `ssi registry` alone against a validator
// reached over its RPC port: a DID created over HTTP is anchored on that
// ledger and served with its receipt.
func TestRegistryCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a validator and the registry")
	}
	dir := t.TempDir()
	l := startRPCLedger(t, dir, "registry-cmd")
	node, rpcURL, keyFile, kekFile := l.node, l.rpcURL, l.keyFile, l.kekFile

	data := filepath.Join(dir, "data")
	runCmd(t, "migrate", "--data", data)
	runCmd(t, "admin", "create-tenant", "--data", data, "--id", "health", "--name", "Health", "--kind", "agency")
	key := strings.TrimSpace(runCmd(t, "admin", "create-key", "--data", data, "--tenant", "health", "--scopes", "dids:manage"))

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"registry", "--data", data, "--addr", "127.0.0.1:0", "--ledger-rpc", rpcURL, "--ledger-key-file", keyFile, "--kek-file", kekFile}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go io.Copy(io.Discard, pr)
	base := strings.Fields(strings.TrimPrefix(line, "ssi registry listening on "))[0]
	defer func() {
		cancel()
		assert.Equal(t, 0, <-done)
	}()

	ctl, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	tok, d, err := didregistry.SignCreate(ctl, "ctl-1", nil, nil)
	require.NoError(t, err)
	body, _ := json.Marshal(map[string]string{"operation": tok})
	req, _ := http.NewRequest(http.MethodPost, base+"/registry/v1/dids", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	pinned, err := node.Trust()
	require.NoError(t, err)
	client := trust.NewClient(base, trust.Options{Trust: pinned, TTL: time.Second})
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = client.Resolve(context.Background(), d, didResolveOptions())
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, err, "the DID is served with a receipt and a latest-version proof that verify against the validator set")
}

func didResolveOptions() did.ResolveOptions { return did.ResolveOptions{} }

// rpcLedger is a validator reached over its RPC port, as a service run
// alone reaches it.
type rpcLedger struct {
	node    *anchor.Node
	rpcURL  string
	keyFile string // a writer key on the allow-list, sealed under the KEK
	kekFile string
}

// startRPCLedger starts a one-validator ledger of chainID under dir, with
// a sealed writer key and the KEK file (dir/kek) that opens it; it stops
// with the test.
func startRPCLedger(t *testing.T, dir, chainID string) rpcLedger {
	t.Helper()
	l := rpcLedger{keyFile: filepath.Join(dir, "writer.key"), kekFile: filepath.Join(dir, "kek")}
	kek, err := devKEK("", dir) // writes dir/kek
	require.NoError(t, err)
	signer, err := writerKey(l.keyFile, kek, true)
	require.NoError(t, err)
	homes, err := anchor.Init(filepath.Join(dir, "ledger"), 1, anchor.InitOptions{ChainID: chainID, RPC: true, Operators: []anchor.WriterKey{signer.Key()}})
	require.NoError(t, err)
	l.node, err = anchor.StartNode(context.Background(), homes[0], anchor.NodeOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.node.Stop() })
	settings, err := anchor.ReadSettings(homes[0])
	require.NoError(t, err)
	l.rpcURL = "http://" + strings.TrimPrefix(settings.RPCAddress, "tcp://")
	return l
}

// TestServicesReportAMissingKEKWithEveryOtherProblem: ssi registry and ssi
// issuer need the KEK to open their ledger writer key, and say so in the
// same report as the rest of the configuration's problems.
func TestServicesReportAMissingKEKWithEveryOtherProblem(t *testing.T) {
	for _, cmd := range []string{"registry", "issuer"} {
		t.Run(cmd, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{cmd, "--check-config", "--data", t.TempDir(), "--addr", "nope"}, &stdout, &stderr)
			assert.Equal(t, 1, code)
			for _, want := range []string{"kek:", "addr:", "ledger-rpc:", "ledger-key-file:"} {
				assert.Contains(t, stderr.String(), want)
			}
		})
	}
}

// TestServicesRequireHTTPS: the production services refuse a plain-http
// public URL on a host other than loopback; ssi dev does not.
func TestServicesRequireHTTPS(t *testing.T) {
	for _, cmd := range []string{"registry", "issuer"} {
		t.Run(cmd, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{cmd, "--check-config", "--data", t.TempDir(), "--public-url", "http://" + cmd + ".agency.example"}, &stdout, &stderr)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr.String(), "public-url: must be https")
			stderr.Reset()
			run(context.Background(), []string{cmd, "--check-config", "--data", t.TempDir(), "--public-url", "https://" + cmd + ".agency.example"}, &stdout, &stderr)
			assert.NotContains(t, stderr.String(), "public-url:", "https is accepted")
		})
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"dev", "--check-config", "--data", t.TempDir(), "--public-url", "http://dev.lan.example:8080"}, &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
}
