package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/webtest"
	"github.com/ssi-project/ssi/web"
)

// createKey makes an API key of the health agency with scopes, through the
// admin API with the seeded key.
func createKey(t *testing.T, base, key string, scopes ...string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"scopes": scopes})
	req, err := http.NewRequest(http.MethodPost, base+"/admin/v1/keys", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var v admin.KeyView
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
	return v.Key
}

// fillVaccinationOffer fills the console's vaccination-pass offer form
// for Ada Lovelace (born 1990-12-10, vaccinated a month ago) under
// subjectRef and submits it.
func fillVaccinationOffer(b *webtest.Browser, subjectRef string) {
	vaccinated := time.Now().AddDate(0, -1, 0).Format(time.DateOnly)
	b.Do(
		chromedp.SendKeys(chromedp.ID("subject-ref"), subjectRef),
		chromedp.SendKeys(chromedp.CSS("#subject-fields [name=given_name]"), "Ada"),
		chromedp.SendKeys(chromedp.CSS("#subject-fields [name=family_name]"), "Lovelace"),
		chromedp.SetValue(chromedp.CSS("#subject-fields [name=birth_date]"), "1990-12-10"),
		chromedp.SetValue(chromedp.CSS("#subject-fields [name=date]"), vaccinated),
		chromedp.SendKeys(chromedp.CSS("#subject-fields [name=vaccine]"), "XYZ-1"),
		chromedp.Click(chromedp.ID("offer-submit")),
	)
}

// signIn signs in to the console with key, typed and submitted with Enter.
func signIn(b *webtest.Browser, key string) {
	webtest.Eval[string](b, `document.getElementById("apikey").value = ""`)
	b.Do(chromedp.SendKeys(chromedp.ID("apikey"), key+"\r"))
}

