package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
)

// BenchmarkHolderAccept is acceptance 6 of issue 16: POST
// /wallet/v1/presentations/{id}/accept (pick a fresh copy, build the
// presentation, sign its KB-JWT, direct_post it to the verifier, which
// checks it, and record the history) with 64 clients, on `ssi dev` (one
// process: holder, verifier, issuer, registry, ledger; SQLite). Outside
// the timer: the accounts, their credentials (10 copies each, one copy
// per presentation), the verifier's transactions and the consents. It
// reports presentations per second and the process CPU per presentation
// as a ratio to one raw ES256 signature measured in the same run.
//
//	go test -run '^$' -bench HolderAccept -benchtime 3200x ./cmd/ssi
func BenchmarkHolderAccept(b *testing.B) { benchmarkAccept(b, false) }

// BenchmarkHolderAcceptLocalVerifier is BenchmarkHolderAccept with the
// direct_post going to a local endpoint that answers at once (the
// registered demo venue's requests, signed with its key, served by the
// test): the holder's own cost, without the verifier's check.
//
//	go test -run '^$' -bench HolderAcceptLocalVerifier -benchtime 3200x ./cmd/ssi
func BenchmarkHolderAcceptLocalVerifier(b *testing.B) { benchmarkAccept(b, true) }

func benchmarkAccept(b *testing.B, local bool) {
	// 16 accounts of 4 clients each: the holder allows 30 logins a minute
	// from one address, and every client here is 127.0.0.1.
	const clients, accounts = 64, 16
	d := newDevHolder(b, "--rate-per-client", "0")
	per := (b.N + accounts - 1) / accounts
	var lv *localVerifier
	if local {
		lv = newLocalVerifier(b, d.dir)
	}
	byAccount, err := d.benchAccounts("bench-", accounts, per, lv, false)
	if err != nil {
		b.Fatal(err)
	}
	jobs := make([][]benchJob, clients)
	for a, js := range byAccount {
		for i, j := range js {
			c := a*(clients/accounts) + i%(clients/accounts)
			jobs[c] = append(jobs[c], j)
		}
	}

	var done, failed atomic.Int64
	var firstErr atomic.Value
	if path := os.Getenv("SSI_BENCH_PROFILE"); path != "" { // the timed phase only
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := processCPU()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for _, j := range jobs[c] {
				code, body := d.call(http.MethodPost, "/wallet/v1/presentations/"+j.consent+"/accept", j.tok, map[string]any{"choices": map[string]string{"pass": j.cred}}, nil)
				if code != http.StatusOK {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", code, body))
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := processCPU() - cpu0
	if failed.Load() > 0 {
		b.Fatalf("%d of %d accepts failed; first: %v", failed.Load(), failed.Load()+done.Load(), firstErr.Load())
	}
	sign, verify := rawES256(2000)
	raw := sign + 2*verify // the wallet's KB-JWT, the verifier's two checks
	n := float64(done.Load())
	b.ReportMetric(n/elapsed.Seconds(), "presentations/s")
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-us/presentation")
	b.ReportMetric(float64(sign.Nanoseconds())/1000, "us/raw-sign")
	b.ReportMetric(float64(cpu.Nanoseconds())/n/float64(sign.Nanoseconds()), "cpu/raw-sign")
	b.ReportMetric(float64(cpu.Nanoseconds())/n/float64(raw.Nanoseconds()), "cpu/raw-sign+2verify")
}

// benchAccounts makes accounts accounts (prefix and a number) with per
// consents each (benchClient), 8 at a time. With forwarded each account's
// requests say they come from a client address of its own (a holder that
// trusts loopback as its proxy allows 30 logins a minute per client).
func (d *devHolder) benchAccounts(prefix string, accounts, per int, lv *localVerifier, forwarded bool) ([][]benchJob, error) {
	byAccount := make([][]benchJob, accounts)
	var setup sync.WaitGroup
	errs := make(chan error, accounts)
	sem := make(chan struct{}, 8)
	for a := range accounts {
		setup.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			da := *d
			if forwarded {
				da.forwardedFor = fmt.Sprintf("10.0.%d.%d", a/250, a%250+1)
			}
			if err := da.benchClient(fmt.Sprintf("%s%d", prefix, a), per, lv, &byAccount[a]); err != nil {
				errs <- err
			}
		})
	}
	setup.Wait()
	close(errs)
	return byAccount, <-errs // nil when closed empty
}

// benchJob is one accept to time: the session, the consent, the credential.
type benchJob struct{ tok, consent, cred string }

// benchClient makes one client's account, enough credentials for per
// presentations (10 copies each), per verifier transactions and their
// consents.
func (d *devHolder) benchClient(user string, per int, lv *localVerifier, out *[]benchJob) error {
	tok := d.citizen(user)
	var creds []string
	for len(creds)*10 < per {
		o := d.offer(fmt.Sprintf("%s-%d", user, len(creds)))
		var c walletCredential
		code, b := d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode}, &c)
		if code != http.StatusCreated {
			return fmt.Errorf("receiving: %d %s", code, b)
		}
		creds = append(creds, c.ID)
	}
	for i := range per {
		var tx struct {
			URI string `json:"authorization_request_uri"`
		}
		for deadline := time.Now().Add(60 * time.Second); lv == nil; {
			code, b := d.call(http.MethodPost, d.verifier+"/verifier/v1/presentations", d.venue, map[string]string{"policy": "entry", "response_mode": "direct_post"}, &tx)
			if code == http.StatusCreated {
				break
			}
			if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
				return fmt.Errorf("creating a transaction: %d %s", code, b)
			}
			time.Sleep(100 * time.Millisecond) // the verifier checks its registration once it is anchored
		}
		if lv != nil {
			var err error
			if tx.URI, err = lv.request(); err != nil {
				return err
			}
		}
		var c consentDoc
		code, b := d.call(http.MethodPost, "/wallet/v1/presentations", tok, map[string]any{"authorization_request_uri": tx.URI}, &c)
		if code != http.StatusCreated || c.Status != "pending" {
			return fmt.Errorf("starting a presentation: %d %s", code, b)
		}
		*out = append(*out, benchJob{tok, c.ID, creds[i/10]})
	}
	return nil
}

