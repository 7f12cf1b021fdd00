// Command ssi-load drives the issuer's credential endpoint over real HTTP
// with many concurrent wallets and reports throughput, latency and the CPU
// cost per credential against the raw ES256 cost (1 verify + 1 sign + 1
// self-verify).
//
// Each credential request includes the whole server-side work: access
// token lookup, proof JWT verification, c_nonce consumption, the
// record-before-sign transaction (status index allocation, issuance
// record, audit), signing, self-verification with the core verifier, and
// marking the record issued. Offers, tokens, nonces and proofs are prepared
// before the timed phase, so the wallets' own signing is not measured.
// With -dpop the access tokens are DPoP-bound (RFC 9449), and each
// credential request also carries a DPoP proof, prepared too; the server
// then verifies one more signature and records the proof's jti.
//
// It runs against a fresh schema on the PostgreSQL server named by -store
// (default $SSI_TEST_POSTGRES) and drops the schema at the end. It never
// writes anything outside that schema.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vci"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/issuer"
	"github.com/ssi-project/ssi/issuer/issuertest"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ssi-load:", err)
		os.Exit(1)
	}
}

type job struct {
	token  string
	proofs []string
	// dpopKey and dpop are the token's DPoP key and the proof for the
	// credential request, with -dpop.
	dpopKey keys.Signer
	dpop    string
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ssi-load", flag.ContinueOnError)
	dsn := fs.String("store", os.Getenv("SSI_TEST_POSTGRES"), "PostgreSQL DSN (a fresh schema is created and dropped)")
	n := fs.Int("n", 4000, "credentials to issue in the timed phase")
	clients := fs.Int("c", 64, "concurrent wallets")
	conns := fs.Int("conns", 16, "store connection pool size")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the timed phase to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile to this file, and the one from before the timed phase to this file + \".base\" (compare with go tool pprof -diff_base)")
	batch := fs.Int("batch", 1, "proofs (credentials) per credential request, at most 10")
	commitGroup := fs.Int("commit-group", 0, "the issuer's CommitGroup (0: its default)")
	commitWorkers := fs.Int("commit-workers", 0, "the issuer's CommitWorkers (0: its default)")
	useDPoP := fs.Bool("dpop", false, "DPoP-bound access tokens (RFC 9449): every credential request carries a DPoP proof")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(*dsn, "postgres") {
		return errors.New("-store must be a postgres:// DSN")
	}

	var rb [6]byte
	_, _ = rand.Read(rb[:])
	schema := "ssiload_" + hex.EncodeToString(rb[:])
	adm, err := store.Open(ctx, *dsn, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer adm.Close()
	if _, err := store.Raw(adm).Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return err
	}
	defer func() { _, _ = store.Raw(adm).Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE") }()
	st, err := store.Open(ctx, *dsn, store.Options{Schema: schema, MaxConns: *conns})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if _, err := (&admin.Service{Store: st, Now: time.Now}).CreateTenant(ctx, admin.Actor{ID: "load"}, store.Tenant{ID: "health", Name: "health", Kind: "agency"}); err != nil {
		return err
	}

	sg, err := keys.Generate(keys.ES256)
	if err != nil {
		return err
	}
	d, err := did.KeyDID(sg.Public())
	if err != nil {
		return err
	}
	health, _ := issuer.DevConfigs("urn:ssi:vct:vaccination-pass:1", "urn:ssi:vct:benefits-eligibility:1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	svc, err := issuer.New(issuer.Config{Store: st, PublicURL: base, RatePerClient: 1 << 30, CommitWorkers: *commitWorkers, CommitGroup: *commitGroup, RatePerCode: 1 << 30,
		Tenants: []issuer.Tenant{{ID: "health", DID: d, KeyID: d + "#" + strings.TrimPrefix(d, "did:key:"), Signer: sg, Configs: health}}})
	if err != nil {
		return err
	}
	r := chi.NewRouter()
	r.Use(httpx.Observe(slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	r.Use(httpx.LimitBody(64 << 10))
	issuer.Routes(r, svc, st, 64<<10)
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	if *batch < 1 || *batch > 10 {
		return errors.New("-batch must be 1 to 10")
	}
	requests := (*n + *batch - 1) / *batch
	fmt.Fprintf(out, "preparing %d offers, tokens, nonces and %d proofs on %s …\n", requests, requests**batch, st.Backend())
	prepStart := time.Now()
	jobs, err := prepare(ctx, svc, requests, *batch, *useDPoP)
	if err != nil {
		return err
	}

	// A running deployment's tables have statistics: autovacuum analyses a
	// table within a minute of its first rows. The fresh schema has none
	// yet, and without them PostgreSQL picks an index by guesswork (the
	// offers' tenant index for a code look-up, the nonces' kind prefix
	// for a batch delete) in the cached plans the timed phase would use.
	// Analysing now invalidates those plans.
	if _, err := store.Raw(adm).Exec(ctx, "ANALYZE "+schema+".credential_offers, "+schema+".single_use, "+schema+".credentials, "+schema+".status_lists, "+schema+".audit"); err != nil {
		return err
	}

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients * 2, MaxConnsPerHost: *clients * 2}}
	wallet := &issuertest.Client{HTTP: hc, Base: base}
	ch := make(chan job)
	lat := make([]time.Duration, 0, *n)
	var mu sync.Mutex
	var failed atomic.Int64
	var wg sync.WaitGroup
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	if *memProfile != "" {
		if err := writeAllocs(*memProfile + ".base"); err != nil {
			return err
		}
	}
	// A DPoP proof is fresh for 60 s after its iat: the timed phase must
	// start well within that (a proof that went stale is a failed request).
	if *useDPoP && time.Since(prepStart) > 40*time.Second {
		return fmt.Errorf("preparing took %v, too long for the DPoP proofs to stay fresh: use a smaller -n", time.Since(prepStart).Round(time.Second))
	}
	cpu0, db0 := cpuTime(), postgresCPU()
	start := time.Now()
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				s := wallet.Session(svc.IssuerURL("health"), "vaccination-pass", j.token)
				if j.dpopKey != nil {
					s.TokenType, s.DPoPKey, s.NextDPoPProof = "DPoP", j.dpopKey, j.dpop
				}
				t0 := time.Now()
				creds, err := s.Credentials(ctx, j.proofs)
				dt := time.Since(t0)
				if err == nil && len(creds) != len(j.proofs) {
					err = fmt.Errorf("%d credentials for %d proofs", len(creds), len(j.proofs))
				}
				if err != nil {
					if failed.Add(1) == 1 {
						fmt.Fprintln(os.Stderr, "first failure:", err)
					}
					continue
				}
				mu.Lock()
				lat = append(lat, dt)
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	wall := time.Since(start)
	cpu, db := cpuTime()-cpu0, postgresCPU()-db0
	if *profile != "" {
		pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		if err := writeAllocs(*memProfile); err != nil {
			return err
		}
	}

	raw := rawES256Cost(2000)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return errors.New("no credential was issued")
	}
	ok := len(lat) * *batch
	perCred := cpu / time.Duration(ok)
	tokens := "bearer"
	if *useDPoP {
		tokens = "DPoP-bound"
	}
	fmt.Fprintf(out, "store %s, %d concurrent wallets, %s tokens, %d credentials in %d requests of %d (%d requests failed) in %v\n",
		st.Backend(), *clients, tokens, ok, len(lat), *batch, failed.Load(), wall.Round(time.Millisecond))
	fmt.Fprintf(out, "throughput  %.0f credentials/s\n", float64(ok)/wall.Seconds())
	fmt.Fprintf(out, "latency     p50 %v  p99 %v  max %v (per request)\n", pct(lat, 50), pct(lat, 99), lat[len(lat)-1])
	fmt.Fprintf(out, "cpu         %v per credential (process, wallets' HTTP included); raw ES256 verify+sign+verify %v; ratio %.1f\n",
		perCred.Round(time.Microsecond), raw.Round(time.Microsecond), float64(perCred)/float64(raw))
	if db0 >= 0 && db >= 0 {
		fmt.Fprintf(out, "db cpu      %v per credential (PostgreSQL processes on this machine; ratio to raw ES256 %.1f)\n",
			(db / time.Duration(ok)).Round(time.Microsecond), float64(db/time.Duration(ok))/float64(raw))
	}
	var records int64
	if err := store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials WHERE state = 'issued'", nil, &records); err == nil {
		fmt.Fprintf(out, "records     %d issued\n", records)
	}
	return nil
}