// TestAdminConsoleInChromium is the console's story in real Chromium on
// `ssi dev`: a wrong key is refused; the agency admin signs in and creates
// an offer from the form generated from the schema (the DOM shows the
// tx_code and a QR image that decodes to the offer); a wallet redeems it
// with that tx_code; a key without credentials:revoke finds the credential
// and is refused the revocation, and the page says which scope it lacks;
// the admin revokes it after the confirmation step (cancel first sends
// nothing); the audit log shows the revocation and the refusal; the
// anchoring state shows the revoked list anchored. All of it at 360 px,
// under the pages' CSP, with no request to another origin and no inline
// script.
func TestAdminConsoleInChromium(t *testing.T) {
	webtest.Require(t)
	if testing.Short() {
		t.Skip("starts ssi dev and Chromium")
	}
	d := newDevWallet(t)
	base := d.c.Base
	limited := createKey(t, base, d.key, admin.ScopeCredentialsIssue, admin.ScopeAuditRead)

	b := webtest.Start(t, webtest.Options{})
	b.Open(base + "/admin/")
	assert.Equal(t, web.CSP, b.Header("Content-Security-Policy"), "the CSP header as the browser got it")
	b.WaitFor(`document.activeElement && document.activeElement.id === "apikey"`, "the key field to have the focus")

	signIn(b, "ssi_0123456789abcdef_not-a-key")
	b.WaitFor(`document.getElementById("status").innerText.includes("unauthenticated")`, "the refusal of a wrong key")
	assert.False(t, webtest.Eval[bool](b, `document.getElementById("signin").hidden`), "still signed out")
	assert.Empty(t, webtest.Eval[string](b, `sessionStorage.getItem("ssi.apiKey") || ""`), "a refused key is not kept")

	signIn(b, d.key)
	b.WaitFor(`!document.getElementById("console").hidden && document.querySelectorAll("#config option").length > 0 && document.querySelector("#subject-fields input[name=given_name]")`, "the console with the generated offer form")
	assert.Contains(t, b.Text("#who"), "Tenant health")
	assert.Equal(t, "tab-issue", webtest.Eval[string](b, `document.activeElement.id`), "the focus moves on to the tabs")
	assert.Equal(t, "vaccination-pass", webtest.Eval[string](b, `document.getElementById("config").value`))
	for _, name := range []string{"given_name", "family_name", "birth_date", "date", "vaccine", "place"} {
		assert.True(t, webtest.Eval[bool](b, `!!document.querySelector("#subject-fields [name=`+name+`]")`), "a field for %s, from the schema", name)
	}
	assert.Equal(t, "date", webtest.Eval[string](b, `document.querySelector("#subject-fields [name=birth_date]").type`), "format date is a date input")
	assert.True(t, b.Fits(), "the console fits 360 px")
	b.Screenshot("admin-signed-in")

	// The offer.
	fillVaccinationOffer(b, "case-4711")
	b.WaitFor(`!document.getElementById("offer-result").hidden && document.getElementById("offer-qr").naturalWidth > 0`, "the offer with its QR image")
	assert.Equal(t, "offer-result-h", webtest.Eval[string](b, `document.activeElement.id`), "the focus moves to the result")
	txCode := b.Text("#offer-txcode")
	assert.Regexp(t, `^[0-9]{4,}$`, txCode, "the tx_code is shown")
	offerURI := webtest.Eval[string](b, `document.getElementById("offer-uri").value`)
	require.True(t, strings.HasPrefix(offerURI, "openid-credential-offer://"), offerURI)
	assert.Equal(t, offerURI, pageQR(t, b, "offer-qr"), "the QR on the page is the offer")
	assert.True(t, b.Fits())
	b.Screenshot("admin-offer")

	// The wallet redeems it with what the page showed.
	d.redeem(t, offerURI, txCode)
	ctx := context.Background()

	find := func() {
		t.Helper()
		webtest.Eval[bool](b, `document.getElementById("find-result").replaceChildren() === undefined`)
		b.Do(chromedp.Click(chromedp.ID("tab-find")), chromedp.SetValue(chromedp.ID("find-ref"), "case-4711"),
			chromedp.Click(chromedp.CSS("#find-form button[type=submit]")))
		b.WaitFor(`document.querySelectorAll("#find-result tbody tr").length === 1`, "the credential found by its subject reference")
	}
	act := func(action, reason string) {
		t.Helper()
		b.Do(chromedp.Click(chromedp.CSS(`#find-result button[data-action="` + action + `"]`)))
		b.WaitFor(`document.getElementById("confirm").open`, "the confirmation dialog")
		b.Do(chromedp.SendKeys(chromedp.ID("confirm-reason"), reason), chromedp.Click(chromedp.ID("confirm-ok")))
	}
	revoke := func(reason string) { t.Helper(); act("revoke", reason) }

	// A key without credentials:revoke: refused, and the page says why.
	b.Do(chromedp.Click(chromedp.ID("signout")))
	b.WaitFor(`!document.getElementById("signin").hidden`, "signed out")
	signIn(b, limited)
	b.WaitFor(`!document.getElementById("console").hidden`, "the console for the limited key")
	find()
	assert.Contains(t, b.Text("#find-result tbody tr"), "valid")
	revoke("lost phone")
	b.WaitFor(`document.getElementById("status").innerText.includes("insufficient_scope")`, "the refusal of the revocation")
	assert.Contains(t, b.Text("#status"), "credentials:revoke", "the page names the missing scope")
	assert.True(t, webtest.Eval[bool](b, `!!document.querySelector("#status [role=alert]")`), "announced as an alert")
	b.Screenshot("admin-refused-scope")
	find()
	assert.Contains(t, b.Text("#find-result tbody tr"), "valid", "nothing changed")

	// The admin: cancel first (nothing is sent), then confirm.
	b.Do(chromedp.Click(chromedp.ID("signout")))
	signIn(b, d.key)
	b.WaitFor(`!document.getElementById("console").hidden`, "the console for the admin")
	find()
	b.Do(chromedp.Click(chromedp.CSS(`#find-result button[data-action="revoke"]`)))
	b.WaitFor(`document.getElementById("confirm").open`, "the confirmation dialog")
	b.Screenshot("admin-confirm")
	b.Do(chromedp.Click(chromedp.ID("confirm-cancel")))
	b.WaitFor(`!document.getElementById("confirm").open`, "the dialog closed")
	recs, err := d.c.Records(ctx, d.key, "case-4711")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "valid", recs[0].Status, "a cancelled confirmation sends nothing")
	act("suspend", "under review")
	b.WaitFor(`document.querySelector("#find-result tbody tr").innerText.includes("suspended") && document.querySelector('#find-result button[data-action="unsuspend"]')`, "the suspension")
	assert.Contains(t, b.Text("#status"), "Suspended")
	act("unsuspend", "review done")
	b.WaitFor(`document.querySelector("#find-result tbody tr").innerText.includes("valid") && document.querySelector('#find-result button[data-action="suspend"]')`, "the unsuspension")
	revoke("reported stolen")
	b.WaitFor(`document.getElementById("status").innerText.includes("Revoked") && document.querySelector("#find-result tbody tr").innerText.includes("revoked")`, "the revocation done")
	recs, err = d.c.Records(ctx, d.key, "case-4711")
	require.NoError(t, err)
	assert.Equal(t, "revoked", recs[0].Status)
	assert.True(t, b.Fits(), "a long credential ID wraps inside 360 px")
	b.Screenshot("admin-revoked")

	// The audit log.
	b.Do(chromedp.Click(chromedp.ID("tab-audit")))
	b.WaitFor(`document.getElementById("audit-rows").innerText.includes("credential.revoke")`, "the revocation in the audit log")
	assert.Contains(t, b.Text("#audit-rows"), "authz.denied", "the refusal is audited too")
	assert.True(t, b.Fits())
	b.Screenshot("admin-audit")

	// The anchoring state: the revoked list's new version anchored.
	b.Do(chromedp.Click(chromedp.ID("tab-anchoring")))
	deadline := time.Now().Add(30 * time.Second)
	for !webtest.Eval[bool](b, `(() => { const r = document.querySelector("#lists-rows tr"); return !!r && r.innerText.includes("anchored") && !r.innerText.includes("yes"); })()`) {
		require.True(t, time.Now().Before(deadline), "the list was not shown anchored: %s", b.Text("#anchoring"))
		time.Sleep(300 * time.Millisecond) // polling with a deadline
		b.Do(chromedp.Click(chromedp.ID("anchoring-refresh")))
	}
	assert.Contains(t, b.Text("#ledger-facts"), "running")
	height := webtest.Eval[string](b, `document.querySelector('[data-fact="Height"]').innerText`)
	assert.Regexp(t, `^[1-9][0-9]*$`, height, "the ledger height")
	b.Screenshot("admin-anchoring")

	// Keyboard: the tabs move with the arrow keys.
	b.Do(chromedp.Focus(chromedp.ID("tab-anchoring")), chromedp.KeyEvent(kb.ArrowLeft))
	b.WaitFor(`document.getElementById("tab-audit").getAttribute("aria-selected") === "true" && document.activeElement.id === "tab-audit"`, "the arrow key to select the audit tab")

	b.Check()

	// The other agency's configuration: an enum is a select, a boolean a
	// checkbox.
	b.Do(chromedp.Click(chromedp.ID("signout")))
	signIn(b, d.benefitsKey)
	b.WaitFor(`!document.getElementById("console").hidden && document.querySelector("#subject-fields select[name=benefit]")`, "the benefits offer form")
	assert.Equal(t, "Benefits eligibility card", webtest.Eval[string](b, `document.getElementById("config").selectedOptions[0].textContent`))
	assert.Equal(t, []string{"housing", "unemployment", "disability"}, webtest.Eval[[]string](b, `[...document.querySelectorAll("#subject-fields select[name=benefit] option")].map((o) => o.value)`))
	assert.Equal(t, "checkbox", webtest.Eval[string](b, `document.querySelector("#subject-fields [name=eligible_for_benefit]").type`))
	b.Do(
		chromedp.SendKeys(chromedp.ID("subject-ref"), "case-b-1"),
		chromedp.SendKeys(chromedp.CSS("#subject-fields [name=given_name]"), "Grace"),
		chromedp.SendKeys(chromedp.CSS("#subject-fields [name=family_name]"), "Hopper"),
		chromedp.SetValue(chromedp.CSS("#subject-fields [name=birth_date]"), "1950-12-09"),
		chromedp.SetValue(chromedp.CSS("#subject-fields [name=benefit]"), "housing"),
		chromedp.Click(chromedp.CSS("#subject-fields [name=eligible_for_benefit]")),
		chromedp.Click(chromedp.ID("offer-submit")),
	)
	b.WaitFor(`!document.getElementById("offer-result").hidden && document.getElementById("offer-txcode").textContent !== ""`, "the benefits offer")
	d.redeem(t, webtest.Eval[string](b, `document.getElementById("offer-uri").value`), b.Text("#offer-txcode"))

	// A tenant that issues nothing (the venue operator): no offer form,
	// and the page says why; its scopes do not cover the issuer's reads.
	b.Do(chromedp.Click(chromedp.ID("signout")))
	signIn(b, d.venueKey)
	b.WaitFor(`!document.getElementById("console").hidden && document.getElementById("status").innerText.includes("insufficient_scope")`, "the venue's console")
	assert.Contains(t, b.Text("#status"), "credentials:issue")
	assert.True(t, webtest.Eval[bool](b, `document.getElementById("offer-submit").disabled`), "no offer without configurations")
	b.Check()
}

