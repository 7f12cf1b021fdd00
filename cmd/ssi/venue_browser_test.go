package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/shc/shctest"
	"github.com/ssi-project/ssi/internal/webtest"
	"github.com/ssi-project/ssi/web"
)

// doorClaims are what the demo venue's entry policy needs disclosed.
var doorClaims = []string{"vaccinated_within_policy", "given_name", "family_name", "birth_date"}

// showAtDoor writes the wallet's fresh offline QR code of credential id for
// the venue into the fake camera file cam (the same path each time: the
// page's camera restart reads it again) and returns its text.
func showAtDoor(t testing.TB, d *devHolder, tok, id, venueDID, cam string) string {
	t.Helper()
	var q struct{ Text string }
	code, b := d.call(http.MethodPost, "/wallet/v1/credentials/"+id+"/offline-qr", tok, map[string]any{"venue": venueDID, "claims": doorClaims}, &q)
	require.Equal(t, http.StatusCreated, code, string(b))
	writeCamera(t, q.Text, cam)
	return q.Text
}

// atTheDoor starts ssi dev with the citizen ada holding a vaccination pass
// of two copies, and writes her door code for the demo venue into the fake
// camera file cam.
func atTheDoor(t testing.TB) (d *devHolder, ada string, c walletCredential, venueDID, cam string) {
	t.Helper()
	d = newDevHolder(t)
	ada = d.citizen("ada")
	o := d.offer("citizen-ada")
	code, body := d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 2}, &c)
	require.Equal(t, http.StatusCreated, code, string(body))
	_, venueDID, _ = venueKey(t, d.dir)
	cam = filepath.Join(t.TempDir(), "door.y4m")
	showAtDoor(t, d, ada, c.ID, venueDID, cam)
	return d, ada, c, venueDID, cam
}

// refreshBundle has the venue page fetch a new trust bundle and waits
// until its offline verifier has opened it and the service worker
// controls the page.
func refreshBundle(b *webtest.Browser) {
	b.Do(chromedp.Click(chromedp.ID("verdict-next")))
	before := webtest.Eval[string](b, `document.getElementById("bundle-age").dataset.issued || ""`)
	time.Sleep(1100 * time.Millisecond) // the bundle's issued_at has whole seconds
	b.Do(chromedp.Click(chromedp.ID("bundle-refresh")))
	b.WaitFor(`navigator.serviceWorker.controller && document.getElementById("bundle-age").dataset.issued !== `+webtest.JS(before)+` && document.getElementById("bundle-age").dataset.tooOld === "false" && !document.getElementById("bundle-age").innerText.includes("unavailable")`, "the kept bundle, opened by the offline verifier, and the service worker in control")
}

// writeCamera renders text as an offline QR symbol into the Y4M file cam.
func writeCamera(t testing.TB, text, cam string) {
	t.Helper()
	sym, err := qr.EncodeOffline(text)
	require.NoError(t, err)
	require.NoError(t, webtest.WriteY4M(cam, webtest.SymbolImage(sym.Size(), sym.Dark, 3), 640, 480, 2))
}

// scan restarts the page's camera (which reads the camera file again) and
// waits for the verdict on screen, returning its data-verdict and code.
func scan(t testing.TB, b *webtest.Browser, what string) (verdict, code string) {
	t.Helper()
	webtest.Eval[bool](b, `(() => { document.getElementById("verdict-next").click(); return true; })()`)
	b.Do(chromedp.Click(chromedp.ID("camera-restart")))
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, what)
	v := webtest.Eval[map[string]string](b, `(() => { const e = document.querySelector("#verdict-box [data-verdict]"); return {v: e.dataset.verdict, c: e.dataset.code || ""}; })()`)
	// The benchmark of BENCHMARKS.md (logged, never asserted): from the
	// camera playing the code to the verdict on screen.
	logVerdictTime(t, b, v["v"])
	return v["v"], v["c"]
}

