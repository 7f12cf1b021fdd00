package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/issuer/issuertest"
)

// TestVerifierLoad is the verifier's load command (issue 15, acceptance
// 6): `ssi dev` on PostgreSQL (a fresh schema, dropped after) for the
// issuer, registry and ledger, one vaccination pass from its issuer, and
// `ssi verifier` in its own process on the same schema (the demo venue,
// trusting dev's ledger, reaching dev's registry and status lists). N
// transactions of the venue are created on the verifier and their
// responses prepared (request object fetched and verified, presentation
// with its KB-JWT signed, for direct_post.jwt encrypted) before the timed
// phase, which is 64 concurrent wallets, in a third process, posting the
// responses. It reports verified presentations per second, latency, and
// the verifier process's CPU per presentation (/proc/PID/stat) against the
// raw cost (2 ES256 verifies, + 1 ECDH for direct_post.jwt) measured in
// this process in the same run.
//
//	SSI_VERIFIER_LOAD=8000 SSI_TEST_POSTGRES=… go test -run 'TestVerifierLoad$' -v -count=1 ./cmd/ssi
//	SSI_VERIFIER_LOAD=8000 SSI_VERIFIER_LOAD_MODE=direct_post.jwt SSI_TEST_POSTGRES=… go test -run 'TestVerifierLoad$' -v -count=1 ./cmd/ssi
//
// SSI_VERIFIER_LOAD_PROFILE=FILE writes the verifier's CPU profile of the
// first SSI_VERIFIER_LOAD_PROFILE_SECONDS (3) of the timed phase, and to
// FILE.allocs what it allocated meanwhile (go tool pprof -sample_index=alloc_space).
// SSI_VERIFIER_LOAD_GOGC sets the verifier process's GOGC.
// SSI_VERIFIER_LOAD_CALLGRIND=FILE runs the verifier under valgrind's
// callgrind and writes the instructions of the timed phase to FILE.1
// (its CPU figures are then valgrind's, not the verifier's).
func TestVerifierLoad(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SSI_VERIFIER_LOAD"))
	dsn := os.Getenv("SSI_TEST_POSTGRES")
	if n <= 0 || !strings.HasPrefix(dsn, "postgres") {
		t.Skip("set SSI_VERIFIER_LOAD=N and SSI_TEST_POSTGRES to run the verifier load")
	}
	mode := os.Getenv("SSI_VERIFIER_LOAD_MODE")
	if mode == "" {
		mode = oid4vp.DirectPost
	}
	const clients = 64
	ctx := context.Background()

	inSchema := loadSchema(t, dsn, "ssivload_")
	dir := t.TempDir()
	// No log line per request (the issuer's load command discards them
	// too).
	base, stop := startDev(t, dir, "--store", inSchema, "--log-level", "warn")
	defer stop()
	seed := readDevSeed(t, dir)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}}
	d := &devWallet{dir: dir, c: &issuertest.Client{HTTP: hc, Base: base}, key: seed.APIKeys["health"], did: seed.DIDs["health"]}
	venue := venueClient{base: base, key: seed.APIKeys["venue"]}
	subject := map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01",
		"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}}}
	o, err := d.c.CreateOffer(ctx, d.key, "vaccination-pass", "citizen-load", subject)
	require.NoError(t, err)
	holder, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	cred := d.redeemFor(t, o.OfferURI, o.TxCode, holder)[0]
	waitAnchoredDID(t, base, d.did)
	recs, err := d.c.Records(ctx, d.key, "citizen-load")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	// A venue cannot read an unanchored list.
	d.waitListAnchored(t, recs[0])
	venue.create(t, mode) // waits for the registration check of dev's verifier

	// The verifier alone, in its own process (`ssi verifier` on the same
	// PostgreSQL schema, trusting the ledger's validators and reaching the
	// registry and status lists of `ssi dev`): the CPU counted is its own.
	vbase, vadmin, vpid, vstop := startLoadVerifier(t, dir, base, seed.DIDs["health"], inSchema)
	defer vstop()
	venue = venueClient{base: vbase, key: seed.APIKeys["venue"]}
	venue.create(t, mode)

	type job struct {
		id, path string
		body     []byte
	}
	fmt.Printf("preparing %d %s responses …\n", n, mode)
	prep := time.Now()
	jobs := make([]job, n)
	var wg sync.WaitGroup
	idx := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range idx {
				id, auth := venue.create(t, mode)
				path, body, err := prepareResponse(ctx, d.c, auth, cred, holder)
				if err != nil {
					t.Error(err)
					return
				}
				jobs[i] = job{id: id, path: path, body: body}
			}
		})
	}
	for i := range n {
		idx <- i
	}
	close(idx)
	wg.Wait()
	require.False(t, t.Failed())
	fmt.Printf("prepared in %v\n", time.Since(prep).Round(time.Millisecond))

	// The wallets run in a child process (this test binary, in
	// TestVerifierLoadWallets), so that this process's CPU time is the
	// server's alone.
	f, err := os.CreateTemp(t.TempDir(), "jobs")
	require.NoError(t, err)
	enc := json.NewEncoder(f)
	for _, j := range jobs {
		require.NoError(t, enc.Encode(loadJob{Path: j.path, Body: string(j.body)}))
	}
	require.NoError(t, f.Close())
	var profiled sync.WaitGroup
	if path := os.Getenv("SSI_VERIFIER_LOAD_PROFILE"); path != "" {
		// The verifier's own CPU profile, and what it allocated (FILE.allocs),
		// from its admin listener, over the first seconds of the timed phase.
		secs := cmp.Or(os.Getenv("SSI_VERIFIER_LOAD_PROFILE_SECONDS"), "3")
		for kind, file := range map[string]string{"profile": path, "allocs": path + ".allocs"} {
			profiled.Go(func() {
				resp, err := http.Get(vadmin + "/debug/pprof/" + kind + "?seconds=" + secs)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if err := os.WriteFile(file, b, 0o600); err != nil {
					t.Error(err)
				}
			})
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestVerifierLoadWallets$", "-test.v")
	cmd.Env = append(os.Environ(), "SSI_VERIFIER_LOAD_JOBS="+f.Name(), "SSI_VERIFIER_LOAD_BASE="+vbase, "SSI_VERIFIER_LOAD=")
	// The raw cost is sampled meanwhile, under the same load, on a thread
	// of its own (a few per cent of one core).
	jwt := mode == oid4vp.DirectPostJWT
	stopRaw, rawDone := make(chan struct{}), make(chan rawSample, 1)
	go func() { rawDone <- sampleRawCost(stopRaw, rawOp(jwt)) }()
	callgrindControl(t, vpid, "--instr=on")
	mb0, mo0, gc0 := goMemStats(t, vadmin+"/metrics")
	u0, err := readProcUsage(vpid)
	require.NoError(t, err)
	out, err := cmd.CombinedOutput()
	u1, uerr := readProcUsage(vpid)
	require.NoError(t, uerr)
	use := u1.sub(u0)
	cpu := use.user + use.sys
	mb1, mo1, gc1 := goMemStats(t, vadmin+"/metrics")
	callgrindControl(t, vpid, "--dump=responses")
	callgrindControl(t, vpid, "--instr=off")
	close(stopRaw)
	during := <-rawDone
	require.NoError(t, err, "%s", out)
	profiled.Wait()
	var res walletResult
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "WALLETS "); ok {
			require.NoError(t, json.Unmarshal([]byte(rest), &res))
		}
	}
	require.Equal(t, n, res.OK, "%s", out)
	wall := time.Duration(res.WallNS)
	// Every verdict is green.
	for _, j := range []job{jobs[0], jobs[n/2], jobs[n-1]} {
		v := venue.result(t, j.id)
		require.Equal(t, "green", v["verdict"], v)
	}
	raw := during.per()
	after := rawVerifyCost(2000, jwt)
	per := cpu / time.Duration(res.OK)
	fmt.Printf("store postgres, %s, %d concurrent wallets (another process), %d presentations in %v\n", mode, clients, res.OK, wall.Round(time.Millisecond))
	fmt.Printf("throughput  %.0f verified presentations/s\n", float64(res.OK)/wall.Seconds())
	fmt.Printf("latency     p50 %v  p99 %v  max %v\n", time.Duration(res.P50NS).Round(10*time.Microsecond), time.Duration(res.P99NS).Round(10*time.Microsecond), time.Duration(res.MaxNS).Round(10*time.Microsecond))
	fmt.Printf("cpu         %v per presentation (the ssi verifier process alone); raw %v (%d samples during the run; %v after it); ratio %.2f\n",
		per.Round(time.Microsecond), raw.Round(time.Microsecond), during.n, after.Round(time.Microsecond), float64(per)/float64(raw))
	k := float64(res.OK)
	fmt.Printf("  split     user %v, system %v per presentation; read syscalls %.1f, write syscalls %.1f, context switches %.1f (%.1f preempted)\n",
		(use.user / time.Duration(res.OK)).Round(time.Microsecond), (use.sys / time.Duration(res.OK)).Round(time.Microsecond),
		float64(use.syscr)/k, float64(use.syscw)/k, float64(use.voluntary+use.preempt)/k, float64(use.preempt)/k)
	fmt.Printf("  heap      %.1f KB and %.0f objects allocated per presentation, %.0f collections (the verifier's metrics; the profile's fetch included when profiled)\n",
		(mb1-mb0)/k/1000, (mo1-mo0)/k, gc1-gc0)
}