// TestAdminConsoleShowsMarkupAsText: what the server holds is shown as
// text, never parsed: a subject reference made of markup (an element with
// an inline handler) appears literally in the results and the confirmation,
// adds no element and runs nothing.
func TestAdminConsoleShowsMarkupAsText(t *testing.T) {
	webtest.Require(t)
	if testing.Short() {
		t.Skip("starts ssi dev and Chromium")
	}
	d := newDevWallet(t)
	const ref = `<img id="inj" src="/x" onerror="document.title='pwned'">&amp;<script>document.title='pwned'</script>`
	d.issue(t, ref)

	b := webtest.Start(t, webtest.Options{})
	b.Open(d.c.Base + "/admin/")
	signIn(b, d.key)
	b.WaitFor(`!document.getElementById("console").hidden`, "the console")
	b.Do(chromedp.Click(chromedp.ID("tab-find")))
	webtest.Eval[string](b, `document.getElementById("find-ref").value = `+webtest.JS(ref))
	b.Do(chromedp.Click(chromedp.CSS("#find-form button[type=submit]")))
	b.WaitFor(`document.querySelectorAll("#find-result tbody tr").length === 1`, "the credential")
	b.Do(chromedp.Click(chromedp.CSS(`#find-result button[data-action="suspend"]`)))
	b.WaitFor(`document.getElementById("confirm").open`, "the confirmation dialog")
	assert.Contains(t, b.Text("#confirm-text"), ref, "the reference, literally")
	assert.False(t, webtest.Eval[bool](b, `!!document.getElementById("inj") || !!document.querySelector("main script")`), "no element from the data")
	assert.NotEqual(t, "pwned", webtest.Eval[string](b, `document.title`))
	b.Do(chromedp.Click(chromedp.ID("confirm-cancel")))
	// Not found: the message repeats the reference.
	webtest.Eval[string](b, `document.getElementById("find-ref").value = `+webtest.JS(ref+"-2"))
	b.Do(chromedp.Click(chromedp.CSS("#find-form button[type=submit]")))
	b.WaitFor(`document.getElementById("find-result").innerText.includes("No credential")`, "the not-found message")
	assert.Contains(t, b.Text("#find-result"), ref+"-2", "the reference, literally")
	assert.False(t, webtest.Eval[bool](b, `!!document.getElementById("inj") || !!document.querySelector("main script")`), "no element from the data")
	b.Screenshot("admin-markup-as-text")
	b.Check()
}
