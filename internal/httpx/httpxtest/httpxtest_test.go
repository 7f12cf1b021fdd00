package httpxtest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// recorder captures what the checker reports instead of failing.
type recorder struct {
	testing.TB
	errors int
}

func (r *recorder) Errorf(string, ...any) { r.errors++ }

// reported sends one request through a LeakChecker (checking codes when
// codes is set) to a server that answers 400 with body, and tells whether
// the checker reported anything.
func reported(t *testing.T, codes *Codes, contentType, body string) bool {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	lc := &LeakChecker{t: rec, next: http.DefaultTransport, codes: codes}
	resp, err := (&http.Client{Transport: lc}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return rec.errors > 0
}

func TestLeakCheckerFlagsLeaksButNotEncodings(t *testing.T) {
	for name, tc := range map[string]struct {
		body  string
		leaks bool
	}{
		"driver error":         {`{"detail":"pgx: ERROR: relation (SQLSTATE 42P01)"}`, true},
		"stdlib sql":           {`{"detail":"database/sql: connection closed"}`, true},
		"source position":      {`{"detail":"at store.go:42"}`, true},
		"stack":                {`{"detail":"goroutine 7 [running]"}`, true},
		"clean problem":        {`{"code":"did_not_found","detail":"the DID was not found"}`, false},
		"base64 with the word": {`{"signed_header":"CpIDCgQICxABEgt0ZXN0LWxlZGdlchgFIgsIhYWKPgxQVGtC8qHMKy7abcdEFGH"}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := reported(t, nil, "", tc.body); got != tc.leaks {
				t.Fatalf("leak reported = %v, want %v", got, tc.leaks)
			}
		})
	}
}

func TestLeakCheckerFlagsUndocumentedCodes(t *testing.T) {
	codes := &Codes{Problem: []string{"did_not_found"}, OAuth: []string{"invalid_grant"}}
	for name, tc := range map[string]struct {
		contentType, body string
		flagged           bool
	}{
		"documented problem":    {"application/problem+json", `{"code":"did_not_found"}`, false},
		"undocumented problem":  {"application/problem+json", `{"code":"made_up"}`, true},
		"documented OAuth":      {"application/json", `{"error":"invalid_grant"}`, false},
		"undocumented OAuth":    {"application/json", `{"error":"made_up"}`, true},
		"OAuth code as problem": {"application/problem+json", `{"code":"invalid_grant"}`, true},
		"not JSON":              {"text/plain", `made_up`, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := reported(t, codes, tc.contentType, tc.body); got != tc.flagged {
				t.Fatalf("flagged = %v, want %v", got, tc.flagged)
			}
		})
	}
}

func TestTheModulesOpenAPIDocumentsCodes(t *testing.T) {
	c, err := documented()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"internal_error", "route_not_found", "malformed_json"} {
		if !slices.Contains(c.Problem, want) {
			t.Errorf("ErrorCode lacks %s", want)
		}
	}
	for _, want := range []string{"invalid_request", "invalid_grant", "invalid_token"} {
		if !slices.Contains(c.OAuth, want) {
			t.Errorf("OAuthError lacks %s", want)
		}
	}
}