// callgrindControl runs callgrind_control arg on the verifier pid when
// SSI_VERIFIER_LOAD_CALLGRIND runs it under callgrind: its instructions
// are counted from --instr=on before the timed phase to the dump after
// it, with the metrics' two reads (a few thousand instructions); read
// the dump with callgrind_annotate or by instruction address.
func callgrindControl(t *testing.T, pid int, arg string) {
	t.Helper()
	if os.Getenv("SSI_VERIFIER_LOAD_CALLGRIND") == "" {
		return
	}
	out, err := exec.Command("callgrind_control", arg, strconv.Itoa(pid)).CombinedOutput()
	require.NoError(t, err, "callgrind_control %s: %s", arg, out)
}

// prepareResponse fetches and verifies the request of authURI and builds
// the wallet's response body, without sending it.
func prepareResponse(ctx context.Context, c *issuertest.Client, authURI, cred string, holder keys.Signer) (string, []byte, error) {
	a, err := oid4vp.ParseAuthorizationURI(authURI)
	if err != nil {
		return "", nil, err
	}
	resp, err := c.HTTP.Get(a.RequestURI)
	if err != nil {
		return "", nil, err
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	req, err := oid4vp.VerifyRequest(buf.String(), issuertest.DIDKeyLookup(ctx), oid4vp.VerifyOptions{ClientID: a.ClientID, Now: time.Now()})
	if err != nil {
		return "", nil, err
	}
	pres, err := sdjwt.Present(cred, []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"},
		&sdjwt.KeyBinding{Signer: holder, Nonce: req.Nonce, Audience: req.ClientID, IssuedAt: time.Now()})
	if err != nil {
		return "", nil, err
	}
	r := &oid4vp.Response{VPToken: map[string][]string{"pass": {pres}}, State: req.State}
	form, err := oid4vp.ResponseForm(r)
	if req.ResponseMode == oid4vp.DirectPostJWT {
		k, err := req.Metadata.EncryptionKey()
		if err != nil {
			return "", nil, err
		}
		jwe, err := oid4vp.EncryptResponse(r, k, oid4vp.EncA128GCM)
		if err != nil {
			return "", nil, err
		}
		form = url.Values{"response": {jwe}}
	} else if err != nil {
		return "", nil, err
	}
	u, err := url.Parse(req.ResponseURI)
	if err != nil {
		return "", nil, err
	}
	return u.Path, []byte(form.Encode()), nil
}

// rawSample is the raw cost sampled during a load run: n operations in
// cpu (thread CPU time).
type rawSample struct {
	n   int
	cpu time.Duration
}

func (r rawSample) per() time.Duration {
	if r.n == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.n)
}

