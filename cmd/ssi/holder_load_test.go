package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/holder"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/issuer/issuertest"
)

// TestHolderLoad is the holder's load command (issue 16, acceptance 6):
// POST /wallet/v1/presentations/{id}/accept with 64 clients, on
// PostgreSQL, each service in its own process. `ssi dev` (issuer,
// registry, ledger and our verifier) runs in a child process (this test
// binary, TestHolderLoadDev) on one fresh schema; the holder runs in this
// process, wired as `ssi holder` wires it (newHolder, newApp) on another,
// reaching the dev process over loopback HTTP; the citizens' apps run in a
// second child (TestVerifierLoadWallets). Outside the timed phase: 64
// accounts (one per client), their vaccination passes (10 copies each: once-only needs one
// fresh copy per presentation), the venue's transactions and the
// consents. Timed: each accept takes a fresh copy, opens it and its key,
// builds the presentation, signs the KB-JWT, posts it by direct_post to
// the verifier, which checks it, and records the history. It reports
// presentations per second, latency, and the CPU per presentation of each
// process against the raw ES256 cost measured in the same run (the
// holder's: 1 sign; both: 1 sign + 2 verifies).
//
//	SSI_HOLDER_LOAD=3200 SSI_TEST_POSTGRES=… go test -count=1 -run '^TestHolderLoad$' -v -timeout 30m ./cmd/ssi
//
// SSI_HOLDER_LOAD_VERIFIER=local sends the responses to an endpoint in
// this process that answers at once (the holder's own share);
// SSI_HOLDER_LOAD_PROFILE=FILE writes a CPU profile of the holder process
// during the timed phase.
func TestHolderLoad(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SSI_HOLDER_LOAD"))
	dsn := os.Getenv("SSI_TEST_POSTGRES")
	if n <= 0 || !strings.HasPrefix(dsn, "postgres") {
		t.Skip("set SSI_HOLDER_LOAD=N and SSI_TEST_POSTGRES to run the holder load")
	}
	local := os.Getenv("SSI_HOLDER_LOAD_VERIFIER") == "local"
	// One account per client, so that at 3,200 presentations each holds
	// 5 passes (a consent lists every matching credential: 20 per account
	// would make its state four times what a citizen's is).
	const clients, accounts = 64, 64
	devDSN, holderDSN := loadSchema(t, dsn, "ssihload_dev_"), loadSchema(t, dsn, "ssihload_holder_")

	dir := t.TempDir()
	dev := startDevProcess(t, dir, devDSN)
	seed := readDevSeed(t, dir)
	waitAnchoredDID(t, dev.url, seed.DIDs["health"])
	holderURL := startLoadHolder(t, dir, holderDSN, dev.url)

	c, lc := httpxtest.NewClient(t)
	d := &devHolder{t: t, url: holderURL, dir: dir, admin: &issuertest.Client{HTTP: http.DefaultClient, Base: dev.url},
		key: seed.APIKeys["health"], venue: seed.APIKeys["venue"], did: seed.DIDs["health"], client: c, leaks: lc, verifier: dev.url}
	var lv *localVerifier
	if local {
		lv = newLocalVerifier(t, dir)
	}
	fmt.Printf("preparing %d accepts …\n", n)
	prep := time.Now()
	per := (n + accounts - 1) / accounts
	byAccount, err := d.benchAccounts("load-", accounts, per, lv, true)
	require.NoError(t, err)
	fmt.Printf("prepared in %v\n", time.Since(prep).Round(time.Millisecond))
	// Interleaved, so that the 64 clients spread over the 16 accounts.
	f, err := os.CreateTemp(t.TempDir(), "jobs")
	require.NoError(t, err)
	enc := json.NewEncoder(f)
	total := 0
	for i := 0; i < per; i++ {
		for _, js := range byAccount {
			if i < len(js) {
				body, _ := json.Marshal(map[string]any{"choices": map[string]string{"pass": js[i].cred}})
				require.NoError(t, enc.Encode(loadJob{Path: "/wallet/v1/presentations/" + js[i].consent + "/accept", Body: string(body), Token: js[i].tok}))
				total++
			}
		}
	}
	require.NoError(t, f.Close())

	if path := os.Getenv("SSI_HOLDER_LOAD_PROFILE"); path != "" {
		pf, err := os.Create(path)
		require.NoError(t, err)
		defer pf.Close()
		require.NoError(t, pprof.StartCPUProfile(pf))
		defer pprof.StopCPUProfile()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestVerifierLoadWallets$", "-test.v")
	cmd.Env = append(os.Environ(), "SSI_VERIFIER_LOAD_JOBS="+f.Name(), "SSI_VERIFIER_LOAD_BASE="+holderURL, "SSI_HOLDER_LOAD=", "SSI_VERIFIER_LOAD=")
	// What ssi dev spends idle (ledger blocks, the publishers' loops), to
	// take out of its figure.
	idle0, idleT := dev.cpu(t), time.Now()
	time.Sleep(3 * time.Second)
	idleRate := float64(dev.cpu(t)-idle0) / float64(time.Since(idleT))
	// The raw costs are sampled during the timed phase too, under the
	// same load, on threads of their own (their CPU is taken out of the
	// holder's).
	signer, _ := keys.Generate(keys.ES256)
	kb, _ := jose.Sign(signer, map[string]any{"typ": "kb+jwt"}, []byte(`{"nonce":"n","aud":"a","iat":1,"sd_hash":"h"}`))
	kbKey := func(*jose.Header, []byte) (jose.PublicKey, error) {
		return jose.PublicKey{Key: signer.Public(), Alg: keys.ES256}, nil
	}
	stopRaw, signDone, verifyDone := make(chan struct{}), make(chan rawSample, 1), make(chan rawSample, 1)
	go func() {
		signDone <- sampleRawCost(stopRaw, func() {
			_, _ = jose.Sign(signer, map[string]any{"typ": "kb+jwt"}, []byte(`{"nonce":"n","aud":"a","iat":1,"sd_hash":"h"}`))
		})
	}()
	go func() {
		verifyDone <- sampleRawCost(stopRaw, func() { _, _ = jose.Verify(kb, jose.VerifyOptions{Typ: []string{"kb+jwt"}, Key: kbKey}) })
	}()
	hpg0, dpg0 := backendCPU(t, dsn, "ssihload_holder"), backendCPU(t, dsn, "ssihload_dev")
	hcpu0, dcpu0, pg0 := processCPU(), dev.cpu(t), postgresCPU()
	out, err := cmd.CombinedOutput()
	close(stopRaw)
	signDuring, verifyDuring := <-signDone, <-verifyDone
	hcpu, dcpu, pgcpu := processCPU()-hcpu0-signDuring.cpu-verifyDuring.cpu, dev.cpu(t)-dcpu0, cpuSince(pg0, postgresCPU())
	hpg, dpg := cpuSince(hpg0, backendCPU(t, dsn, "ssihload_holder")), cpuSince(dpg0, backendCPU(t, dsn, "ssihload_dev"))
	require.NoError(t, err, "%s", out)
	var res walletResult
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "WALLETS "); ok {
			require.NoError(t, json.Unmarshal([]byte(rest), &res))
		}
	}
	require.Equal(t, total, res.OK, "%s", out)
	if lv != nil {
		require.EqualValues(t, total, lv.posted.Load())
	}
	sign, verify := rawES256(2000)
	wall := time.Duration(res.WallNS)
	hper, dper := hcpu/time.Duration(res.OK), dcpu/time.Duration(res.OK)
	vper := (dcpu - time.Duration(idleRate*float64(wall))) / time.Duration(res.OK)
	to := "our verifier (ssi dev, another process)"
	if local {
		to = "an endpoint in the holder's process that answers at once"
	}
	fmt.Printf("store postgres, direct_post to %s, %d clients (another process), %d presentations in %v\n", to, clients, res.OK, wall.Round(time.Millisecond))
	fmt.Printf("throughput  %.0f presentations/s\n", float64(res.OK)/wall.Seconds())
	fmt.Printf("latency     p50 %v  p99 %v  max %v\n", time.Duration(res.P50NS).Round(10*time.Microsecond), time.Duration(res.P99NS).Round(10*time.Microsecond), time.Duration(res.MaxNS).Round(10*time.Microsecond))
	fmt.Printf("raw         ES256 sign %v, verify %v (CPU of one thread, after the timed phase)\n", sign.Round(time.Microsecond), verify.Round(time.Microsecond))
	sd, vd := signDuring.per(), verifyDuring.per()
	fmt.Printf("raw during  ES256 sign %v, verify %v (CPU, sampled during the timed phase: %d of each)\n", sd.Round(time.Microsecond), vd.Round(time.Microsecond), signDuring.n)
	fmt.Printf("cpu holder  %v per presentation = %.1f × 1 sign (%.1f × the sign sampled during)\n", hper.Round(time.Microsecond), float64(hper)/float64(sign), float64(hper)/float64(sd))
	if !local {
		fmt.Printf("cpu dev     %v per presentation (verifier, and the ledger, issuer and registry: %.0f ms/s idle); without the idle share %v\n",
			dper.Round(time.Microsecond), idleRate*1000, vper.Round(time.Microsecond))
		fmt.Printf("cpu pg      %v per presentation (every postgres process of this machine: both services' and any other user's)\n", (pgcpu / time.Duration(res.OK)).Round(time.Microsecond))
		fmt.Printf("cpu pg by   holder's connections %v, ssi dev's %v per presentation (their backends' CPU; a backend that ended meanwhile is not counted)\n",
			(hpg / time.Duration(res.OK)).Round(time.Microsecond), (dpg / time.Duration(res.OK)).Round(time.Microsecond))
		fmt.Printf("cpu both    %v per presentation = %.1f × (1 sign + 2 verifies); %v = %.1f × without dev's idle share (%.1f × the raw sampled during)\n", (hper + dper).Round(time.Microsecond),
			float64(hper+dper)/float64(sign+2*verify), (hper + vper).Round(time.Microsecond), float64(hper+vper)/float64(sign+2*verify), float64(hper+vper)/float64(sd+2*vd))
	}
	dev.stop(t)
}