// rawES256 is the CPU cost of one ES256 JWS signature and of one
// verification through the project's JOSE code, counted on the locked OS
// thread that runs them (RUSAGE_THREAD: not the process's other threads,
// nor wall time, which on a loaded machine counts the other processes'
// share).
func rawES256(iters int) (sign, verify time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s, _ := keys.Generate(keys.ES256)
	payload := []byte(`{"nonce":"n","aud":"a","iat":1,"sd_hash":"h"}`)
	start := threadCPU()
	var tok string
	for range iters {
		tok, _ = jose.Sign(s, map[string]any{"typ": "kb+jwt"}, payload)
	}
	sign = (threadCPU() - start) / time.Duration(iters)
	key := func(*jose.Header, []byte) (jose.PublicKey, error) {
		return jose.PublicKey{Key: s.Public(), Alg: keys.ES256}, nil
	}
	start = threadCPU()
	for range iters {
		_, _ = jose.Verify(tok, jose.VerifyOptions{Typ: []string{"kb+jwt"}, Key: key})
	}
	return sign, (threadCPU() - start) / time.Duration(iters)
}

// localVerifier serves request objects of the demo venue (signed with its
// key, so the registration check passes) and answers every direct_post
// at once: a verifier that costs nothing.
type localVerifier struct {
	srv      *httptest.Server
	key      keys.Signer
	did, kid string
	mu       sync.Mutex
	tokens   map[string]string
	n        int
	posted   atomic.Int64
	bodies   []string // the direct_post bodies, in order, when keep
	keep     bool
}

func newLocalVerifier(tb testing.TB, dir string) *localVerifier {
	k, d, kid := venueKey(tb, dir)
	v := &localVerifier{key: k, did: d, kid: kid, tokens: map[string]string{}}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/response/") {
			v.posted.Add(1)
			if v.keep {
				b, _ := io.ReadAll(r.Body)
				v.mu.Lock()
				v.bodies = append(v.bodies, string(b))
				v.mu.Unlock()
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
			return
		}
		v.mu.Lock()
		tok, ok := v.tokens[r.URL.Path]
		v.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
		_, _ = w.Write([]byte(tok))
	}))
	tb.Cleanup(v.srv.Close)
	return v
}

// request makes a new signed request for the entry policy's query and
// returns its authorization request URI.
func (v *localVerifier) request() (string, error) {
	v.mu.Lock()
	v.n++
	n := v.n
	v.mu.Unlock()
	qj := []byte(passQuery("vaccinated_within_policy", "given_name", "family_name", "birth_date"))
	q, err := dcql.Parse(qj)
	if err != nil {
		return "", err
	}
	now := time.Now()
	r := &oid4vp.Request{ClientID: oid4vp.ClientIDPrefixDID + v.did, ResponseMode: oid4vp.DirectPost,
		ResponseURI: fmt.Sprintf("%s/response/%d", v.srv.URL, n), Nonce: oid4vp.NewNonce(), State: oid4vp.NewNonce(), DCQL: q, DCQLJSON: qj,
		IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute),
		Metadata: oid4vp.ClientMetadata{VPFormatsSupported: map[string]oid4vp.FormatParams{oid4vp.FormatSDJWTVC: {SDJWTAlgs: []string{"ES256"}, KBJWTAlgs: []string{"ES256"}}}}}
	tok, err := oid4vp.SignRequest(v.key, v.kid, r)
	if err != nil {
		return "", err
	}
	path := fmt.Sprintf("/request/%d", n)
	v.mu.Lock()
	v.tokens[path] = tok
	v.mu.Unlock()
	return oid4vp.AuthorizationURI(oid4vp.SchemeOpenID4VP, r.ClientID, v.srv.URL+path, oid4vp.MethodGet), nil
}
