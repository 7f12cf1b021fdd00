package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/webtest"
)

// TestWalletDoorCodeRenewedInChromium: the wallet page's "show at the
// door" code is replaced by a new one before it expires, while it is
// shown. The page's clock runs 45 s ahead (ShiftClock), so a code of ssi
// dev's 60 s has 15 s left by it when it arrives: the page renews it 10 s
// before its expiry by that clock, and the test sees a new code (decoded
// from the image, another text, a later expiry, green at the venue)
// replace the old one before the old one's expiry by the page's clock and
// by the server's.
func TestWalletDoorCodeRenewedInChromium(t *testing.T) {
	webtest.Require(t)
	if testing.Short() {
		t.Skip("starts ssi dev and Chromium")
	}
	d := newDevHolder(t)
	_, venueDID, _ := venueKey(t, d.dir)
	tok := d.citizen("grace")
	d.redeemCopies(t, tok, "case-grace", 4)
	b := webtest.Start(t, webtest.Options{})
	b.Open(d.url + "/wallet/")
	webtest.Eval[bool](b, `(() => { sessionStorage.setItem("ssi.walletToken", `+webtest.JS(tok)+`); return true; })()`)
	b.ShiftClock(45 * time.Second)

	old := walletDoorQR(t, b, d.url, "", venueDID)
	assert.Contains(t, b.Text("#key-mode"), "cloud keys", "the page says where the keys are")
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
	newExp, err := time.Parse(time.RFC3339, webtest.Eval[string](b, `document.getElementById("door").dataset.expires`))
	require.NoError(t, err)
	assert.True(t, newExp.After(oldExp), "the new code lives longer: %s, %s", newExp, oldExp)
	b.Screenshot("wallet-door-code-renewed")

	var v struct {
		Verdict string
		Reasons []string
	}
	code, body := d.call(http.MethodPost, "/verifier/v1/offline", d.venue, map[string]any{"qr": fresh}, &v)
	require.Equal(t, http.StatusOK, code, string(body))
	assert.Equal(t, "green", v.Verdict, v.Reasons)
	b.ShiftClock(0)
	b.Check()
}
