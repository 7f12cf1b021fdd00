package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	r := chi.NewRouter()
	Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// TestEveryFileIsServedWithItsHeaders: each embedded file answers under its
// mount with the CSP, its media type, no-cache and a strong ETag that
// turns a repeat into a 304.
func TestEveryFileIsServedWithItsHeaders(t *testing.T) {
	srv := server(t)
	require.NotEmpty(t, files)
	require.Contains(t, files, "/admin/", "the console's index is its folder")
	for p, f := range files {
		t.Run(p, func(t *testing.T) {
			resp, body := fetch(t, http.MethodGet, srv.URL+p)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, f.body, body)
			assert.Equal(t, cspFor(files, p), resp.Header.Get("Content-Security-Policy"))
			if strings.HasPrefix(p, "/venue/") && files["/venue/venue.wasm"].body != nil {
				assert.Equal(t, CSPWasm, resp.Header.Get("Content-Security-Policy"), "the scanner's folder ships the offline verifier")
			} else {
				assert.Equal(t, CSP, resp.Header.Get("Content-Security-Policy"))
			}
			assert.Equal(t, f.ctype, resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
			etag := resp.Header.Get("ETag")
			require.Regexp(t, `^"[0-9a-f]{32}(-gzip)?"$`, etag, "strong; the gzip encoding of a .wasm file has its own")

			resp, body = fetch(t, http.MethodGet, srv.URL+p, "If-None-Match", etag)
			assert.Equal(t, http.StatusNotModified, resp.StatusCode)
			assert.Empty(t, body)

			resp, body = fetch(t, http.MethodHead, srv.URL+p)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Empty(t, body)
		})
	}
	assert.Equal(t, "text/html; charset=utf-8", files["/admin/"].ctype)
	assert.Equal(t, "text/javascript; charset=utf-8", files["/admin/admin.js"].ctype, "module scripts need a JavaScript type")
}

func TestUnknownPagesAreProblems(t *testing.T) {
	srv := server(t)
	for _, p := range []string{"/admin/nope.html", "/assets/", "/vendor/jsqr/", "/admin/../go.mod", "/assets/%2e%2e/admin/index.html", "/vendor/jsqr/jsQR.js/x"} {
		resp, body := fetch(t, http.MethodGet, srv.URL+p)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), p)
		var prob struct{ Code string }
		require.NoError(t, json.Unmarshal(body, &prob), p)
		assert.Equal(t, "page_not_found", prob.Code, p)
	}
	resp, _ := fetch(t, http.MethodGet, srv.URL+"/admin")
	assert.Equal(t, http.StatusMovedPermanently, resp.StatusCode)
	assert.Equal(t, "/admin/", resp.Header.Get("Location"))
}

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handlerAttr = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	styleInline = regexp.MustCompile(`(?i)<style\b|<[^>]*\sstyle\s*=`)
	refAttr     = regexp.MustCompile(`(?i)\s(?:src|href|action|data)\s*=\s*"([^"]*)"`)
	remoteRef   = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+[:/]|\beval\s*\(|new\s+Function\s*\(|\.innerHTML\s*=|\.outerHTML\s*=|document\.write\s*\(`)
)

// TestPagesHaveNoInlineCodeNorRemoteReferences reads our own files: every
// script is a file of this origin (the CSP would block any other, and
// this finds it before a browser does), no inline handler or style, every
// reference a path on this origin; our JavaScript fetches nothing from
// another origin and never parses strings as code or markup. The vendored
// files are checked by the CSP at run time, not here.
func TestPagesHaveNoInlineCodeNorRemoteReferences(t *testing.T) {
	var html, js int
	for p, f := range files {
		if strings.HasPrefix(p, "/vendor/") || strings.HasSuffix(p, "/") {
			continue
		}
		src := string(f.body)
		switch {
		case strings.HasSuffix(p, ".html"):
			html++
			for _, m := range scriptTag.FindAllStringSubmatch(src, -1) {
				assert.Contains(t, m[1], `src="/`, "%s: a script is a file of ours", p)
				assert.Empty(t, strings.TrimSpace(m[2]), "%s: no inline script", p)
			}
			assert.False(t, handlerAttr.MatchString(src), "%s: no inline event handler", p)
			assert.False(t, styleInline.MatchString(src), "%s: no inline style", p)
			for _, m := range refAttr.FindAllStringSubmatch(src, -1) {
				ok := strings.HasPrefix(m[1], "/") && !strings.HasPrefix(m[1], "//") || strings.HasPrefix(m[1], "#")
				assert.True(t, ok, "%s: %q is a path on this origin", p, m[1])
			}
		case strings.HasSuffix(p, ".js"):
			js++
			assert.False(t, remoteRef.MatchString(src), "%s: %q", p, remoteRef.FindString(src))
		}
	}
	assert.Positive(t, html)
	assert.Positive(t, js)
	// The checks can fail: each pattern finds what it is for.
	assert.True(t, handlerAttr.MatchString(`<button onclick="x()">`))
	assert.True(t, styleInline.MatchString(`<p style="color:red">`))
	assert.True(t, remoteRef.MatchString(`fetch("https://cdn.example/x.js")`))
	assert.True(t, remoteRef.MatchString(`e.innerHTML = s`))
}