// sampleRawCost measures op (rawOp: rawVerifyCost's operation) in
// batches of 10, 50 ms apart, on a locked OS thread whose own CPU time it
// counts (RUSAGE_THREAD), until stop is closed.
func sampleRawCost(stop <-chan struct{}, op func()) rawSample {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var r rawSample
	for {
		select {
		case <-stop:
			return r
		case <-time.After(50 * time.Millisecond):
		}
		c0 := threadCPU()
		for range 10 {
			op()
		}
		r.cpu += threadCPU() - c0
		r.n += 10
	}
}

// threadCPU is the calling thread's user + system CPU time.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD (Linux)
	var ru syscall.Rusage
	_ = syscall.Getrusage(rusageThread, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawVerifyCost is the single-core cost of two ES256 JWS verifications
// through the project's JOSE code, plus, with ecdh, one P-256 ECDH.
func rawVerifyCost(iters int, withECDH bool) time.Duration {
	op := rawOp(withECDH)
	c0 := processCPU()
	for range iters {
		op()
	}
	return (processCPU() - c0) / time.Duration(iters)
}

// rawOp is one raw operation: two ES256 JWS verifications through the
// project's JOSE code, plus, with ecdh, one P-256 ECDH.
func rawOp(withECDH bool) func() {
	s, _ := keys.Generate(keys.ES256)
	pk := jose.PublicKey{Key: s.Public(), Alg: s.Algorithm()}
	tok, _ := jose.Sign(s, map[string]any{"typ": "JWT"}, []byte(`{"iss":"x","iat":1}`))
	opts := jose.VerifyOptions{Typ: []string{"JWT"}, Key: func(*jose.Header, []byte) (jose.PublicKey, error) { return pk, nil }}
	a, _ := ecdh.P256().GenerateKey(rand.Reader)
	bk, _ := ecdh.P256().GenerateKey(rand.Reader)
	return func() {
		_, _ = jose.Verify(tok, opts)
		_, _ = jose.Verify(tok, opts)
		if withECDH {
			_, _ = a.ECDH(bk.PublicKey())
		}
	}
}

// processCPU is the process's user + system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadJob is one prepared request of TestVerifierLoad (a response, as a
// form) or TestHolderLoad (an accept, JSON with the citizen's session
// token).
type loadJob struct {
	Path  string `json:"path"`
	Body  string `json:"body"`
	Token string `json:"token,omitempty"`
}

// walletResult is what TestVerifierLoadWallets reports.
type walletResult struct {
	OK, Failed                  int
	WallNS, P50NS, P99NS, MaxNS int64
}

// TestVerifierLoadWallets is the wallets of TestVerifierLoad (and the
// citizens' apps of TestHolderLoad), run by it in a child process: 64
// goroutines posting the prepared requests.
func TestVerifierLoadWallets(t *testing.T) {
	file, base := os.Getenv("SSI_VERIFIER_LOAD_JOBS"), os.Getenv("SSI_VERIFIER_LOAD_BASE")
	if file == "" || base == "" {
		t.Skip("run by TestVerifierLoad")
	}
	const clients = 64
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	var jobs []loadJob
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var j loadJob
		require.NoError(t, json.Unmarshal([]byte(line), &j))
		jobs = append(jobs, j)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}}
	ch := make(chan loadJob)
	lat := make([]time.Duration, 0, len(jobs))
	var mu sync.Mutex
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for j := range ch {
				t0 := time.Now()
				req, _ := http.NewRequest(http.MethodPost, base+j.Path, strings.NewReader(j.Body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if j.Token != "" {
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+j.Token)
				}
				resp, err := hc.Do(req)
				dt := time.Since(t0)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body) // read to the end: the connection is kept
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					if failed.Add(1) == 1 {
						t.Log("first failure:", err)
					}
					continue
				}
				mu.Lock()
				lat = append(lat, dt)
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	wall := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := walletResult{OK: len(lat), Failed: int(failed.Load()), WallNS: int64(wall)}
	if len(lat) > 0 {
		r.P50NS, r.P99NS, r.MaxNS = int64(lat[len(lat)/2]), int64(lat[len(lat)*99/100]), int64(lat[len(lat)-1])
	}
	out, _ := json.Marshal(r)
	fmt.Println("WALLETS " + string(out))
}

