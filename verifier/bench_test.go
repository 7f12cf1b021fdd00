package verifier

import (
	"context"
	"crypto/ecdsa"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/oid4vp"
)

// BenchmarkCheckRatio is the verifier's library path for one presented
// vaccination pass (4 of 5 claims disclosed, KB-JWT): the trust check of
// DESIGN §4 (envelope, issuer DID and key at iat, accreditation, issuer
// signature, disclosures, times, KB-JWT, status) with the trust layer's
// answers already cached, then the DCQL match and the policy rule. The
// trust answers come from the test double, in memory: what a warm
// trust.Client cache costs (a map look-up, 0.2 µs, BENCHMARKS.md) is
// not in it. It alternates short batches of the check and of a bare
// P-256 ECDSA verification and reports the best batch of each, so both
// see the same contention; ratio = check / (2 × raw).
//
//	go test -run '^$' -bench CheckRatio -benchtime 300x -count 3 ./verifier
func BenchmarkCheckRatio(b *testing.B) {
	w := newWorld(b)
	w.trust.quiet = true
	tx := w.startB(b)
	pres := w.present(w.issue(nil), tx, nil)
	in := checkInput{venue: &w.svc.cfg.Venues[0], policy: &w.svc.cfg.Venues[0].Policies[0], nonce: tx.request.Nonce,
		aud: w.venue.ClientID(), vpToken: map[string][]string{"pass": {pres}}}
	ctx := context.Background()
	if o := w.svc.verify(ctx, in); !o.green {
		b.Fatal(o.reasons)
	}
	pub, sum, sig := rawSignature(b)
	const batch = 50
	bestC, bestR := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		t0 := time.Now()
		for range batch {
			if o := w.svc.verify(ctx, in); !o.green {
				b.Fatal(o.reasons)
			}
		}
		t1 := time.Now()
		for range batch {
			if !ecdsa.VerifyASN1(pub, sum, sig) {
				b.Fatal("verify failed")
			}
		}
		t2 := time.Now()
		bestC, bestR = min(bestC, t1.Sub(t0)), min(bestR, t2.Sub(t1))
	}
	b.ReportMetric(float64(bestC.Nanoseconds())/batch, "check-ns")
	b.ReportMetric(float64(bestR.Nanoseconds())/batch, "raw-ns")
	b.ReportMetric(float64(bestC)/(2*float64(bestR)), "ratio")
}

// startB is start for a benchmark.
func (w *world) startB(b *testing.B) txn {
	b.Helper()
	return w.start(oid4vp.DirectPost)
}