func pct(s []time.Duration, p int) time.Duration {
	i := len(s) * p / 100
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i].Round(10 * time.Microsecond)
}

// prepare creates n redeemed offers with a nonce and batch proofs (of
// distinct keys) each, with 8 workers.
func prepare(ctx context.Context, svc *issuer.Service, n, batch int, useDPoP bool) ([]job, error) {
	subject, _ := json.Marshal(map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1950-12-10",
		"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}}})
	jobs := make([]job, n)
	idx := make(chan int)
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				j, err := prepareOne(ctx, svc, subject, i, batch, useDPoP)
				if err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				jobs[i] = j
			}
		}()
	}
	for i := range n {
		idx <- i
	}
	close(idx)
	wg.Wait()
	return jobs, firstErr
}

func prepareOne(ctx context.Context, svc *issuer.Service, subject []byte, i, batch int, useDPoP bool) (job, error) {
	o, err := svc.CreateOffer(ctx, issuer.Actor{TenantID: "health", ID: "load"}, issuer.OfferRequest{
		ConfigID: "vaccination-pass", SubjectRef: fmt.Sprintf("citizen-%d", i), SubjectData: subject})
	if err != nil {
		return job{}, err
	}
	code := o.OfferURL[strings.LastIndex(o.OfferURL, "/")+1:]
	treq := issuer.TokenRequest{GrantType: issuer.PreAuthGrant, Code: code, TxCode: o.TxCode, Client: "load"}
	var dk keys.Signer
	if useDPoP {
		if dk, err = keys.Generate(keys.ES256); err != nil {
			return job{}, err
		}
		p, err := oid4vci.DPoPProof(dk, http.MethodPost, svc.IssuerURL("health")+"/token", "", time.Now())
		if err != nil {
			return job{}, err
		}
		treq.DPoP = []string{p}
	}
	tr, err := svc.Token(ctx, "health", treq)
	if err != nil {
		return job{}, err
	}
	nonce, err := svc.Nonce(ctx, "health", "load")
	if err != nil {
		return job{}, err
	}
	j := job{token: tr.AccessToken}
	if dk != nil {
		if tr.TokenType != "DPoP" {
			return job{}, fmt.Errorf("token_type %q with a DPoP proof", tr.TokenType)
		}
		if j.dpop, err = oid4vci.DPoPProof(dk, http.MethodPost, svc.IssuerURL("health")+"/credential", tr.AccessToken, time.Now()); err != nil {
			return job{}, err
		}
		j.dpopKey = dk
	}
	for range batch {
		h, err := keys.Generate(keys.ES256)
		if err != nil {
			return job{}, err
		}
		p, err := oid4vci.Proof(h, svc.IssuerURL("health"), nonce, time.Now())
		if err != nil {
			return job{}, err
		}
		j.proofs = append(j.proofs, p)
	}
	return j, nil
}