// startLoadVerifier runs `ssi verifier` in a child process (this test
// binary, in TestVerifierLoadServer) for the demo venue of the `ssi dev`
// in dir (its tenant, its sealed key under dev's KEK, the entry policy
// taking the passes of issuer), on the store dsn, trusting dev's ledger
// and reaching its registry at registry. It returns the verifier's public
// and admin URLs, its process ID, and a function that stops it (SIGTERM)
// and waits for a clean exit.
func startLoadVerifier(t *testing.T, dir, registry, issuer, dsn string) (base, admin string, pid int, stop func()) {
	t.Helper()
	kek, err := devKEK("", dir)
	require.NoError(t, err)
	keyFile := filepath.Join(dir, "keys", "venue-verifier.key")
	signer, err := openSealedKey(keyFile, kek, "the venue's key")
	require.NoError(t, err)
	vd, err := did.KeyDID(signer.Public())
	require.NoError(t, err)
	pol := entryPolicy()
	pol.Issuers = []string{issuer}
	vdir := t.TempDir()
	b, err := json.Marshal([]verifierVenueFile{{ID: "venue", DID: vd, KeyID: vd + "#" + strings.TrimPrefix(vd, "did:key:"),
		KeyFile: keyFile, Policies: []verifierPolicyFile{pol}}})
	require.NoError(t, err)
	venues := filepath.Join(vdir, "venues.json")
	require.NoError(t, os.WriteFile(venues, b, 0o600))
	args, err := json.Marshal([]string{"verifier", "--data", vdir, "--store", dsn, "--addr", "127.0.0.1:0",
		"--kek-file", filepath.Join(dir, "kek"), "--venues", venues, "--registry-url", registry,
		"--trust-file", filepath.Join(dir, "ledger", "node0", "config", "genesis.json"), "--log-level", "warn", "--shutdown-timeout", "5s"})
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestVerifierLoadServer$")
	cmd.Env = append(os.Environ(), "SSI_VERIFIER_LOAD_SERVER="+string(args), "SSI_VERIFIER_LOAD=")
	wait := time.Minute
	if out := os.Getenv("SSI_VERIFIER_LOAD_CALLGRIND"); out != "" {
		// Instructions, not time: the verifier under callgrind (which does
		// not survive Go's preemption signals), counting only while
		// TestVerifierLoad turns it on (callgrindControl).
		env := append(cmd.Env, "GODEBUG=asyncpreemptoff=1")
		cmd = exec.Command("valgrind", "--tool=callgrind", "--dump-instr=yes", "--instr-atstart=no",
			"--callgrind-out-file="+out, os.Args[0], "-test.run=^TestVerifierLoadServer$")
		cmd.Env = env
		wait = 15 * time.Minute
	}
	if g := os.Getenv("SSI_VERIFIER_LOAD_GOGC"); g != "" {
		cmd.Env = append(cmd.Env, "GOGC="+g) // the verifier's alone
	}
	var stderr safeBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads after the banner
			}
		}
		exited <- cmd.Wait()
	}()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			require.NoError(t, err, "ssi verifier exit: %s", stderr.String())
		case <-time.After(wait / 2):
			_ = cmd.Process.Kill()
			t.Fatalf("ssi verifier did not stop")
		}
	}
	deadline := time.After(wait)
	for base == "" || admin == "" {
		select {
		case l := <-lines:
			if rest, ok := strings.CutPrefix(l, "ssi verifier listening on "); ok {
				base, _, _ = strings.Cut(rest, " ")
			} else if rest, ok := strings.CutPrefix(l, "  admin    "); ok {
				admin, _, _ = strings.Cut(rest, " ")
			}
		case err := <-exited:
			t.Fatalf("ssi verifier exited: %v: %s", err, stderr.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("ssi verifier did not start: %s", stderr.String())
		}
	}
	return base, admin, cmd.Process.Pid, stop
}