// loadSchema creates a fresh schema named prefix and random hex on the
// PostgreSQL of dsn, dropped when the test ends, and returns dsn in it with
// the pool of a production deployment (16, not dev's default of 4).
func loadSchema(t *testing.T, dsn, prefix string) string {
	t.Helper()
	ctx := context.Background()
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	schema := prefix + hex.EncodeToString(rb[:])
	adm, err := store.Open(ctx, dsn, store.Options{MaxConns: 2})
	require.NoError(t, err)
	_, err = store.Raw(adm).Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = store.Raw(adm).Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		adm.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema + "&pool_max_conns=16&application_name=" + strings.TrimSuffix(prefix, "_")
}

// backendCPU is the CPU time so far of each PostgreSQL backend (a local
// server's process) whose connection named itself app (loadSchema names
// each service's connections by its schema's prefix).
func backendCPU(t *testing.T, dsn, app string) map[int]time.Duration {
	t.Helper()
	ctx := context.Background()
	adm, err := store.Open(ctx, dsn, store.Options{MaxConns: 1})
	require.NoError(t, err)
	defer adm.Close()
	var pids string
	require.NoError(t, store.Raw(adm).QueryRow(ctx, `SELECT COALESCE(string_agg(pid::text, ','), '') FROM pg_stat_activity WHERE application_name = $1`, []any{app}, &pids))
	out := map[int]time.Duration{}
	for _, f := range strings.Split(pids, ",") {
		if pid, err := strconv.Atoi(f); err == nil {
			if c, err := readPidCPU(pid); err == nil {
				out[pid] = c
			}
		}
	}
	return out
}