// logVerdictTime logs the benchmark of BENCHMARKS.md (never asserted):
// from the camera playing the code (it is in every frame) to the verdict
// on screen, and from the decoded text to the verdict. A negative first
// figure is a code the running camera read before its restart (the fake
// camera reads its file again when it loops).
func logVerdictTime(t testing.TB, b *webtest.Browser, verdict string) {
	t.Helper()
	m := webtest.Eval[map[string]any](b, `({cam: globalThis.__ssiVerdictAt.at - globalThis.__ssiCameraAt, check: globalThis.__ssiVerdictAt.took, where: globalThis.__ssiVerdictAt.where})`)
	t.Logf("camera to verdict (%v, %s): %.0f ms, of which decoded to verdict %.0f ms", m["where"], verdict, m["cam"], m["check"])
}

// TestVenueScannerInChromium walks the venue scanner on `ssi dev`: the
// venue's key signs in once; a citizen's offline QR code (from the wallet
// API) is played as the camera and the full-screen verdict is green with
// the name and birth date only; the credential is revoked and a fresh
// code turns red with revoked; the manual entry of a non-pass is red with
// its code. Under the pages' CSP, at 360 px, no request to another origin.
func TestVenueScannerInChromium(t *testing.T) {
	webtest.Require(t)
	if testing.Short() {
		t.Skip("starts ssi dev and Chromium")
	}
	d, ada, c, venueDID, cam := atTheDoor(t)

	b := webtest.Start(t, webtest.Options{Camera: cam})
	b.Open(d.url + "/venue/")
	assert.Contains(t, b.Header("Content-Security-Policy"), "script-src 'self'", "the CSP header as the browser got it")
	b.WaitFor(`document.activeElement && document.activeElement.id === "apikey"`, "the key field to have the focus")
	b.Do(chromedp.SendKeys(chromedp.ID("apikey"), d.venue+"\r"))
	b.WaitFor(`!document.getElementById("scanner").hidden && document.getElementById("camera-state").dataset.on === "true"`, "the scanner with the camera on")
	assert.Contains(t, b.Text("#who"), "venue")
	b.WaitFor(`!document.getElementById("verdict").hidden`, "the first verdict")
	v := webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`)
	require.Equal(t, "valid", v, b.Text("#verdict-box"))
	logVerdictTime(t, b, v)
	text := b.Text("#verdict-box")
	assert.Contains(t, text, "Valid")
	assert.Contains(t, text, "Ada Lovelace")
	assert.Contains(t, text, "1990-01-01")
	assert.NotContains(t, text, "vaccinated", "name and birth date only")
	assert.True(t, b.Fits(), "the verdict fits 360 px")
	b.Screenshot("venue-green")

	// Cross-device OpenID4VP: the policy chosen among the venue's (GET
	// /verifier/v1/policies), the venue's request QR, answered by the
	// citizen's wallet, and the verdict the page long-polls for.
	b.WaitFor(`document.getElementById("request-policy").options.length > 0 && document.getElementById("request-policy-about").innerText !== ""`, "the venue's policies in the select")
	assert.Equal(t, []string{"entry"}, webtest.Eval[[]string](b, `[...document.getElementById("request-policy").options].map((o) => o.value)`))
	about := b.Text("#request-policy-about")
	assert.Contains(t, about, "public health order", "the policy's description")
	assert.Contains(t, about, "the door is shown given_name, family_name, birth_date")
	webtest.Eval[bool](b, `(() => { document.getElementById("verdict-next").click(); document.getElementById("request-start").click(); return true; })()`)
	b.WaitFor(`!document.getElementById("request").hidden && document.getElementById("request-qr").naturalWidth > 0`, "the venue's request QR")
	uri := pageQR(t, b, "request-qr")
	require.True(t, strings.HasPrefix(uri, "openid4vp://"), uri)
	b.Screenshot("venue-request-qr")
	var cons consentDoc
	code, body := d.call(http.MethodPost, "/wallet/v1/presentations", ada, map[string]any{"authorization_request_uri": uri}, &cons)
	require.Equal(t, http.StatusCreated, code, string(body))
	require.Equal(t, "pending", cons.Status)
	require.NotEmpty(t, cons.Queries)
	require.NotEmpty(t, cons.Queries[0].Candidates)
	code, body = d.call(http.MethodPost, "/wallet/v1/presentations/"+cons.ID+"/accept", ada,
		map[string]any{"choices": map[string]string{cons.Queries[0].ID: cons.Queries[0].Candidates[0].CredentialID}}, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	b.WaitFor(`!document.getElementById("verdict").hidden && document.getElementById("verdict-box").dataset.source === "openid4vp"`, "the OpenID4VP verdict")
	assert.Equal(t, "valid", webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`), b.Text("#verdict-box"))
	assert.Contains(t, b.Text("#verdict-box"), "Ada Lovelace")
	assert.True(t, webtest.Eval[bool](b, `document.getElementById("request").hidden`), "the request QR is gone")
	b.Screenshot("venue-openid4vp-green")

	// Revoked: a fresh code is red once the verifier sees the new list.
	recs, err := d.admin.Records(t.Context(), d.key, "citizen-ada")
	require.NoError(t, err)
	require.Len(t, recs, 2, "one record a copy")
	for _, r := range recs {
		require.NoError(t, d.admin.SetStatus(t.Context(), d.key, r.ID, "revoke", "reported stolen"))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		showAtDoor(t, d, ada, c.ID, venueDID, cam)
		verdict, code := scan(t, b, "the verdict after the revocation")
		if verdict == "invalid" {
			assert.Equal(t, "revoked", code)
			break
		}
		require.True(t, time.Now().Before(deadline), "still %s after the revocation", verdict)
		time.Sleep(time.Second) // polling with a deadline: the verifier's cache of the list
	}
	assert.Contains(t, b.Text("#verdict-box"), "revoked by its issuer", "the reason in plain language")
	assert.NotContains(t, b.Text("#verdict-box"), "Ada", "no claim on a red verdict")
	b.Screenshot("venue-red-revoked")

	// Manual entry: not a pass.
	b.Do(chromedp.Click(chromedp.ID("verdict-next")))
	webtest.Eval[bool](b, `(() => { document.getElementById("fallback").open = true; return true; })()`)
	b.Do(chromedp.SendKeys(chromedp.ID("manual-text"), "hello"), chromedp.Click(chromedp.CSS("#manual-form button")))
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-code]")`, "the verdict of a non-pass")
	assert.True(t, strings.HasPrefix(webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.code`), "qr_"), b.Text("#verdict-box"))
	b.Check()

	venueOffline(t, b, d, venueDID, cam)
}

// BenchmarkVenueCameraToVerdict is issue 17's figure (acceptance 3): from
// the venue page's camera playing a citizen's offline QR code (in every
// frame, after a camera restart) to the verdict on screen, online (POST
// /verifier/v1/offline) and offline (the network cut, the page from its
// service worker, venue.wasm against the kept bundle). Each iteration
// shows a fresh door code (the wallet API, outside the page); the metrics
// are the page's own clock readings, ns/op includes the wallet's call. A
// code the running camera read before its restart gives no camera figure
// (skipped, counted in "early"); raw-verifies is the camera figure in
// raw P-256 verifications of the same run. Run: go test -run '^$' -bench
// VenueCameraToVerdict -benchtime 5x ./cmd/ssi (after make venue-wasm for
// the offline part).
func BenchmarkVenueCameraToVerdict(b *testing.B) {
	webtest.Require(b)
	d, ada, c, venueDID, cam := atTheDoor(b)
	br := webtest.Start(b, webtest.Options{Camera: cam})
	br.Open(d.url + "/venue/")
	br.WaitFor(`document.activeElement && document.activeElement.id === "apikey"`, "the key field to have the focus")
	br.Do(chromedp.SendKeys(chromedp.ID("apikey"), d.venue+"\r"))
	br.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the first verdict")

	measure := func(sb *testing.B, where string) {
		var camMS, checkMS float64
		var n, early int
		for sb.Loop() {
			showAtDoor(sb, d, ada, c.ID, venueDID, cam)
			v, vcode := scan(sb, br, "the verdict "+where)
			require.Equal(sb, "valid", v, vcode)
			m := webtest.Eval[map[string]any](br, `({cam: globalThis.__ssiVerdictAt.at - globalThis.__ssiCameraAt, check: globalThis.__ssiVerdictAt.took, where: globalThis.__ssiVerdictAt.where})`)
			require.Equal(sb, where, m["where"])
			if m["cam"].(float64) < 0 {
				early++
				continue
			}
			camMS += m["cam"].(float64)
			checkMS += m["check"].(float64)
			n++
		}
		if n > 0 {
			// The ratio BENCHMARKS.md asks for: the figure in raw P-256
			// verifications, measured in the same run.
			raw := float64(rawVerifyCost(200, false).Nanoseconds()) / 2 / 1e6
			sb.ReportMetric(camMS/float64(n), "camera-to-verdict-ms")
			sb.ReportMetric(checkMS/float64(n), "decoded-to-verdict-ms")
			sb.ReportMetric(camMS/float64(n)/raw, "raw-verifies")
		}
		sb.ReportMetric(float64(early), "early")
	}
	b.Run("online", func(sb *testing.B) { measure(sb, "online") })
	b.Run("offline", func(sb *testing.B) {
		if !venueWasmServed(sb, d.url) {
			sb.Skip("the offline verifier is not built (make venue-wasm)")
		}
		refreshBundle(br)
		br.Offline(true)
		defer br.Offline(false)
		br.Open(d.url + "/venue/")
		br.WaitFor(`!document.getElementById("scanner").hidden && document.getElementById("camera-state").dataset.on === "true"`, "the scanner, reloaded with no network")
		br.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the first offline verdict")
		measure(sb, "offline")
	})
}

// venueWasmServed reports whether the server ships the scanner's offline
// verifier (make venue-wasm before the build); in CI, where make test
// builds it first, its absence fails the test.
func venueWasmServed(t testing.TB, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/venue/venue.wasm")
	require.NoError(t, err)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return true
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the venue scanner's offline verifier is not embedded: make test builds it (make venue-wasm) before go test")
	}
	t.Log("the offline verifier is not built (make venue-wasm): the offline part is left out")
	return false
}

// venueOffline is the scanner's offline part, on the page of
// TestVenueScannerInChromium: with the trust bundle kept and the network
// cut (DevTools offline emulation, service worker included), the page
// reloads from its service worker, a valid pass is green checked on the
// device, and with the page's clock moved past the bundle's maximum age
// the next code is red bundle_too_old.
func venueOffline(t *testing.T, b *webtest.Browser, d *devHolder, venueDID, cam string) {
	if !venueWasmServed(t, d.url) {
		return
	}
	assert.Equal(t, web.CSPWasm, b.Header("Content-Security-Policy"), "the scanner may compile its WebAssembly, nothing else")

	// A valid pass of another citizen, from the same status list.
	bob := d.citizen("bob")
	o := d.offer("citizen-bob")
	var c walletCredential
	code, body := d.call(http.MethodPost, "/wallet/v1/offers", bob, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 1}, &c)
	require.Equal(t, http.StatusCreated, code, string(body))

	refreshBundle(b)
	assert.Contains(t, b.Text("#bundle-age"), "min old")

	// The camera shows Bob's code from the reload on (the file it plays
	// is read again when it loops).
	showAtDoor(t, d, bob, c.ID, venueDID, cam)
	b.Offline(true)
	b.Open(d.url + "/venue/")
	b.WaitFor(`!document.getElementById("scanner").hidden && document.getElementById("camera-state").dataset.on === "true"`, "the scanner, reloaded with no network")
	assert.Contains(t, b.Text("#mode"), "Offline")
	assert.Contains(t, b.Text("#who"), "offline")
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the offline verdict")
	verdict := webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`)
	vcode := webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.code || ""`)
	require.Equal(t, "valid", verdict, "%s %s", vcode, b.Text("#verdict-box"))
	logVerdictTime(t, b, verdict)
	assert.Equal(t, "offline", webtest.Eval[string](b, `document.getElementById("verdict-box").dataset.where`))
	assert.Contains(t, b.Text("#verdict-box"), "Ada Lovelace", "the demo subject's name, from the disclosed claims")
	assert.Contains(t, b.Text("#verdict-box"), "without a network")
	b.Screenshot("venue-offline-green")

	// The replay memory outlives a reload: the accepted nonce is kept in
	// IndexedDB (its hash, until its window ends), and the same code
	// after a reload (still offline, from the service worker) is red.
	kept := keptNonces(t, b)
	require.Len(t, kept, 1, "the accepted nonce, kept")
	assert.Len(t, kept[0].Nonce, 43, "a SHA-256, base64url")
	pageNow := int64(webtest.Eval[float64](b, `Date.now()`))
	assert.Greater(t, kept[0].Until, pageNow, "kept until its window ends")
	b.Open(d.url + "/venue/")
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the verdict of the same code after a reload")
	assert.Equal(t, "invalid", webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`), b.Text("#verdict-box"))
	assert.Equal(t, "nonce_replayed", webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.code || ""`))
	assert.Equal(t, "offline", webtest.Eval[string](b, `document.getElementById("verdict-box").dataset.where`))
	assert.NotContains(t, b.Text("#verdict-box"), "Lovelace", "no name on a red verdict")
	b.Screenshot("venue-offline-replayed-after-reload")

	b.ShiftClock(25 * time.Hour)
	showAtDoor(t, d, bob, c.ID, venueDID, cam)
	verdict, vcode = scan(t, b, "the verdict past the bundle's age")
	assert.Equal(t, "invalid", verdict)
	assert.Equal(t, "bundle_too_old", vcode)
	assert.Contains(t, b.Text("#verdict-box"), "too old")
	b.WaitFor(`document.getElementById("bundle-age").dataset.tooOld === "true"`, "the bundle's age shown too old")
	b.Screenshot("venue-offline-bundle-too-old")
	// Pruned: past their window, the kept nonces leave the store when
	// the page opens the bundle again.
	b.Open(d.url + "/venue/")
	b.WaitFor(`!document.getElementById("scanner").hidden && document.getElementById("bundle-age").dataset.tooOld === "true"`, "the scanner reloaded, 25 h later")
	deadline := time.Now().Add(30 * time.Second)
	for len(keptNonces(t, b)) > 0 {
		require.True(t, time.Now().Before(deadline), "the expired nonces are still kept: %v", keptNonces(t, b))
		time.Sleep(100 * time.Millisecond) // polling with a deadline
	}
	b.ShiftClock(0)
	b.Offline(false)
	b.Check()
}

// keptNonce is an entry of the venue page's replay memory in IndexedDB.
type keptNonce struct {
	Nonce string `json:"nonce"`
	Until int64  `json:"until"`
}

// keptNonces reads the venue page's replay memory from its IndexedDB.
func keptNonces(t *testing.T, b *webtest.Browser) []keptNonce {
	t.Helper()
	raw := webtest.Eval[string](b, `new Promise((resolve, reject) => {
  const r = indexedDB.open("ssi-venue", 1);
  r.onerror = () => reject(r.error);
  r.onsuccess = () => {
    const g = r.result.transaction("kv").objectStore("kv").get("nonces");
    g.onsuccess = () => { resolve(JSON.stringify(g.result || [])); r.result.close(); };
    g.onerror = () => reject(g.error);
  };
})`)
	var out []keptNonce
	require.NoError(t, json.Unmarshal([]byte(raw), &out))
	return out
}

// TestVenueScannerPassesInChromium is issue 18's acceptance 4 in the
// venue page: with `ssi dev --venue-passes`, an EU DCC (HC1:) and a SMART
// Health Card (shc:/) played as the camera are green with the holder's
// name and birth date; a forged card is red with its code. Then offline
// (the trust bundle kept, the network cut, the page reloaded from its
// service worker): the bundle's pass trust checks them on the device, the
// DCC and the card green with name and birth date, a card whose rid the
// issuer's CRL in the bundle lists red shc_revoked.
func TestVenueScannerPassesInChromium(t *testing.T) {
	webtest.Require(t)
	if testing.Short() {
		t.Skip("starts ssi dev and Chromium")
	}
	now := time.Now().UTC()
	dsc, is, passes := venuePassesFile(t, now)
	d := newDevHolder(t, "--venue-passes", passes)
	issued, dose := now.Add(-time.Hour), now.AddDate(0, 0, -30).Format(time.DateOnly)
	cvx := "http://hl7.org/fhir/sid/cvx"
	cam := filepath.Join(t.TempDir(), "door.y4m")
	show := func(text string) {
		sym, err := qr.Encode(text, qr.Byte, qr.L)
		require.NoError(t, err)
		px := max(1, 380/(sym.Size()+8)) // with its quiet zone, inside 80 % of the frame
		require.NoError(t, webtest.WriteY4M(cam, webtest.SymbolImage(sym.Size(), sym.Dark, px), 640, 480, 2))
	}
	show(dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}))

	b := webtest.Start(t, webtest.Options{Camera: cam})
	b.Open(d.url + "/venue/")
	b.WaitFor(`document.activeElement && document.activeElement.id === "apikey"`, "the scanner's sign-in")
	b.Do(chromedp.SendKeys(chromedp.ID("apikey"), d.venue+"\r"))
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the EU DCC's verdict")
	require.Equal(t, "valid", webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`), b.Text("#verdict-box"))
	assert.Contains(t, b.Text("#verdict-box"), "Erika Mustermann")
	assert.Contains(t, b.Text("#verdict-box"), "1964-08-12")
	b.Screenshot("venue-eu-dcc-green")

	show(is.Make(t, shctest.Card{NBF: issued, Immunizations: []map[string]any{shctest.Immunization(cvx, "208", dose)}}))
	verdict, code := scan(t, b, "the SMART Health Card's verdict")
	require.Equal(t, "valid", verdict, code)
	assert.Contains(t, b.Text("#verdict-box"), "Jane Q. Public")
	assert.Contains(t, b.Text("#verdict-box"), "1970-05-06")
	b.Screenshot("venue-shc-green")

	show(is.Make(t, shctest.Card{NBF: issued, Tamper: true}))
	verdict, code = scan(t, b, "the forged card's verdict")
	assert.Equal(t, "invalid", verdict)
	assert.Equal(t, "shc_bad_signature", code)
	assert.NotContains(t, b.Text("#verdict-box"), "Jane", "no name on a red verdict")
	b.Screenshot("venue-shc-forged")
	b.Check()

	if !venueWasmServed(t, d.url) {
		return
	}
	// Offline: the kept bundle (fetched after sign-in and after each
	// online verdict) carries the pass trust.
	b.Do(chromedp.Click(chromedp.ID("verdict-next")))
	b.Do(chromedp.Click(chromedp.ID("bundle-refresh")))
	b.WaitFor(`navigator.serviceWorker.controller && document.getElementById("bundle-age").dataset.tooOld === "false" && !document.getElementById("bundle-age").innerText.includes("unavailable")`, "the kept bundle, opened by the offline verifier")
	show(dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}))
	b.Offline(true)
	b.Open(d.url + "/venue/")
	b.WaitFor(`!document.getElementById("scanner").hidden && document.getElementById("camera-state").dataset.on === "true"`, "the scanner, reloaded with no network")
	assert.Contains(t, b.Text("#mode"), "Offline")
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the EU DCC's offline verdict")
	require.Equal(t, "valid", webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`), b.Text("#verdict-box"))
	logVerdictTime(t, b, "valid")
	assert.Equal(t, "offline", webtest.Eval[string](b, `document.getElementById("verdict-box").dataset.where`))
	assert.Contains(t, b.Text("#verdict-box"), "Erika Mustermann")
	assert.Contains(t, b.Text("#verdict-box"), "1964-08-12")
	assert.Contains(t, b.Text("#verdict-box"), "without a network")
	b.Screenshot("venue-offline-eu-dcc-green")

	show(is.Make(t, shctest.Card{NBF: issued, RID: "fine-card", Immunizations: []map[string]any{shctest.Immunization(cvx, "208", dose)}}))
	verdict, code = scan(t, b, "the SMART Health Card's offline verdict")
	require.Equal(t, "valid", verdict, code)
	assert.Equal(t, "offline", webtest.Eval[string](b, `document.getElementById("verdict-box").dataset.where`))
	assert.Contains(t, b.Text("#verdict-box"), "Jane Q. Public")
	assert.Contains(t, b.Text("#verdict-box"), "1970-05-06")
	b.Screenshot("venue-offline-shc-green")

	show(is.Make(t, shctest.Card{NBF: issued, RID: "stolen-card", Immunizations: []map[string]any{shctest.Immunization(cvx, "208", dose)}}))
	verdict, code = scan(t, b, "the revoked card's offline verdict")
	assert.Equal(t, "invalid", verdict)
	assert.Equal(t, "shc_revoked", code)
	assert.Equal(t, "offline", webtest.Eval[string](b, `document.getElementById("verdict-box").dataset.where`))
	assert.NotContains(t, b.Text("#verdict-box"), "Jane", "no name on a red verdict")
	b.Screenshot("venue-offline-shc-revoked")
	b.Offline(false)
	b.Check()
}
