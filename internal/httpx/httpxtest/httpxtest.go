// Package httpxtest helps HTTP tests hold every ssi endpoint to the error
// conventions: a client that fails the test when any error response leaks
// internals or carries an error code openapi.yaml does not document, and
// helpers to read problem documents.
package httpxtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
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
	codes   *Codes // nil: codes are not checked
	Checked int    // error responses scanned
}

// NewClient returns an HTTP client whose every error response (status ≥
// 400) is scanned for Leaks and for the registered secrets, and whose
// error code (a problem document's code, an OAuth error's error) must be
// one openapi.yaml documents; a hit fails t.
func NewClient(t testing.TB) (*http.Client, *LeakChecker) {
	codes, err := documented()
	if err != nil {
		t.Fatalf("reading the documented error codes: %v", err)
	}
	lc := &LeakChecker{t: t, next: http.DefaultTransport, codes: codes}
	return &http.Client{Transport: lc}, lc
}

// Codes are the error codes an API description documents.
type Codes struct {
	Problem []string // components.schemas.ErrorCode.enum
	OAuth   []string // components.schemas.OAuthError.properties.error.enum
}

// ReadCodes reads the documented error codes from the OpenAPI document at
// path.
func ReadCodes(path string) (*Codes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Components struct {
			Schemas struct {
				ErrorCode struct {
					Enum []string `yaml:"enum"`
				} `yaml:"ErrorCode"`
				OAuthError struct {
					Properties struct {
						Error struct {
							Enum []string `yaml:"enum"`
						} `yaml:"error"`
					} `yaml:"properties"`
				} `yaml:"OAuthError"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &Codes{Problem: doc.Components.Schemas.ErrorCode.Enum, OAuth: doc.Components.Schemas.OAuthError.Properties.Error.Enum}
	if len(c.Problem) == 0 || len(c.OAuth) == 0 {
		return nil, fmt.Errorf("%s: no ErrorCode enum or no OAuthError error enum", path)
	}
	return c, nil
}

// documented reads the module's openapi.yaml once: it is found next to
// go.mod, above the test's working directory (the package directory).
var documented = sync.OnceValues(func() (*Codes, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return ReadCodes(filepath.Join(dir, "openapi.yaml"))
		}
		up := filepath.Dir(dir)
		if up == dir {
			return nil, errors.New("no go.mod above the working directory")
		}
		dir = up
	}
})

// undocumented returns the error code of an error body when openapi.yaml
// does not document it, and "" otherwise. A problem document is checked
// against ErrorCode, an OAuth error ({"error": …}) against OAuthError.
func (c *Codes) undocumented(contentType string, body []byte) string {
	var e struct {
		Code  *string `json:"code"`
		Error *string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	switch {
	case strings.HasPrefix(contentType, "application/problem+json") && e.Code != nil:
		if !slices.Contains(c.Problem, *e.Code) {
			return *e.Code
		}
	case strings.HasPrefix(contentType, "application/json") && e.Error != nil:
		if !slices.Contains(c.OAuth, *e.Error) {
			return *e.Error
		}
	}
	return ""
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
	if lc.codes != nil {
		if code := lc.codes.undocumented(resp.Header.Get("Content-Type"), body); code != "" {
			lc.t.Errorf("%s %s: error response %d has the code %q, which openapi.yaml does not document", r.Method, r.URL.Path, resp.StatusCode, code)
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
