// Package httpxtest helps HTTP tests hold every ssi endpoint to the error
// conventions: a client that fails the test when any error response leaks
// internals, and helpers to read problem documents.
package httpxtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Leaks are the markers that must never appear in an error response: they
// betray source paths, stack traces, SQL or the database driver.
var Leaks = []string{".go:", "goroutine", "sql", "pgx", "panic", "runtime."}

// encoded matches long base64, base64url or hex runs (signatures, hashes,
// receipts). They are removed before the scan for Leaks: random encodings
// contain any short word now and then, while driver messages and stack
// traces never form 40 characters without a space or punctuation.
var encoded = regexp.MustCompile(`[A-Za-z0-9+/=_-]{40,}`)

// Secrets are extra strings (keys, tokens, disclosures) a test registers
// with a LeakChecker; they must never appear in any error response either.
type LeakChecker struct {
	t       testing.TB
	mu      sync.Mutex
	secrets []string
	next    http.RoundTripper
	Checked int // error responses scanned
}

// NewClient returns an HTTP client whose every error response (status ≥
// 400) is scanned for Leaks and for the registered secrets; a hit fails t.
func NewClient(t testing.TB) (*http.Client, *LeakChecker) {
	lc := &LeakChecker{t: t, next: http.DefaultTransport}
	return &http.Client{Transport: lc}, lc
}

// Secret registers s as a string that must never appear in an error body.
func (lc *LeakChecker) Secret(s string) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.secrets = append(lc.secrets, s)
}

// RoundTrip implements http.RoundTripper.
func (lc *LeakChecker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := lc.next.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	lower := strings.ToLower(encoded.ReplaceAllString(string(body), ""))
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.Checked++
	for _, m := range Leaks {
		if strings.Contains(lower, m) {
			lc.t.Errorf("%s %s: error response %d leaks %q: %s", r.Method, r.URL.Path, resp.StatusCode, m, body)
		}
	}
	for _, s := range lc.secrets {
		if s != "" && strings.Contains(string(body), s) {
			lc.t.Errorf("%s %s: error response %d leaks a secret", r.Method, r.URL.Path, resp.StatusCode)
		}
	}
	return resp, nil
}

// Problem is a decoded problem document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// ReadProblem checks that resp is a problem document with the given status
// and returns it.
func ReadProblem(t testing.TB, resp *http.Response, status int) Problem {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d; body: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem document does not parse: %v: %s", err, body)
	}
	if p.Status != status || p.Code == "" || p.Type != "urn:ssi:problem:"+p.Code {
		t.Fatalf("problem document is inconsistent: %+v", p)
	}
	return p
}