// rawES256Cost is the single-core cost of one verify + one sign + one
// verify with ES256 through the project's JOSE code.
func rawES256Cost(iters int) time.Duration {
	s, _ := keys.Generate(keys.ES256)
	pk := jose.PublicKey{Key: s.Public(), Alg: s.Algorithm()}
	payload := []byte(`{"iss":"x","iat":1}`)
	tok, _ := jose.Sign(s, map[string]any{"typ": "JWT"}, payload)
	opts := jose.VerifyOptions{Typ: []string{"JWT"}, Key: func(*jose.Header, []byte) (jose.PublicKey, error) { return pk, nil }}
	c0 := cpuTime()
	for range iters {
		_, _ = jose.Verify(tok, opts)
		_, _ = jose.Sign(s, map[string]any{"typ": "JWT"}, payload)
		_, _ = jose.Verify(tok, opts)
	}
	return (cpuTime() - c0) / time.Duration(iters)
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the user + system CPU time of the PostgreSQL server when
// it runs on this machine (Linux): every live postgres process, plus the
// children that the postmaster has reaped. It is -1 when unknown.
func postgresCPU() time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	var ticks int64
	seen := false
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17)
		st := string(b)
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open || st[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(st[end+1:])
		if len(f) < 15 {
			continue
		}
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
		seen = true
	}
	if !seen {
		return -1
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// writeAllocs writes the allocation profile so far to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC() // the profile is as of the last collection
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
