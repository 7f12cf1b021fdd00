package httpxtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// recorder captures what the checker reports instead of failing.
type recorder struct {
	testing.TB
	errors int
}

func (r *recorder) Errorf(string, ...any) { r.errors++ }

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
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusGone)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			rec := &recorder{TB: t}
			lc := &LeakChecker{t: rec, next: http.DefaultTransport}
			resp, err := (&http.Client{Transport: lc}).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := rec.errors > 0; got != tc.leaks {
				t.Fatalf("leak reported = %v, want %v", got, tc.leaks)
			}
		})
	}
}