// devProcess is `ssi dev` running in a child process.
type devProcess struct {
	url string
	cmd *exec.Cmd
}

// startDevProcess runs `ssi dev` on store dsn with data directory dir in
// a child process (TestHolderLoadDev) and waits for its banner.
func startDevProcess(t *testing.T, dir, dsn string) *devProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHolderLoadDev$")
	cmd.Env = append(os.Environ(), "SSI_HOLDER_LOAD_DEV="+dir, "SSI_HOLDER_LOAD_DEV_STORE="+dsn, "SSI_HOLDER_LOAD=")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &devProcess{cmd: cmd}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "ssi dev listening on "); ok {
				u, _, _ := strings.Cut(rest, " ")
				urls <- u
			}
		}
	}()
	select {
	case p.url = <-urls:
	case <-time.After(120 * time.Second):
		t.Fatal("ssi dev did not start")
	}
	return p
}

// cpu is the child's user + system CPU time so far.
func (p *devProcess) cpu(t *testing.T) time.Duration {
	t.Helper()
	return pidCPU(t, p.cmd.Process.Pid)
}

// postgresCPU is the CPU time so far of each process of this machine
// named postgres (the server of SSI_TEST_POSTGRES when it is local).
func postgresCPU() map[int]time.Duration {
	out := map[int]time.Duration{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm")); strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if c, err := readPidCPU(pid); err == nil { // not if it ended meanwhile
			out[pid] = c
		}
	}
	return out
}

