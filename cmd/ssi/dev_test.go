package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/config"
)

// runCmd runs the ssi command line in process and returns its stdout.
func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	require.Equal(t, 0, code, "ssi %v: %s", args, errOut.String())
	return out.String()
}

// safeBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *safeBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startDev runs `ssi dev` on a free port with dir as its data directory and
// returns its base URL and a function that stops it (as SIGTERM would) and
// waits for a clean exit. extra are more command-line arguments.
func startDev(t testing.TB, dir string, extra ...string) (string, func()) {
	t.Helper()
	url, _, stop := startServer(t, append([]string{"dev", "--data", dir, "--addr", "127.0.0.1:0", "--shutdown-timeout", "5s"}, extra...)...)
	return url, stop
}

// startServer runs the server command args (e.g. "dev", "--data", …) in
// process and returns its public and admin base URLs, read from the
// banner, and a function that stops it (as SIGTERM would) and waits for a
// clean exit.
func startServer(t testing.TB, args ...string) (url, admin string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &safeBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, pw, stderr)
		pw.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			require.True(t, ok, "ssi %s exited early: %s", args[0], stderr.String())
			return l
		case <-time.After(60 * time.Second):
			t.Fatalf("ssi %s did not start: %s", args[0], stderr.String())
		}
		return ""
	}
	rest, ok := strings.CutPrefix(next(), "ssi "+args[0]+" listening on ")
	require.True(t, ok, "unexpected first line")
	url, _, _ = strings.Cut(rest, " ")
	rest, ok = strings.CutPrefix(next(), "  admin    ")
	require.True(t, ok, "the second line names the admin listener")
	admin, _, _ = strings.Cut(rest, " ")
	go func() {
		for range lines {
		}
	}()
	return url, admin, func() {
		cancel()
		select {
		case code := <-done:
			require.Equal(t, 0, code, "ssi %s exit: %s", args[0], stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("ssi %s did not stop", args[0])
		}
	}
}

func get(t testing.TB, url, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDevServesAndKeepsDataAcrossRestart is acceptance 1 of the foundation:
// `ssi dev` starts on a fresh data directory, answers /healthz, and what was
// written before a restart is there after it.
func TestDevServesAndKeepsDataAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	runCmd(t, "admin", "create-tenant", "--data", dir, "--id", "clinic", "--name", "Clinic", "--kind", "agency")
	key := strings.TrimSpace(runCmd(t, "admin", "create-key", "--data", dir, "--tenant", "clinic", "--scopes", "keys:manage,audit:read"))
	require.True(t, strings.HasPrefix(key, "ssi_"))
	keyID := strings.SplitN(key, "_", 3)[1]

	url, stop := startDev(t, dir)
	code, _ := get(t, url+"/healthz", "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, url+"/readyz", "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, url+"/admin/v1/keys/"+keyID, key)
	assert.Equal(t, http.StatusOK, code, "a key made by the CLI works on the server")

	req, _ := http.NewRequest(http.MethodPost, url+"/admin/v1/keys", strings.NewReader(`{"scopes":["audit:read"]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var created struct{ ID, Key string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	// The seeded agency's DID resolves, anchored on the embedded ledger, and
	// it is accredited for its credential type.
	seed := readDevSeed(t, dir)
	healthDID := seed.DIDs["health"]
	require.NotEmpty(t, healthDID)
	waitAnchoredDID(t, url, healthDID)
	code, body := get(t, url+"/registry/v1/trust/issuers?issuer="+healthDID+"&vct="+VaccinationVCT, "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), `"accredited":true`)
	// The seeded venue proved control of its verifier DID, so its approved
	// registration counts.
	venueDID := seed.DIDs["venue"]
	require.NotEmpty(t, venueDID)
	code, body = get(t, url+"/registry/v1/trust/relying-parties?verifier="+venueDID+"&vct="+VaccinationVCT+"&claims=vaccinated_within_policy", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), `"within":true`)
	code, body = get(t, url+"/registry/v1/relying-parties/"+seed.Venue, "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), `"control":{"tenant":"venue","kid":"`+venueDID+"#")
	stop()

	url, stop = startDev(t, dir)
	defer stop()
	waitAnchoredDID(t, url, healthDID) // the ledger kept its state across the restart
	code, _ = get(t, url+"/admin/v1/keys/"+keyID, key)
	assert.Equal(t, http.StatusOK, code, "the CLI key survives a restart")
	code, body = get(t, url+"/admin/v1/audit", created.Key)
	require.Equal(t, http.StatusOK, code, "the key created over HTTP survives a restart")
	assert.Contains(t, string(body), `"action":"apikey.create"`)
	assert.Contains(t, string(body), `"action":"tenant.create"`)
}

func TestCheckConfig(t *testing.T) {
	out := runCmd(t, "dev", "--check-config", "--data", t.TempDir())
	assert.Contains(t, out, "configuration ok")

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"dev", "--check-config", "--addr", "nope", "--log-format", "xml"}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "addr:")
	assert.Contains(t, stderr.String(), "log-format:", "every problem is reported at once")

	code = run(context.Background(), []string{"nosuch"}, &stdout, &stderr)
	assert.Equal(t, 2, code)
}

// TestGracefulShutdownDrainsInFlightRequests: when the context ends (as on
// SIGTERM), the server stops accepting and lets running requests finish.
func TestGracefulShutdownDrainsInFlightRequests(t *testing.T) {
	cfg := config.DefaultServer()
	cfg.ShutdownTimeout = 10 * time.Second
	entered := make(chan struct{})
	release := make(chan struct{})
	a := &app{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), router: nil}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	a.router = chiWrap(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, ln) }()

	result := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	<-entered
	cancel() // SIGTERM
	// New connections are refused once shutdown has begun.
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	close(release)
	assert.Equal(t, "done", <-result, "the in-flight request completes")
	assert.NoError(t, <-served)
}

// chiWrap mounts h as the whole of a chi router.
func chiWrap(h http.Handler) chi.Router {
	r := chi.NewRouter()
	r.Mount("/", h)
	return r
}

// waitAnchoredDID polls the resolver until the DID's latest version is
// served as anchored.
func waitAnchoredDID(t testing.TB, url, d string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, url+"/1.0/identifiers/"+d, "")
		require.Equal(t, http.StatusOK, code, string(body))
		if strings.Contains(string(body), `"status":"anchored"`) {
			return
		}
		require.True(t, time.Now().Before(deadline), "the DID was not anchored in time")
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGracefulShutdownDoesNotWaitForUnusedConnections: a connection that
// was opened and never carried a request (an HTTP client's spare dial, a
// browser's preconnect) holds nothing to drain, so it does not hold up the
// shutdown until the drain deadline.
func TestGracefulShutdownDoesNotWaitForUnusedConnections(t *testing.T) {
	cfg := config.DefaultServer()
	cfg.ShutdownTimeout = time.Second // well below net/http's 5 s grace for new connections
	a := &app{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), router: chiWrap(http.NewServeMux())}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, ln) }()

	idle, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer idle.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/") // the server has taken the unused one in by now
	require.NoError(t, err)
	resp.Body.Close()
	cancel() // SIGTERM
	assert.NoError(t, <-served, "nothing was in flight")
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = idle.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the unused connection is closed")
}
