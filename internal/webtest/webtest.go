package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Options change the browser Start opens.
type Options struct {
	// Camera, when set, is a Y4M file Chromium plays as its camera
	// (--use-fake-device-for-media-stream, permission granted).
	Camera string
	// Width and Height are the viewport (default 360 × 740, a small
	// phone: every page must work at 360 px).
	Width, Height int
}

// Browser is one headless Chromium with one tab.
type Browser struct {
	t      testing.TB
	ctx    context.Context
	dir    string // screenshots
	shots  int
	origin string          // of the last Open
	header network.Headers // of the last Open's document

	proxy *recorder             // every request of the browser passes it
	clock page.ScriptIdentifier // the ShiftClock script of new documents

	mu         sync.Mutex
	pageReqs   []string // the document's requests, as DevTools reports them
	exceptions []string
}

// Find returns the Chromium binary, or "" when there is none.
func Find() string {
	if p := os.Getenv("SSI_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Require returns the Chromium binary, skipping the test without one (or
// failing it when CI is set).
func Require(t testing.TB) string {
	t.Helper()
	p := Find()
	if p != "" {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is required in CI (Debian's chromium package, which .ci/run installs) and was not found")
	}
	t.Skip("Chromium not found: install Debian's chromium package (apt-get install chromium) or set SSI_CHROMIUM; the browser tests are skipped")
	return ""
}

// cspProbe runs before any script of every document: it keeps the CSP
// violations the document reports, which Check reads.
const cspProbe = `window.__ssiCSP = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__ssiCSP.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});`

// Start opens Chromium headless with the flags this machine needs (no
// sandbox as root, no GPU, no QUIC, no first-run, no background networking,
// component updates or sync: the closed network refuses them) and a fresh
// user-data-dir. The browser stops when the test ends.
func Start(t testing.TB, o Options) *Browser {
	t.Helper()
	bin := Require(t)
	if o.Width == 0 {
		o.Width, o.Height = 360, 740
	}
	proxy := newRecorder()
	t.Cleanup(proxy.srv.Close)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(o.Width, o.Height),
		// Chromium's own background traffic, which the proxy would
		// otherwise see beside the page's: network time, component and
		// extension updates, sign-in, pings.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater,PasswordLeakDetection"),
		chromedp.Flag("disable-component-extensions-with-background-pages", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-field-trial-config", true),
		chromedp.ProxyServer(proxy.srv.URL),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
	)
	if o.Camera != "" {
		opts = append(opts,
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", o.Camera))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{t: t, ctx: ctx, dir: artifactDir(t), proxy: proxy}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if u := ev.Request.URL; !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
				b.mu.Lock()
				b.pageReqs = append(b.pageReqs, u)
				b.mu.Unlock()
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber))
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("starting Chromium (%s): %v", bin, err)
	}
	b.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(o.Width), Height: int64(o.Height), DeviceScaleFactor: 1, Mobile: true})
		return err
	}))
	return b
}

// artifactDir is t.ArtifactDir() (kept with go test -artifacts
// -outputdir DIR), named in the log.
func artifactDir(t testing.TB) string {
	dir := t.ArtifactDir()
	t.Logf("screenshots go to %s (kept with go test -artifacts -outputdir DIR)", dir)
	return dir
}

// Ctx is the chromedp context of the tab, for actions this package does
// not wrap.
func (b *Browser) Ctx() context.Context { return b.ctx }

// Do runs the actions in the tab, failing the test on an error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	for _, a := range actions {
		if _, err := chromedp.Run(ctx, a); err != nil {
			b.t.Fatalf("browser: %v (page: %s)", err, b.pageText())
		}
	}
}

// Open navigates to u and takes its origin as the page's: Check refuses
// requests to any other.
func (b *Browser) Open(u string) {
	b.t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		b.t.Fatalf("opening %q: %v", u, err)
	}
	b.origin = p.Scheme + "://" + p.Host
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("opening %s: %v", u, err)
	}
	b.header = resp.Headers
}

// Header returns a response header of the document the last Open loaded,
// as the browser received it ("" when absent).
func (b *Browser) Header(name string) string {
	for k, v := range b.header {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// Eval evaluates a JavaScript expression in the page, awaits it when it
// is a promise, and decodes its value into T.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// WaitFor waits (at most 30 s) until the JavaScript expression (not a
// promise: one is always truthy) is truthy;
// what says what is awaited, for the failure message, which also shows
// the page's text.
func (b *Browser) WaitFor(expr, what string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 35*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		b.Screenshot("failed-" + sanitize(what))
		b.t.Fatalf("waiting for %s: %v\npage text: %s", what, err, b.pageText())
	}
}

// Text returns the text of the first element matching the CSS selector
// ("" when there is none).
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	return Eval[string](b, `(document.querySelector(`+JS(selector)+`) || {innerText: ""}).innerText`)
}

