package main

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/webtest"
	"github.com/ssi-project/ssi/web"
)

// clickJS clicks the element id by its click() method: a layout shift
// (cards or history rows arriving) cannot move it from under the mouse.
func clickJS(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.getElementById(` + webtest.JS(id) + `).click()`)
}

// pageQR decodes the QR image of the page's img element id (a data: PNG).
func pageQR(t *testing.T, b *webtest.Browser, id string) string {
	t.Helper()
	src := webtest.Eval[string](b, `document.getElementById(`+webtest.JS(id)+`).src`)
	pngData, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(pngData))
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	// PURE_BARCODE: the image is the rendered symbol itself; gozxing's
	// detector alone misplaces the finder patterns of some symbols.
	res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	require.NoError(t, err)
	return res.GetText()
}

// walletDoorQR shows credential (its card's ID; "" the first) at the door
// of venueDID in the wallet page, disclosing the door's claims, and
// returns the text of the QR code the page shows, decoded from its image.
func walletDoorQR(t *testing.T, b *webtest.Browser, base, credential, venueDID string) string {
	t.Helper()
	b.Open(base + "/wallet/")
	b.WaitFor(`!document.getElementById("wallet").hidden && document.querySelectorAll("#door-claims input").length > 0`, "the wallet with its door form")
	if credential != "" {
		webtest.Eval[bool](b, `(() => { const s = document.getElementById("door-credential"); s.value = `+webtest.JS(credential)+`; delete document.getElementById("door-claims").dataset.for; s.dispatchEvent(new Event("change")); return true; })()`)
		b.WaitFor(`document.getElementById("door-claims").dataset.for === `+webtest.JS(credential)+` && document.querySelectorAll("#door-claims input").length > 0`, "the claims of the chosen credential")
	}
	webtest.Eval[string](b, `document.getElementById("door-venue").value = `+webtest.JS(venueDID))
	for _, c := range doorClaims {
		b.Do(clickJS("claim-" + c))
	}
	b.Do(clickJS("door-submit"))
	b.WaitFor(`!document.getElementById("door").hidden && document.getElementById("door-qr").naturalWidth > 0`, "the offline QR code on the wallet page")
	text := pageQR(t, b, "door-qr")
	require.True(t, strings.HasPrefix(text, "SSI1:"), text)
	assert.Equal(t, webtest.Eval[string](b, `document.getElementById("door-qr").dataset.text`), text, "the image is the code")
	return text
}

// venueVerdict opens the venue scanner (signed in once already) and waits
// for the verdict of what the camera shows.
func venueVerdict(t *testing.T, b *webtest.Browser, base, what string) (verdict, code string) {
	t.Helper()
	b.Open(base + "/venue/")
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, what)
	v := webtest.Eval[map[string]string](b, `(() => { const e = document.querySelector("#verdict-box [data-verdict]"); return {v: e.dataset.verdict, c: e.dataset.code || ""}; })()`)
	logVerdictTime(t, b, v["v"])
	return v["v"], v["c"]
}

// TestStoryInChromium is issue 17's story in one Chromium, on `ssi dev`:
// the agency admin creates an offer in the console; the citizen signs up
// in the wallet page and redeems it with the tx_code; the wallet page's
// offline QR code, decoded from its image, is played as the venue's camera
// and the scanner shows green with the name; the admin revokes in the
// console and the next code is red revoked; a request beyond the venue's
// registration is shown refused in the wallet page, with the claim over
// the line; the history lists what was shown and refused. Then offline
// (DevTools offline emulation, the bundle kept): a valid pass is green,
// checked in the page, and bundle_too_old once the page's clock is past
// the bundle's maximum age. Screenshots of each step; every request of
// the browser stays on the page's origin.
func TestStoryInChromium(t *testing.T) {
	webtest.Require(t)
	if testing.Short() {
		t.Skip("starts ssi dev and Chromium")
	}
	d := newDevHolder(t)
	base := d.url
	_, venueDID, venueKid := venueKey(t, d.dir)
	cam := filepath.Join(t.TempDir(), "door.y4m")
	require.NoError(t, webtest.WriteY4MFrames(cam, []image.Image{nil}, 640, 480))
	b := webtest.Start(t, webtest.Options{Camera: cam})

	// 1. The admin's offer, in the console.
	b.Open(base + "/admin/")
	signIn(b, d.key)
	b.WaitFor(`!document.getElementById("console").hidden && document.querySelector("#subject-fields input[name=given_name]")`, "the console with the offer form")
	fillVaccinationOffer(b, "case-4711")
	b.WaitFor(`!document.getElementById("offer-result").hidden && document.getElementById("offer-qr").naturalWidth > 0`, "the offer")
	txCode := b.Text("#offer-txcode")
	offerURI := pageQR(t, b, "offer-qr")
	require.True(t, strings.HasPrefix(offerURI, "openid-credential-offer://"), offerURI)
	b.Screenshot("story-admin-offer")

	// 2. The citizen signs up and redeems it in the wallet page.
	b.Open(base + "/wallet/")
	b.WaitFor(`document.activeElement && document.activeElement.id === "username"`, "the sign-in form")
	assert.Equal(t, web.CSP, b.Header("Content-Security-Policy"))
	b.Do(chromedp.SendKeys(chromedp.ID("username"), "ada"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.ID("signup")))
	b.WaitFor(`!document.getElementById("wallet").hidden`, "the wallet after sign-up")
	assert.Contains(t, b.Text("#who"), "ada")
	b.WaitFor(`document.getElementById("cards").innerText.includes("No credential yet")`, "the empty wallet")
	webtest.Eval[string](b, `document.getElementById("offer").value = `+webtest.JS(offerURI))
	b.Do(chromedp.SendKeys(chromedp.ID("txcode"), txCode), clickJS("add-submit"))
	b.WaitFor(`document.querySelector("#cards [data-credential]")`, "the credential's card")
	card := b.Text("#cards")
	assert.Contains(t, card, "Vaccination pass", "the issuer's display name of the credential")
	assert.Contains(t, card, "/issuers/health", "the issuer")
	assert.True(t, b.Fits(), "the wallet fits 360 px")
	b.Screenshot("story-wallet-card")

	// 3. Show at the door → the venue's camera → green.
	text := walletDoorQR(t, b, base, "", venueDID)
	b.Screenshot("story-wallet-door-qr")
	writeCamera(t, text, cam)
	b.Open(base + "/venue/")
	b.WaitFor(`document.activeElement && document.activeElement.id === "apikey"`, "the scanner's sign-in")
	b.Do(chromedp.SendKeys(chromedp.ID("apikey"), d.venue+"\r"))
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the venue's verdict")
	logVerdictTime(t, b, "first")
	require.Equal(t, "valid", webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`), b.Text("#verdict-box"))
	assert.Contains(t, b.Text("#verdict-box"), "Ada Lovelace")
	assert.Contains(t, b.Text("#verdict-box"), "1990-12-10")
	assert.NotContains(t, b.Text("#verdict-box"), "XYZ-1", "name and birth date only")
	b.Screenshot("story-venue-green")

	// 4. The admin revokes in the console; the venue (online) turns red.
	webtest.Eval[bool](b, `(() => { sessionStorage.removeItem("ssi.apiKey"); return true; })()`)
	b.Open(base + "/admin/")
	signIn(b, d.key)
	b.WaitFor(`!document.getElementById("console").hidden`, "the console")
	b.Do(chromedp.Click(chromedp.ID("tab-find")), chromedp.SetValue(chromedp.ID("find-ref"), "case-4711"),
		chromedp.Click(chromedp.CSS("#find-form button[type=submit]")))
	b.WaitFor(`document.querySelectorAll("#find-result tbody tr").length >= 1`, "the credential found")
	// One record a copy: each is revoked, after its confirmation.
	const revokeButtons = `document.querySelectorAll('#find-result button[data-action="revoke"]').length`
	for n := webtest.Eval[int](b, revokeButtons); n > 0; n = webtest.Eval[int](b, revokeButtons) {
		webtest.Eval[bool](b, `(() => { document.querySelector('#find-result button[data-action="revoke"]').click(); return true; })()`)
		b.WaitFor(`document.getElementById("confirm").open`, "the confirmation dialog")
		b.Do(chromedp.SendKeys(chromedp.ID("confirm-reason"), "reported stolen"), chromedp.Click(chromedp.ID("confirm-ok")))
		b.WaitFor(`!document.getElementById("confirm").open && `+revokeButtons+` < `+strconv.Itoa(n), "the revocation")
	}
	b.Screenshot("story-admin-revoked")
	deadline := time.Now().Add(60 * time.Second)
	for {
		writeCamera(t, walletDoorQR(t, b, base, "", venueDID), cam)
		verdict, code := venueVerdict(t, b, base, "the verdict after the revocation")
		if verdict == "invalid" {
			require.Equal(t, "revoked", code)
			break
		}
		require.True(t, time.Now().Before(deadline), "still %s after the revocation", verdict)
		time.Sleep(time.Second) // polling with a deadline: the verifier's cache of the list
	}
	assert.Contains(t, b.Text("#verdict-box"), "revoked by its issuer")
	b.Screenshot("story-venue-red-revoked")

	// 5. Over-asking, refused in the wallet page.
	venue, _, _ := venueKey(t, d.dir)
	rogue := newRogueVerifier(t)
	uri := rogue.sign(t, venue, venueKid, venueDID, passQuery("vaccinated_within_policy", "vaccinations"), nil)
	b.Open(base + "/wallet/")
	b.WaitFor(`!document.getElementById("wallet").hidden`, "the wallet")
	// The card says revoked too (the wallet's list reads the status).
	for deadline := time.Now().Add(60 * time.Second); ; {
		b.WaitFor(`document.querySelector("#cards [data-status]")`, "the card")
		if webtest.Eval[string](b, `document.querySelector("#cards [data-status]").dataset.status`) == "revoked" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the card still says %s", b.Text("#cards"))
		time.Sleep(time.Second) // polling with a deadline: the wallet's cache of the status list
		b.Open(base + "/wallet/")
	}
	assert.Contains(t, b.Text("#cards"), "revoked")
	webtest.Eval[string](b, `document.getElementById("request").value = `+webtest.JS(uri))
	b.Do(clickJS("present-submit"))
	b.WaitFor(`!document.getElementById("consent").hidden && document.querySelector("#consent [data-reason]")`, "the refusal")
	consent := b.Text("#consent")
	assert.Contains(t, consent, "Request refused")
	assert.Contains(t, consent, "over_asking")
	assert.Contains(t, consent, "vaccinations", "the claim over the line")
	assert.Contains(t, consent, "City Stadium", "who asks")
	require.Len(t, rogue.received(), 1)
	assert.Equal(t, "access_denied", rogue.received()[0].Get("error"))
	b.Screenshot("story-wallet-over-asking")

	// A new pass for Ada (the agency re-issues after the theft).
	o := d.offer("case-4712")
	webtest.Eval[string](b, `document.getElementById("offer").value = `+webtest.JS(o.OfferURI))
	b.Do(chromedp.SendKeys(chromedp.ID("txcode"), o.TxCode), clickJS("add-submit"))
	b.WaitFor(`document.querySelectorAll("#cards [data-credential]").length === 2`, "the new credential's card")
	fresh := webtest.Eval[string](b, `document.querySelector("#cards [data-credential]").dataset.credential`) // newest first

	// The venue's own request, within its registration: the consent
	// screen (who, the registered purpose, the claims), then Share.
	venueAPI := venueClient{base: base, key: d.venue}
	txID, authURI := venueAPI.create(t, "direct_post.jwt")
	webtest.Eval[string](b, `document.getElementById("request").value = `+webtest.JS(authURI))
	b.Do(clickJS("present-submit"))
	b.WaitFor(`!document.getElementById("consent").hidden && document.getElementById("consent-accept")`, "the consent screen")
	consent = b.Text("#consent")
	assert.Contains(t, consent, "City Stadium")
	assert.Contains(t, consent, "admission under the public health order", "the registered purpose")
	for _, c := range doorClaims {
		assert.Contains(t, consent, c, "the claims asked")
	}
	assert.True(t, b.Fits())
	b.Screenshot("story-wallet-consent")
	b.Do(clickJS("consent-accept"))
	b.WaitFor(`document.getElementById("status").innerText.includes("Shared with")`, "the presentation sent")
	res := venueAPI.result(t, txID)
	assert.Equal(t, "green", res["verdict"], res)
	assert.Equal(t, map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01"}, res["claims"], "the new pass (the demo subject)")
	b.Do(clickJS("history-refresh"))
	b.WaitFor(`document.querySelector("#history [data-outcome=refused_over_asking]") && document.querySelector("#history [data-outcome=offline_qr]") && document.querySelector("#history [data-outcome=shared]")`, "the history")
	assert.NotContains(t, b.Text("#history"), "Lovelace", "claim names, never values")
	b.Screenshot("story-wallet-history")
	// The export: the file the page hands to the browser's download.
	webtest.Eval[bool](b, `(() => { const real = URL.createObjectURL; window.__ssiExport = null; URL.createObjectURL = (blob) => { window.__ssiExport = blob; return real(blob); }; return true; })()`)
	b.Do(clickJS("export-csv"))
	b.WaitFor(`!!window.__ssiExport`, "the CSV export")
	csv := webtest.Eval[string](b, `window.__ssiExport.text()`)
	assert.False(t, strings.HasPrefix(strings.TrimSpace(csv), "{"), "CSV, not JSON: %.80s", csv)
	assert.Contains(t, csv, "refused_over_asking")
	assert.Contains(t, csv, "offline_qr")
	assert.NotContains(t, csv, "Lovelace", "claim names, never values")
	webtest.Eval[bool](b, `(() => { window.__ssiExport = null; return true; })()`)
	b.Do(clickJS("export-json"))
	b.WaitFor(`!!window.__ssiExport`, "the JSON export")
	assert.GreaterOrEqual(t, webtest.Eval[int](b, `window.__ssiExport.text().then((t) => JSON.parse(t).history.length)`), 4)

	// 6. Offline: a valid pass, checked in the page; then too old.
	if !venueWasmServed(t, base) {
		b.Check()
		return
	}
	writeCamera(t, walletDoorQR(t, b, base, fresh, venueDID), cam)
	verdict, code := venueVerdict(t, b, base, "the new pass online")
	require.Equal(t, "valid", verdict, code)
	b.Do(clickJS("verdict-next"))
	before := webtest.Eval[string](b, `document.getElementById("bundle-age").dataset.issued || ""`)
	time.Sleep(1100 * time.Millisecond) // the bundle's issued_at has whole seconds
	b.Do(clickJS("bundle-refresh"))
	b.WaitFor(`navigator.serviceWorker.controller && document.getElementById("bundle-age").dataset.issued !== `+webtest.JS(before)+` && !document.getElementById("bundle-age").innerText.includes("unavailable")`, "a fresh bundle kept")
	tok := webtest.Eval[string](b, `sessionStorage.getItem("ssi.walletToken") || ""`)
	require.NotEmpty(t, tok)
	// The wallet page needs the network to make a code: the citizen's
	// phone is online, the venue is not. The next code comes from the
	// same API the page calls.
	showAtDoor(t, d, tok, fresh, venueDID, cam)
	b.Offline(true)
	verdict, code = venueVerdict(t, b, base, "the offline verdict")
	require.Equal(t, "valid", verdict, code)
	assert.Equal(t, "offline", webtest.Eval[string](b, `document.getElementById("verdict-box").dataset.where`))
	assert.Contains(t, b.Text("#verdict-box"), "Ada Lovelace")
	assert.Contains(t, b.Text("#mode"), "Offline")
	b.Screenshot("story-venue-offline-green")
	b.ShiftClock(25 * time.Hour)
	showAtDoor(t, d, tok, fresh, venueDID, cam)
	verdict, code = scan(t, b, "the verdict past the bundle's age")
	assert.Equal(t, "invalid", verdict)
	assert.Equal(t, "bundle_too_old", code)
	assert.Contains(t, b.Text("#verdict-box"), "too old")
	b.Screenshot("story-venue-offline-bundle-too-old")
	b.ShiftClock(0)
	b.Offline(false)
	b.Check()
}