// TestVendoredFilesAreListed: each vendored package has its licence and
// its VERSION, and docs/pages.md names it with that version.
func TestVendoredFilesAreListed(t *testing.T) {
	doc, err := readRepoFile("docs/pages.md")
	require.NoError(t, err)
	for _, pkg := range []struct{ dir, name, version string }{{"jsqr", "jsqr", "1.4.0"}, {"go-wasm", "go-wasm-exec", "go1.26.8"}} {
		require.Contains(t, files, "/vendor/"+pkg.dir+"/LICENSE")
		v, ok := files["/vendor/"+pkg.dir+"/VERSION"]
		require.True(t, ok)
		assert.Contains(t, string(v.body), pkg.name+" "+pkg.version)
		assert.Contains(t, doc, "`"+pkg.name+"` "+pkg.version)
	}
}

func readRepoFile(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join("..", name))
	return string(b), err
}

// TestWasmFoldersGetWasmEval: only the files of a folder holding a .wasm
// module are served with 'wasm-unsafe-eval', and the two policies differ
// in exactly that.
func TestWasmFoldersGetWasmEval(t *testing.T) {
	fs := map[string]file{
		"/venue/": {}, "/venue/index.html": {}, "/venue/verify.wasm": {}, "/venue/sub/x.js": {},
		"/admin/": {}, "/admin/index.html": {}, "/assets/api.js": {},
	}
	for u, want := range map[string]string{
		"/venue/": CSPWasm, "/venue/index.html": CSPWasm, "/venue/verify.wasm": CSPWasm,
		"/venue/sub/x.js": CSP, "/admin/": CSP, "/admin/index.html": CSP, "/assets/api.js": CSP,
	} {
		assert.Equal(t, want, cspFor(fs, u), u)
	}
	assert.Equal(t, strings.Replace(CSP, "script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';", 1), CSPWasm)
}

// TestWasmExecIsTheToolchains: the vendored Go WebAssembly loader is the
// one of the Go that builds cmd/venue-wasm (a loader of another release
// does not run the module), and its VERSION names that release.
func TestWasmExecIsTheToolchains(t *testing.T) {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Skipf("no wasm_exec.js in GOROOT: %v", err)
	}
	assert.Equal(t, string(want), string(files["/vendor/go-wasm/wasm_exec.js"].body), "copy $(go env GOROOT)/lib/wasm/wasm_exec.js to web/static/vendor/go-wasm/ and update its VERSION")
	assert.Contains(t, string(files["/vendor/go-wasm/VERSION"].body), runtime.Version())
}