// TestVerifierLoadServer is `ssi verifier` for TestVerifierLoad, run by
// it in a child process with the arguments of SSI_VERIFIER_LOAD_SERVER
// (JSON); SIGTERM stops it.
func TestVerifierLoadServer(t *testing.T) {
	env := os.Getenv("SSI_VERIFIER_LOAD_SERVER")
	if env == "" {
		t.Skip("run by TestVerifierLoad")
	}
	var args []string
	require.NoError(t, json.Unmarshal([]byte(env), &args))
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	require.Equal(t, 0, run(ctx, args, os.Stdout, os.Stderr))
}

// pidCPU is the user + system CPU time of process pid (/proc/PID/stat).
func pidCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	d, err := readPidCPU(pid)
	require.NoError(t, err)
	return d
}

// readPidCPU is pidCPU's reading, an error when the process has gone.
func readPidCPU(pid int) (time.Duration, error) {
	u, err := readProcCPU(pid)
	return u.user + u.sys, err
}

// procUsage is what /proc tells of a process: its user and system CPU
// time (/proc/PID/stat), its read and write system calls (syscr and
// syscw of /proc/PID/io: every read, recvfrom, write, sendto …) and the
// context switches of all its threads (/proc/PID/task/*/status).
type procUsage struct {
	user, sys          time.Duration
	syscr, syscw       int64
	voluntary, preempt int64
}

