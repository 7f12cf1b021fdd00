package sdjwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

// BenchmarkIssue issues a 10-claim SD-JWT VC (every claim disclosable) with ES256.
func BenchmarkIssue(b *testing.B) {
	e := newEnv(b)
	claims := e.vcClaims(b)
	is := &Issuer{Signer: e.issuer}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := is.Issue(Request{Claims: claims, Disclose: vcDisclose}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPresent reveals 3 of 10 disclosures and signs a KB-JWT (ES256).
func BenchmarkPresent(b *testing.B) {
	e := newEnv(b)
	issued := e.issue(b, e.vcClaims(b), vcDisclose)
	kb := e.kb()
	reveal := []string{"/given_name", "/family_name", "/age_over_18"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Present(issued, reveal, kb); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPresentation verifies an SD-JWT VC with 10 disclosures of
// which 3 are revealed, plus its KB-JWT: two ES256 verifications.
func BenchmarkVerifyPresentation(b *testing.B) {
	e := newEnv(b)
	issued := e.issue(b, e.vcClaims(b), vcDisclose)
	pres, err := Present(issued, []string{"/given_name", "/family_name", "/age_over_18"}, e.kb())
	if err != nil {
		b.Fatal(err)
	}
	v := e.verifier()
	opts := e.kbOpts()
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.Verify(pres, opts)
		if err != nil || len(res.Disclosures) != 3 {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawES256Verify is the bound: one bare P-256 ECDSA verification.
func BenchmarkRawES256Verify(b *testing.B) {
	pub, sum, sig := rawES256(b)
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(pub, sum, sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkVerifyRatio measures the acceptance ratio directly on a shared,
// noisy machine: it alternates short batches of VerifyPresentation and of a
// raw ES256 verification and reports the best batch of each, so both sides
// see the same contention. ratio = verify / (2 × raw).
func BenchmarkVerifyRatio(b *testing.B) {
	e := newEnv(b)
	issued := e.issue(b, e.vcClaims(b), vcDisclose)
	pres, err := Present(issued, []string{"/given_name", "/family_name", "/age_over_18"}, e.kb())
	if err != nil {
		b.Fatal(err)
	}
	v, opts := e.verifier(), e.kbOpts()
	pub, sum, sig := rawES256(b)
	const batch = 50
	bestV, bestR := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		t0 := time.Now()
		for range batch {
			if _, err := v.Verify(pres, opts); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range batch {
			if !ecdsa.VerifyASN1(pub, sum, sig) {
				b.Fatal("verify failed")
			}
		}
		t2 := time.Now()
		bestV, bestR = min(bestV, t1.Sub(t0)), min(bestR, t2.Sub(t1))
	}
	b.ReportMetric(float64(bestV.Nanoseconds())/batch, "verify-ns")
	b.ReportMetric(float64(bestR.Nanoseconds())/batch, "raw-ns")
	b.ReportMetric(float64(bestV)/(2*float64(bestR)), "ratio")
}

// rawES256 returns a P-256 key, a digest and its ASN.1 signature.
func rawES256(b *testing.B) (*ecdsa.PublicKey, []byte, []byte) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte("signing input"))
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	return &k.PublicKey, sum[:], sig
}