// TestVenueWasmFitsItsBudget: the venue scanner's offline verifier, when
// built in (make venue-wasm; make test does it, so CI always has it), is
// at most 4 MB gzip-compressed (issue 17, acceptance 3), read as decimal
// megabytes: 4,000,000 bytes, the stricter reading (4 MiB would allow
// 4,194,304).
func TestVenueWasmFitsItsBudget(t *testing.T) {
	f, ok := files["/venue/venue.wasm"]
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("web/static/venue/venue.wasm is not built: make test runs make venue-wasm first")
		}
		t.Skip("the offline verifier is not built (make venue-wasm)")
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(f.body)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	t.Logf("venue.wasm: %d bytes, %d gzip-compressed", len(f.body), buf.Len())
	assert.LessOrEqual(t, buf.Len(), 4_000_000, "the offline verifier's budget is 4 MB (decimal: 4,000,000 bytes) gzip-compressed")
	assert.True(t, bytes.HasPrefix(f.body, []byte("\x00asm")), "a WebAssembly module")
}

// TestWasmIsServedCompressed: a .wasm file goes gzip-encoded to a client
// that accepts it (its own ETag, Vary: Accept-Encoding) and as it is to
// one that does not; the encoded body decodes to the file.
func TestWasmIsServedCompressed(t *testing.T) {
	body := bytes.Repeat([]byte("\x00asm wasm module bytes "), 4096)
	f := file{body: body, ctype: "application/wasm", etag: `"abc"`, csp: CSPWasm, gz: &gzipped{}}
	files["/venue/test.wasm"] = f
	t.Cleanup(func() { delete(files, "/venue/test.wasm") })
	srv := server(t)
	for _, c := range []struct {
		accept string
		gzip   bool
	}{{"gzip, deflate, br", true}, {"br;q=1.0, GZIP;q=0.5", true}, {"gzip;q=0", false}, {"", false}, {"identity", false}} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/venue/test.wasm", nil)
		require.NoError(t, err)
		if c.accept != "" {
			req.Header.Set("Accept-Encoding", c.accept)
		}
		// A Transport that leaves the encoding alone, to see it.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"), c.accept)
		if !c.gzip {
			assert.Empty(t, resp.Header.Get("Content-Encoding"), c.accept)
			assert.Equal(t, body, got, c.accept)
			assert.Equal(t, `"abc"`, resp.Header.Get("ETag"))
			continue
		}
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), c.accept)
		assert.Equal(t, `"abc-gzip"`, resp.Header.Get("ETag"))
		assert.Less(t, len(got), len(body)/10, "compressed")
		zr, err := gzip.NewReader(bytes.NewReader(got))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, body, plain)
	}
}

// TestSetVenueWasm: a binary built without the offline verifier serves
// the one ssi dev builds, and the scanner's pages then allow compiling it.
func TestSetVenueWasm(t *testing.T) {
	if HasVenueWasm() {
		t.Skip("the offline verifier is built in (make venue-wasm): SetVenueWasm is for binaries without it")
	}
	t.Cleanup(func() {
		delete(files, VenueWasm)
		for u, f := range files {
			f.csp = cspFor(files, u)
			files[u] = f
		}
	})
	require.Equal(t, CSP, files["/venue/"].csp)
	module := []byte("\x00asm\x01\x00\x00\x00")
	SetVenueWasm(module)
	require.True(t, HasVenueWasm())
	for _, p := range []string{VenueWasm, "/venue/"} {
		rec := httptest.NewRecorder()
		Serve(rec, httptest.NewRequest(http.MethodGet, p, nil))
		require.Equal(t, http.StatusOK, rec.Code, p)
		assert.Equal(t, CSPWasm, rec.Header().Get("Content-Security-Policy"), p)
	}
	rec := httptest.NewRecorder()
	Serve(rec, httptest.NewRequest(http.MethodGet, VenueWasm, nil))
	assert.Equal(t, module, rec.Body.Bytes())
	assert.Equal(t, "application/wasm", rec.Header().Get("Content-Type"))
}