// cpuSince is what the processes of now spent since before (a process
// new since then: all of its time).
func cpuSince(before, now map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, c := range now {
		d += c - before[pid]
	}
	return d
}

// stop ends the child as SIGTERM would and waits for a clean exit.
func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait())
}

// TestHolderLoadDev is TestHolderLoad's `ssi dev`, run by it in a child
// process until SIGTERM.
func TestHolderLoadDev(t *testing.T) {
	dir, dsn := os.Getenv("SSI_HOLDER_LOAD_DEV"), os.Getenv("SSI_HOLDER_LOAD_DEV_STORE")
	if dir == "" || dsn == "" {
		t.Skip("run by TestHolderLoad")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	// No log line per request; the issuer's per-address limit off (every
	// client is 127.0.0.1).
	code := run(ctx, []string{"dev", "--data", dir, "--addr", "127.0.0.1:0", "--store", dsn, "--log-level", "warn",
		"--rate-per-client", "0", "--shutdown-timeout", "5s"}, os.Stdout, os.Stderr)
	require.Equal(t, 0, code)
}

// startLoadHolder runs the holder alone in this process on store dsn, as
// `ssi holder` wires it, with ssi dev's registry at registry and its
// ledger's validators pinned; dev lets it reach them on loopback HTTP. It
// returns the holder's base URL.
func startLoadHolder(t *testing.T, dir, dsn, registry string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := config.DefaultServer()
	cfg.Addr, cfg.Store, cfg.LogLevel = "127.0.0.1:0", dsn, "warn"
	cfg.PublicURL = "http://" + cfg.Addr
	cfg.TrustedProxies = []string{"127.0.0.1/32"} // the setup's clients say who they are
	st, err := openStore(ctx, cfg, true)
	require.NoError(t, err)
	ln, err := listen(&cfg)
	require.NoError(t, err)
	kek, err := keys.NewDataKey()
	require.NoError(t, err)
	pins, err := readPinned(filepath.Join(dir, "ledger", "node0", "config", "genesis.json"))
	require.NoError(t, err)
	log := newLogger(cfg, io.Discard)
	// SSI_HOLDER_LOAD_GROUP=1 records every presentation in its own
	// transaction (the code before grouping), for a comparison.
	group, _ := strconv.Atoi(os.Getenv("SSI_HOLDER_LOAD_GROUP"))
	svc, err := newHolder(cfg, st, kek, pins, registry, true, log, func(c *holder.Config) { c.CommitGroup = group })
	require.NoError(t, err)
	a := newApp(cfg, st, log, services{holder: svc})
	stopPurge := startPurge(ctx, svc) // and the session cache's notifications, as `ssi holder` runs them
	// The garbage collector's target of `ssi holder` (SSI_HOLDER_LOAD_GOGC
	// for another, 100 for Go's default), for this process while it runs.
	gc := holderGCPercent
	if v, err := strconv.Atoi(os.Getenv("SSI_HOLDER_LOAD_GOGC")); err == nil {
		gc = v
	}
	if os.Getenv("GOGC") == "" { // as tuneGC: the environment's choice stands
		old := debug.SetGCPercent(gc)
		t.Cleanup(func() { debug.SetGCPercent(old) })
	}
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		stopPurge()
		require.NoError(t, <-done)
		st.Close()
	})
	return cfg.PublicURL
}
