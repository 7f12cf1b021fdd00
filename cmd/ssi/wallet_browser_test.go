package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/webtest"
)

// TestWalletDoorCodeRenewedInChromium: the wallet page's cards say a
// credential the agency re-issued is replaced, and the door does not
// offer it; the page's "show at the door" code is replaced by a new one before it expires, while it is
// shown. The page's clock runs 45 s ahead (ShiftClock), so a code of ssi
// dev's 60 s has 15 s left by it when it arrives: the page renews it 10 s
// before its expiry by that clock, and the test sees a new code (decoded
// from the image, another text, a later expiry)
// replace the old one before the old one's expiry by the page's clock and
// by the server's. The page also gives the code as text, which pasted
// into the venue scanner's "No camera?" field is green.
func TestWalletDoorCodeRenewedInChromium(t *testing.T) {
	webtest.Require(t)
	if testing.Short() {
		t.Skip("starts ssi dev and Chromium")
	}
	d := newDevHolder(t)
	_, venueDID, _ := venueKey(t, d.dir)
	tok := d.citizen("grace")
	first := d.redeemCopies(t, tok, "case-grace", 4)
	// The agency re-issues it (a new offer redeemed with replaces): the
	// first becomes refreshed.
	o := d.offer("case-grace")
	var second walletCredential
	code, body := d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 4, "replaces": first.ID}, &second)
	require.Equal(t, http.StatusCreated, code, string(body))
	d.waitValid(t, tok, second.ID)
	b := webtest.Start(t, webtest.Options{})
	b.Open(d.url + "/wallet/")
	webtest.Eval[bool](b, `(() => { sessionStorage.setItem("ssi.walletToken", `+webtest.JS(tok)+`); return true; })()`)
	b.Open(d.url + "/wallet/")
	b.WaitFor(`document.querySelectorAll("#cards [data-credential]").length === 2`, "the two cards")
	assert.Contains(t, b.Text(`#cards [data-credential="`+first.ID+`"]`), "replaced by a newer batch")
	assert.Equal(t, "refreshed", webtest.Eval[string](b, `document.querySelector('#cards [data-credential="`+first.ID+`"]').dataset.status`))
	assert.Equal(t, []string{second.ID}, webtest.Eval[[]string](b, `[...document.getElementById("door-credential").options].map((o) => o.value)`), "a replaced credential is not offered at the door")
	b.ShiftClock(45 * time.Second)

	old := walletDoorQR(t, b, d.url, "", venueDID)
	assert.Contains(t, b.Text("#key-mode"), "cloud keys", "the page says where the keys are")
	assert.Equal(t, old, webtest.Eval[string](b, `document.getElementById("door-text").value`), "the code as text, to paste at a scanner without a camera")
	oldExp, err := time.Parse(time.RFC3339, webtest.Eval[string](b, `document.getElementById("door").dataset.expires`))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(60*time.Second), oldExp, 10*time.Second, "ssi dev's codes live 60 s")
	b.Screenshot("wallet-door-code")

	b.WaitFor(`document.getElementById("door-qr").dataset.text !== `+webtest.JS(old)+` && document.getElementById("door-qr").complete`, "a new code in place of the old one")
	pageNow := time.UnixMilli(int64(webtest.Eval[float64](b, `Date.now()`)))
	assert.True(t, pageNow.Before(oldExp), "replaced at %s by the page's clock, after the old code's expiry %s", pageNow, oldExp)
	assert.True(t, time.Now().Before(oldExp), "replaced after the old code's expiry")
	assert.False(t, webtest.Eval[bool](b, `document.getElementById("door").hidden`), "still shown")
	fresh := pageQR(t, b, "door-qr")
	assert.True(t, strings.HasPrefix(fresh, "SSI1:"), fresh)
	assert.NotEqual(t, old, fresh)
	assert.Equal(t, webtest.Eval[string](b, `document.getElementById("door-qr").dataset.text`), fresh, "the image is the new code")
	assert.Equal(t, fresh, webtest.Eval[string](b, `document.getElementById("door-text").value`), "the text beside it too")
	newExp, err := time.Parse(time.RFC3339, webtest.Eval[string](b, `document.getElementById("door").dataset.expires`))
	require.NoError(t, err)
	assert.True(t, newExp.After(oldExp), "the new code lives longer: %s, %s", newExp, oldExp)
	b.Screenshot("wallet-door-code-renewed")

	// The code as text, pasted into a scanner without a camera (the
	// README's way with one computer): green.
	b.ShiftClock(0)
	b.Open(d.url + "/venue/")
	b.WaitFor(`document.activeElement && document.activeElement.id === "apikey"`, "the scanner's sign-in")
	b.Do(chromedp.SendKeys(chromedp.ID("apikey"), d.venue+"\r"))
	b.WaitFor(`document.getElementById("fallback").open && document.getElementById("camera-state").dataset.on === "false"`, "the scanner without a camera, its fallback open")
	webtest.Eval[string](b, `document.getElementById("manual-text").value = `+webtest.JS(fresh))
	b.Do(chromedp.Click(chromedp.CSS("#manual-form button[type=submit]")))
	b.WaitFor(`!document.getElementById("verdict").hidden && document.querySelector("#verdict-box [data-verdict]")`, "the verdict of the pasted code")
	assert.Equal(t, "valid", webtest.Eval[string](b, `document.querySelector("#verdict-box [data-verdict]").dataset.verdict`), b.Text("#verdict-box"))
	assert.Equal(t, "manual", webtest.Eval[string](b, `document.getElementById("verdict-box").dataset.source`))
	b.ShiftClock(0)
	b.Check()
}