func (u procUsage) sub(v procUsage) procUsage {
	return procUsage{user: u.user - v.user, sys: u.sys - v.sys, syscr: u.syscr - v.syscr, syscw: u.syscw - v.syscw,
		voluntary: u.voluntary - v.voluntary, preempt: u.preempt - v.preempt}
}

// readProcUsage reads procUsage of pid; what it cannot read stays 0.
func readProcUsage(pid int) (procUsage, error) {
	u, err := readProcCPU(pid)
	if err != nil {
		return u, err
	}
	dir := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(dir + "/io"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ": ")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "syscr":
				u.syscr = n
			case "syscw":
				u.syscw = n
			}
		}
	}
	tasks, _ := os.ReadDir(dir + "/task")
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/task/" + t.Name() + "/status")
		if err != nil {
			continue // the thread ended
		}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(l, ":")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "voluntary_ctxt_switches":
				u.voluntary += n
			case "nonvoluntary_ctxt_switches":
				u.preempt += n
			}
		}
	}
	return u, nil
}

// readProcCPU reads the user and system CPU time of pid
// (/proc/PID/stat), an error when the process has gone.
func readProcCPU(pid int) (procUsage, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procUsage{}, err
	}
	// The fields after the command name, which is in parentheses: state
	// is the first, utime and stime the 12th and 13th.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procUsage{}, fmt.Errorf("/proc/%d/stat has no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) <= 13 {
		return procUsage{}, fmt.Errorf("/proc/%d/stat is short", pid)
	}
	ut, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return procUsage{}, err
	}
	st, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return procUsage{}, err
	}
	const clockTicks = 100 // USER_HZ, the unit of /proc's times on Linux
	return procUsage{user: time.Duration(ut) * time.Second / clockTicks, sys: time.Duration(st) * time.Second / clockTicks}, nil
}

// goMemStats reads, from the Prometheus metrics at url (an ssi admin
// listener's /metrics), the bytes and objects the process has allocated
// and its garbage collections so far.
func goMemStats(t *testing.T, url string) (bytes, objects, gcs float64) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_alloc_bytes_total":
			bytes = n
		case "go_memstats_mallocs_total":
			objects = n
		case "go_gc_duration_seconds_count":
			gcs = n
		}
	}
	require.NoError(t, sc.Err())
	return bytes, objects, gcs
}
