package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// BenchmarkRespond is one wallet response (direct_post) through the
// verifier's handler as `ssi` mounts it: the router with the middleware
// every ssi server has (security headers, observability with Prometheus
// metrics and the access log at warn, the body cap), the form, the
// transaction from memory, the whole check (trust answers from the
// in-memory double), the sealing of the shown claims and the verdict's
// group commit, on SQLite and, with SSI_TEST_POSTGRES, on PostgreSQL.
// 32 goroutines per core answer prepared transactions (created, request
// fetched, presentation and KB-JWT signed before the timer), calling the
// handler without a network: net/http's server is not in it (the load
// command, TestVerifierLoad in cmd/ssi, has it).
//
// It reports allocations per response (-benchmem), the process's CPU
// per response (cpu-ns: user + system; PostgreSQL's own is in its
// process), and ratio: that CPU ÷ 2 × a bare P-256 verification measured
// in the same run, after the timed phase, on one goroutine.
//
//	go test -run '^$' -bench 'Respond$' -benchmem -benchtime 2000x -count 3 ./verifier
func BenchmarkRespond(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"sqlite", storetest.OpenSQLite}}
	if os.Getenv(storetest.PostgresEnv) != "" {
		backends = append(backends, struct {
			name string
			open func(testing.TB) *store.Store
		}{"postgres", storetest.OpenPostgres})
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			w := newWorldOn(b, be.open(b), func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
			})
			w.trust.quiet = true
			h := respondRouter(w)
			cred := w.issue(nil)
			type job struct {
				req *http.Request
				rec *httptest.ResponseRecorder
			}
			jobs := make([]job, b.N)
			for i := range jobs {
				tx := w.start(oid4vp.DirectPost)
				body := []byte(w.form(tx, w.present(cred, tx, nil)).Encode())
				r := httptest.NewRequest(http.MethodPost, "/verifier/v1/responses/"+tx.reqID, bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				jobs[i] = job{req: r, rec: httptest.NewRecorder()}
			}
			var next atomic.Int64
			b.SetParallelism(32)
			runtime.GC()
			callgrind(b, "--zero")
			stopProfile := profileTimed(b)
			cpu0 := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					j := jobs[next.Add(1)-1]
					h.ServeHTTP(j.rec, j.req)
				}
			})
			b.StopTimer()
			cpu := processCPU() - cpu0
			stopProfile()
			callgrind(b, "--dump=responses")
			for _, j := range jobs {
				if j.rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", j.rec.Code, j.rec.Body)
				}
			}
			raw := rawVerify(b, 500)
			callgrind(b, "--dump=raw")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(raw.Nanoseconds()), "raw-ns")
			b.ReportMetric(float64(cpu)/float64(b.N)/(2*float64(raw)), "ratio")
		})
	}
}

// profileTimed starts a CPU profile of the timed phase alone when
// SSI_BENCH_CPUPROFILE names a file, and returns what stops it.
func profileTimed(b *testing.B) func() {
	name := os.Getenv("SSI_BENCH_CPUPROFILE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// callgrind marks a phase for callgrind when SSI_BENCH_CALLGRIND names a
// directory: the benchmark then runs under
//
//	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind …
//
// (callgrind does not survive Go's preemption signals, nor a child's
// SIGCHLD), and at each mark it writes DIR/mark-ARG and waits for
// DIR/done-ARG, which a script outside creates after running
// callgrind_control ARG on it: counts zeroed before the timed phase,
// dumped after it (part "responses") and after the raw verifications
// (part "raw"), so that the instructions of the responses and of 2,500
// bare verifications can be read apart (callgrind_annotate; only the
// functions' own counts: Go's goroutine switches confuse callgrind's
// inclusive ones).
func callgrind(b *testing.B, arg string) {
	dir := os.Getenv("SSI_BENCH_CALLGRIND")
	if dir == "" {
		return
	}
	name := strings.TrimLeft(arg, "-")
	_ = os.Remove(filepath.Join(dir, "done"+name)) // a mark of the previous round
	if err := os.WriteFile(filepath.Join(dir, "mark"+name), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		b.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "done"+name)); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// respondRouter is the verifier's routes behind the middleware of every
// ssi server (cmd/ssi's newApp): security headers, observability with
// its metrics, the body cap.
func respondRouter(w *world) http.Handler {
	r := chi.NewRouter()
	r.Use(httpx.SecurityHeaders(true))
	r.Use(httpx.Observe(w.cfg.Logger, httpx.NewMetrics(prometheus.NewRegistry())))
	r.Use(httpx.LimitBody(httpx.DefaultMaxBody))
	Routes(r, w.svc, w.st, httpx.DefaultMaxBody)
	return r
}

// rawVerify is the CPU of one bare P-256 ECDSA verification, the best
// of batches of n on a locked thread.
func rawVerify(b *testing.B, n int) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pub, sum, sig := rawSignature(b)
	best := time.Duration(1 << 62)
	for range 5 {
		c0 := threadCPU()
		for range n {
			if !ecdsa.VerifyASN1(pub, sum, sig) {
				b.Fatal("verify failed")
			}
		}
		best = min(best, (threadCPU()-c0)/time.Duration(n))
	}
	return best
}

// rawSignature is a P-256 key's signature over a SHA-256 digest, what
// the benchmarks' raw verifications check.
func rawSignature(b *testing.B) (pub *ecdsa.PublicKey, digest, sig []byte) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte("signing input"))
	sig, err = ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	return &k.PublicKey, sum[:], sig
}

// processCPU is the process's user + system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU is the calling thread's user + system CPU time.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD (Linux)
	var ru syscall.Rusage
	_ = syscall.Getrusage(rusageThread, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
