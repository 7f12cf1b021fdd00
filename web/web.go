package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/httpx"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every page answer: nothing from
// another origin, no inline script or style (a script runs only from a
// file of ours, so injected markup cannot run code), no plugins, no
// framing by another site, no <base> rewriting, forms posting only here.
// Images may also be data: and blob: URLs (the offer QR is a data: PNG
// the issuer returns; a camera frame is a blob).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self' blob:; font-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// CSPWasm is CSP for the pages of a folder that ships a WebAssembly
// module (the venue scanner's offline verifier, built with GOOS=js
// GOARCH=wasm): 'wasm-unsafe-eval' lets WebAssembly compile bytes, and
// allows nothing else (no eval, no inline script).
const CSPWasm = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; worker-src 'self'; manifest-src 'self'; media-src 'self' blob:; font-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// cspFor is the policy of the file at u: CSPWasm when its folder holds a
// .wasm file (so a page, or a worker script beside it, may compile it),
// else CSP.
func cspFor(files map[string]file, u string) string {
	dir := u[:strings.LastIndex(u, "/")+1]
	for p := range files {
		if strings.HasPrefix(p, dir) && !strings.Contains(p[len(dir):], "/") && path.Ext(p) == ".wasm" {
			return CSPWasm
		}
	}
	return CSP
}

// Mounts are the URL prefixes the embedded files are served under, each
// the folder of the same name under static/. They are pages and their
// assets, not API routes: openapi.yaml does not list them (the OpenAPI
// test of cmd/ssi leaves exactly these prefixes out).
var Mounts = []string{"/admin/", "/venue/", "/wallet/", "/assets/", "/vendor/"}

// Redirects are the page folders' names without the slash, each sent on
// to its folder (301); like Mounts, they are not API routes.
var Redirects = []string{"/admin", "/venue", "/wallet"}

// file is one embedded file, ready to serve.
type file struct {
	body  []byte
	ctype string
	etag  string
	csp   string
	gz    *gzipped // for a .wasm file: compressed on first request
}

// gzipped is a file's gzip encoding, made once, when first asked for (a
// 17 MB module compresses to under 4 MB, and no process pays for it
// unless a browser wants it).
type gzipped struct {
	once sync.Once
	body []byte
}

func (g *gzipped) get(b []byte) []byte {
	g.once.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
		_, _ = zw.Write(b)                                       // a bytes.Buffer does not fail
		_ = zw.Close()
		g.body = buf.Bytes()
	})
	return g.body
}

// files are the embedded files by URL path ("/admin/index.html"); a
// folder's index.html is also its folder path ("/admin/").
var files = load()

func load() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		f := file{body: b, ctype: contentType(p), etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		if path.Ext(p) == ".wasm" {
			f.gz = &gzipped{}
		}
		u := strings.TrimPrefix(p, "static")
		out[u] = f
		if path.Base(u) == "index.html" {
			out[strings.TrimSuffix(u, "index.html")] = f
		}
		return nil
	})
	for u, f := range out {
		f.csp = cspFor(out, u)
		out[u] = f
	}
	if err != nil {
		// The files are compiled in: a walk cannot fail but for a
		// broken build.
		panic("web: reading the embedded files: " + err.Error())
	}
	return out
}

// contentType is the media type of an embedded file by its name. A name
// not listed is served as plain text, never sniffed (SecurityHeaders sets
// nosniff).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".wasm":
		return "application/wasm"
	}
	return "text/plain; charset=utf-8"
}

var errNoPage = errs.E(errs.NotFound, "page_not_found", "no such page")

// VenueWasm is the URL path of the venue scanner's offline verifier.
const VenueWasm = "/venue/venue.wasm"

// HasVenueWasm reports whether the offline verifier is served: embedded by
// make venue-wasm, or set by SetVenueWasm.
func HasVenueWasm() bool {
	_, ok := files[VenueWasm]
	return ok
}

// SetVenueWasm serves b as the venue scanner's offline verifier, for a
// binary built without it (ssi dev builds it with the Go toolchain on a
// checkout where make venue-wasm has not run). It must be called before
// the server serves a request: the files are read without a lock.
func SetVenueWasm(b []byte) {
	sum := sha256.Sum256(b)
	files[VenueWasm] = file{body: b, ctype: contentType(VenueWasm), etag: `"` + hex.EncodeToString(sum[:16]) + `"`, gz: &gzipped{}}
	for u, f := range files { // the venue folder's pages may now compile it
		f.csp = cspFor(files, u)
		files[u] = f
	}
}

// Routes mounts the pages on r (GET and HEAD under each of Mounts, and
// /admin and /venue redirected to their folders).
func Routes(r chi.Router) {
	for _, m := range Mounts {
		r.Get(m+"*", Serve)
		r.Head(m+"*", Serve)
	}
	for _, p := range Redirects {
		r.Get(p, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
		})
	}
}

// Serve answers an embedded file by the request's path, with CSP, its
// media type and a strong ETag. Cache-Control is no-cache: a browser keeps
// the file but asks again each time, and an unchanged file costs a 304
// (If-None-Match). The names are not fingerprinted, so a longer lifetime
// would keep an old page after an upgrade. An unknown path is a 404
// problem document (page_not_found).
func Serve(w http.ResponseWriter, r *http.Request) {
	f, ok := files[r.URL.Path]
	if !ok {
		httpx.Render(w, r, errNoPage)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", f.csp)
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", f.ctype)
	body, etag := f.body, f.etag
	if f.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = f.gz.get(f.body), strings.TrimSuffix(f.etag, `"`)+`-gzip"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding names gzip
// with a non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
