package webtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/web"
)

// pages serves the embedded assets (web.Serve) and this package's test
// pages under /t/, all with the pages' CSP; /t/plain/ without it.
func pages(t *testing.T, foreign string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/assets/", web.Serve)
	mux.HandleFunc("/vendor/", web.Serve)
	mux.HandleFunc("/t/", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join("testdata", strings.TrimPrefix(r.URL.Path, "/t/")))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", web.CSP)
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write(b)
	})
	mux.HandleFunc("/plain/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>plain</title><p>plain</p><img src="%s/pixel.png" alt="">`, foreign)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestTheRecorderSeesWhatItMustRefuse: the checks of Check can fail. A
// page that loads an image from another origin is caught by Foreign; an
// inline script under the pages' CSP is blocked and reported.
func TestTheRecorderSeesWhatItMustRefuse(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(other.Close)
	srv := pages(t, other.URL)
	b := Start(t, Options{})

	b.Open(srv.URL + "/plain/")
	b.WaitFor(`document.readyState === "complete"`, "the plain page")
	assert.Equal(t, []string{other.URL + "/pixel.png"}, b.Foreign(), "another origin (another port) is foreign")

	b.Open(srv.URL + "/t/inline.html")
	b.WaitFor(`document.readyState === "complete"`, "the inline page")
	assert.Equal(t, "before", b.Text("#p"), "the CSP blocked the inline script")
	v := b.Violations()
	require.Len(t, v, 1)
	assert.Contains(t, v[0], "script-src")
}

// TestFakeCameraDecodesAQR: a QR image becomes a Y4M file Chromium plays
// as its camera; the page reads it through getUserMedia and the decoder
// the scanner uses (jsQR in a worker where BarcodeDetector is missing),
// under the pages' CSP, with no foreign request.
func TestFakeCameraDecodesAQR(t *testing.T) {
	bin := Require(t)
	_ = bin
	want := "SSI1:TEST-" + strings.Repeat("0123456789", 8)
	sym, err := qr.EncodeOffline(want)
	require.NoError(t, err)
	cam := filepath.Join(t.TempDir(), "qr.y4m")
	require.NoError(t, WriteY4M(cam, sym.Image(), 640, 480, 2))

	srv := pages(t, "")
	b := Start(t, Options{Camera: cam})
	b.Open(srv.URL + "/t/camera.html")
	b.WaitFor(`document.getElementById("result").textContent !== "" || document.getElementById("error").textContent !== ""`, "a decoded QR code")
	require.Empty(t, b.Text("#error"))
	assert.Equal(t, want, b.Text("#result"))
	decoder := Eval[string](b, `document.getElementById("result").dataset.decoder`)
	assert.Contains(t, []string{"jsQR", "BarcodeDetector"}, decoder)
	t.Logf("decoded by %s", decoder)
	b.Screenshot("camera")
	b.Check()
	assert.Contains(t, b.Requests(), srv.URL+"/assets/qrworker.js", "the worker of the jsQR path")
}

// TestOffline: with the network cut the page's fetches fail and
// navigator.onLine is false; given back, they work again.
func TestOffline(t *testing.T) {
	srv := pages(t, "")
	b := Start(t, Options{})
	b.Open(srv.URL + "/t/inline.html")
	fetchOK := `fetch("/t/inline.html", {cache: "no-store"}).then((r) => r.ok, () => false)`
	assert.True(t, Eval[bool](b, fetchOK), "a fetch online")
	b.Offline(true)
	assert.False(t, Eval[bool](b, `navigator.onLine`))
	assert.False(t, Eval[bool](b, fetchOK), "a fetch fails offline")
	b.Offline(false)
	assert.True(t, Eval[bool](b, `navigator.onLine`))
	assert.True(t, Eval[bool](b, fetchOK), "a fetch online again")
}

// TestVerdictIsTextAndIcon: the shared verdict says valid or not in its
// word and icon (the same in greyscale), names the facts or the reason,
// is an alert for screen readers, and fits 360 px.
func TestVerdictIsTextAndIcon(t *testing.T) {
	srv := pages(t, "")
	b := Start(t, Options{})
	for _, c := range []struct{ query, word, icon, verdict string }{
		{"?ok", "Valid", "✔", "valid"},
		{"?bad", "Not valid", "✖", "invalid"},
	} {
		b.Open(srv.URL + "/t/verdict.html" + c.query)
		b.WaitFor(`document.querySelector(".verdict")`, "the verdict")
		assert.Equal(t, c.word, b.Text(".verdict .word"))
		assert.Equal(t, c.icon, b.Text(".verdict .icon"))
		assert.Equal(t, c.verdict, Eval[string](b, `document.querySelector(".verdict").dataset.verdict`))
		assert.Equal(t, "alert", Eval[string](b, `document.querySelector(".verdict").getAttribute("role")`))
		assert.True(t, b.Fits())
		b.Screenshot("verdict-" + c.verdict)
		b.Check()
	}
	assert.Contains(t, b.Text(".verdict"), "revoked by its issuer")
	assert.Equal(t, "revoked", Eval[string](b, `document.querySelector(".verdict").dataset.code`))
	b.Open(srv.URL + "/t/verdict.html?ok")
	b.WaitFor(`document.querySelector(".verdict")`, "the verdict")
	assert.Contains(t, b.Text(".verdict"), "Ada Lovelace")
	assert.Contains(t, b.Text(".verdict"), "1990-12-10")
}

func TestWriteY4M(t *testing.T) {
	sym, err := qr.EncodeURI("https://example.org/x")
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "a.y4m")
	require.NoError(t, WriteY4M(p, sym.Image(), 320, 288, 3))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	header := "YUV4MPEG2 W320 H288 F10:1 Ip A1:1 C420jpeg\n"
	require.True(t, strings.HasPrefix(string(b), header))
	frame := len("FRAME\n") + 320*288*3/2
	assert.Len(t, b, len(header)+3*frame)
	assert.Equal(t, "FRAME\n", string(b[len(header):len(header)+6]))
	assert.Error(t, WriteY4M(p, sym.Image(), 63, 48, 1), "odd sizes are refused")
	assert.Error(t, WriteY4M(p, sym.Image(), 8, 8, 1), "an image that does not fit is refused")
}