func (b *Browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// Screenshot writes a PNG of the whole page to the artifact directory,
// numbered in order, and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	b.shots++
	p := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, sanitize(name)))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Errorf("writing screenshot %s: %v", p, err)
		return ""
	}
	return p
}

// Requests returns every URL the browser requested so far, from the
// document, its workers and service workers alike, in order (data: and
// blob: URLs, which never reach the network, are not among them). They
// are recorded by the proxy the browser is started with.
func (b *Browser) Requests() []string { return b.proxy.list() }

// chromiumServices are the hosts of Chromium's own background services
// (component and extension updates, sign-in, network time, safe
// browsing), which no flag silences entirely. The proxy answers them 502,
// so nothing reaches them; Foreign does not count them against the page
// when only the proxy saw them. A request of the document to one of them
// is still caught (DevTools reports it); one of a worker is left to the
// CSP of the worker script.
var chromiumServices = []string{"update.googleapis.com", "accounts.google.com", "clients2.google.com",
	"clientservices.googleapis.com", "optimizationguide-pa.googleapis.com", "safebrowsing.googleapis.com",
	"redirector.gvt1.com", "edgedl.me.gvt1.com", "content-autofill.googleapis.com",
	// the password manager's leak check, after a sign-up form is sent
	"passwordsleakcheck-pa.googleapis.com"}

func chromiumService(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	for _, h := range chromiumServices {
		if p.Hostname() == h {
			return true
		}
	}
	return false
}

// Foreign returns the requested URLs that are not of the page's origin:
// those of the document (DevTools' events) and those of any context of
// the browser (the proxy) but Chromium's own services (chromiumServices).
func (b *Browser) Foreign() []string {
	b.mu.Lock()
	page := append([]string(nil), b.pageReqs...)
	b.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	add := func(u string) {
		if u != b.origin && !strings.HasPrefix(u, b.origin+"/") && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for _, u := range page {
		add(u)
	}
	for _, u := range b.Requests() {
		if !chromiumService(u) {
			add(u)
		}
	}
	return out
}

// Violations returns the CSP violations the current document reported.
func (b *Browser) Violations() []string {
	b.t.Helper()
	return Eval[[]string](b, `window.__ssiCSP || []`)
}

// Exceptions returns the uncaught exceptions of the page so far.
func (b *Browser) Exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.exceptions...)
}

// Offline cuts the page's network (on) or gives it back, as DevTools'
// offline emulation does: every request fails, a service worker's too,
// and navigator.onLine is false. The test server keeps running.
func (b *Browser) Offline(on bool) {
	b.t.Helper()
	b.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		emulateSW := on
		cond := &network.Conditions{Offline: on, DownloadThroughput: -1, UploadThroughput: -1}
		if _, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &emulateSW, MatchedNetworkConditions: []*network.Conditions{cond}}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: on, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// clockScript moves the page's Date by shift milliseconds: Date.now() and
// new Date() (no argument) read the real time plus shift; a date built
// from a value is unchanged.
const clockScript = `(() => {
  const Real = globalThis.__ssiRealDate || Date;
  globalThis.__ssiRealDate = Real;
  const shift = %d;
  class ShiftedDate extends Real {
    constructor(...a) { if (a.length === 0) super(Real.now() + shift); else super(...a); }
    static now() { return Real.now() + shift; }
  }
  globalThis.Date = ShiftedDate;
})();`

// ShiftClock moves the clock of the current document and of every later
// one by d from the real time (0 puts it back), as a page sees it through
// Date: what a test needs to age a cached bundle past its maximum. It
// does not reach workers, timers or performance.now(), and Date called
// without new throws while shifted.
func (b *Browser) ShiftClock(d time.Duration) {
	b.t.Helper()
	src := fmt.Sprintf(clockScript, d.Milliseconds())
	b.Do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if b.clock != "" {
			if _, err := cdp.Call(ctx, tg, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: b.clock}); err != nil {
				return err
			}
		}
		r, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		if err != nil {
			return err
		}
		b.clock = r.Identifier
		return nil
	}))
	Eval[any](b, src)
}

// Fits reports whether the page is no wider than the viewport (no
// sideways scrolling at 360 px).
func (b *Browser) Fits() bool {
	b.t.Helper()
	return Eval[bool](b, `document.documentElement.scrollWidth <= window.innerWidth`)
}

// Check fails the test when the page requested anything from another
// origin, reported a CSP violation (an inline script or style, a remote
// source) in its current document, or threw an uncaught exception.
func (b *Browser) Check() {
	b.t.Helper()
	if f := b.Foreign(); len(f) > 0 {
		b.t.Errorf("the page requested another origin than %s: %q", b.origin, f)
	}
	if v := b.Violations(); len(v) > 0 {
		b.t.Errorf("Content-Security-Policy violations: %q", v)
	}
	if e := b.Exceptions(); len(e) > 0 {
		b.t.Errorf("uncaught exceptions in the page: %q", e)
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// JS quotes s as a JavaScript string literal, for building expressions.
func JS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
