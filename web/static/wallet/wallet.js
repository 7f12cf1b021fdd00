// The citizen web wallet, on the holder API only (/wallet/v1): sign up
// and sign in (the session token stays in this tab's sessionStorage);
// add a credential from an offer and its transaction code; a card per
// credential with the issuer's display name and its status; answer a
// verifier's request after the consent screen (who asks, the registered
// purpose, which claims, what is optional; a request beyond the
// registration is shown refused); "show at the door": the offline QR code
// for a venue, renewed before it expires; the sharing history and its
// export.

import { ApiError, call, el, explain, message, row, tag } from "/assets/api.js";
import { decodeImage, startCamera } from "/assets/qrscan.js";

const $ = (id) => document.getElementById(id);
const TOKEN = "ssi.walletToken";

const token = () => sessionStorage.getItem(TOKEN) || "";
const w = (method, path, body) => call(method, path, body, { bearer: token() });

let credentials = [];
let doorTimer = 0;

// ---- sign-in ----

async function login(signup) {
  const creds = { username: $("username").value.trim(), password: $("password").value };
  try {
    if (signup) await call("POST", "/wallet/v1/accounts", creds);
    const s = await call("POST", "/wallet/v1/sessions", creds);
    sessionStorage.setItem(TOKEN, s.token);
    $("password").value = "";
    await enter();
  } catch (e) {
    message($("status"), "error", explain(e));
  }
}

async function enter() {
  let acct;
  try {
    acct = await w("GET", "/wallet/v1/account");
  } catch (e) {
    sessionStorage.removeItem(TOKEN);
    $("signin").hidden = false;
    if (e instanceof ApiError && e.status !== 401) message($("status"), "error", explain(e));
    $("username").focus();
    return;
  }
  $("status").replaceChildren();
  $("who").textContent = "Signed in as " + acct.username;
  $("signin").hidden = true;
  $("wallet").hidden = false;
  $("signout").hidden = false;
  await Promise.all([loadCards(), loadHistory()]);
  $("cards-h").focus();
}

async function signout() {
  stopDoor();
  try { await w("DELETE", "/wallet/v1/sessions/current"); } catch { /* the session ends here anyway */ }
  sessionStorage.removeItem(TOKEN);
  $("wallet").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  $("signin").hidden = false;
  $("username").focus();
}

// ---- credentials ----

// first returns the display entry of a display list (the issuer's
// metadata: [{name, locale, …}]) or the object itself.
const first = (d) => (Array.isArray(d) ? d[0] : d) || {};

function displayName(c) {
  return first(c.display && c.display.credential).name || c.credential_configuration_id || c.vct;
}

function issuerName(c) {
  return first(c.display && c.display.issuer).name || c.issuer;
}

// statusWords are the card's words for a status; the code itself is
// kept in data-status.
const statusWords = { unknown: "status not known yet", refreshed: "replaced by a newer batch" };

// statusTag: valid ✔, revoked or expired ✖, anything else (suspended;
// refreshed: replaced; unknown: the issuer's list not read or proven
// yet) ⏸.
const statusTag = (s) => tag(s === "valid" ? "ok" : s === "revoked" || s === "expired" ? "bad" : "warn", statusWords[s] || s);

async function loadCards() {
  // The list reads each credential's status now (docs/wallet.md).
  const r = await w("GET", "/wallet/v1/credentials");
  credentials = r.credentials || [];
  const box = $("cards");
  if (!credentials.length) {
    box.replaceChildren(el("p", { class: "hint" }, "No credential yet: add one below with the offer an agency gave you."));
  } else {
    box.replaceChildren(...credentials.map((c) => el("article", { class: "card", "data-credential": c.id, "data-status": c.status },
      el("h3", {}, displayName(c)),
      el("p", {}, statusTag(c.status), " ", c.unused_copies + " of " + c.copies + " copies unused", c.low_copies ? " · ask the issuer for new copies" : ""),
      el("p", { class: "hint" }, "From " + issuerName(c)),
      el("p", { class: "hint" }, "Received " + new Date(c.received_at).toLocaleString() + (c.expires_at ? " · expires " + new Date(c.expires_at).toLocaleDateString() : "")))));
  }
  const sel = $("door-credential");
  const keep = sel.value;
  // A replaced credential is no longer shown to verifiers.
  sel.replaceChildren(...credentials.filter((c) => c.status !== "refreshed").map((c) => el("option", { value: c.id }, displayName(c) + " (" + (statusWords[c.status] || c.status) + ")")));
  if (keep && credentials.some((c) => c.id === keep)) sel.value = keep;
  await doorClaims();
}

async function add(ev) {
  ev.preventDefault();
  $("add-submit").disabled = true;
  try {
    const c = await w("POST", "/wallet/v1/offers", { offer_uri: $("offer").value.trim(), tx_code: $("txcode").value.trim() || undefined });
    $("offer").value = "";
    $("txcode").value = "";
    message($("status"), "ok", "Added: " + displayName(c) + ".");
    await loadCards();
  } catch (e) {
    message($("status"), "error", explain(e));
  } finally {
    $("add-submit").disabled = false;
  }
}

// ---- show at the door ----

async function doorClaims() {
  const id = $("door-credential").value;
  const box = $("door-claims");
  if (!id) {
    box.replaceChildren();
    return;
  }
  const c = await w("GET", "/wallet/v1/credentials/" + encodeURIComponent(id));
  if ($("door-credential").value !== id) return; // another was chosen meanwhile
  box.replaceChildren(...(c.disclosable || []).map((n) => el("div", { class: "check" },
    el("input", { type: "checkbox", id: "claim-" + n, name: "claim", value: n }),
    el("label", { for: "claim-" + n }, n))));
  box.dataset.for = id;
}

async function showDoor(ev) {
  if (ev) ev.preventDefault();
  clearTimeout(doorTimer);
  const id = $("door-credential").value;
  const claims = [...document.querySelectorAll("#door-claims input:checked")].map((i) => i.value);
  try {
    const q = await w("POST", "/wallet/v1/credentials/" + encodeURIComponent(id) + "/offline-qr", { venue: $("door-venue").value.trim(), claims });
    $("door-qr").src = "data:image/png;base64," + q.png;
    $("door-qr").dataset.text = q.text;
    $("door-text").value = q.text;
    $("door").hidden = false;
    const exp = new Date(q.expires_at);
    $("door-expires").textContent = "Valid until " + exp.toLocaleTimeString() + "; a new code replaces it before then.";
    $("door").dataset.expires = q.expires_at;
    $("status").replaceChildren();
    // Renewed 10 s before it expires, while shown.
    doorTimer = setTimeout(showDoor, Math.max(5000, exp.getTime() - Date.now() - 10000));
    loadHistory();
  } catch (e) {
    stopDoor();
    message($("status"), "error", e instanceof ApiError && e.code === "over_asking"
      ? "Refused (over_asking): the venue's registration does not allow it to see all of that. " + e.detail
      : explain(e));
  }
}

function stopDoor() {
  clearTimeout(doorTimer);
  $("door").hidden = true;
  $("door-qr").removeAttribute("src");
  $("door-text").value = "";
}

// ---- presenting ----

async function present(ev) {
  ev.preventDefault();
  const text = $("request").value.trim();
  const body = text.startsWith("openid4vp:") || text.startsWith("haip-vp:") ? { authorization_request_uri: text } : { request_uri: text };
  try {
    const c = await w("POST", "/wallet/v1/presentations", body);
    consent(c);
    loadHistory();
  } catch (e) {
    message($("status"), "error", explain(e));
  }
}

// consent shows the consent screen, or the refusal of a request beyond
// the verifier's registration.
function consent(c) {
  const box = $("consent");
  const who = c.verifier || {};
  const facts = el("dl", { class: "facts" },
    el("dt", {}, "Who asks"), el("dd", {}, (who.name || "an unnamed verifier") + " (" + (who.did || "") + ")"),
    who.purpose ? el("dt", {}, "Registered purpose") : null, who.purpose ? el("dd", {}, who.purpose) : null);
  if (c.status === "refused") {
    const over = (c.over_asking || []).join(", ");
    box.replaceChildren(el("h3", {}, "Request refused"), facts,
      el("div", { class: "msg error", role: "alert", "data-reason": c.reason },
        el("span", { class: "icon", "aria-hidden": "true" }, "✖"),
        el("span", {}, el("strong", {}, "Refused: "), c.reason === "over_asking"
          ? "it asks for more than its registration allows (" + over + "). Nothing was shared; the verifier was told no."
          : "this verifier is not registered for this. Nothing was shared.", " (" + c.reason + ")")));
    box.hidden = false;
    box.focus();
    return;
  }
  const choices = el("div", {});
  for (const q of c.queries || []) {
    const cands = q.candidates || [];
    const optional = q.optional || q.required === false;
    const sel = el("select", { id: "choice-" + q.id, "data-query": q.id, "aria-label": "Credential for " + q.id },
      optional ? el("option", { value: "" }, "Do not share (optional)") : null,
      cands.map((k) => el("option", { value: k.credential_id }, (credentials.find((x) => x.id === k.credential_id) ? displayName(credentials.find((x) => x.id === k.credential_id)) : k.vct) + ": " + (k.discloses || []).join(", "))));
    choices.append(el("div", { class: "card", "data-query": q.id },
      el("p", {}, el("strong", {}, optional ? "Optional: " : "Asked: "), (q.claims || []).join(", ")),
      cands.length ? sel : el("p", {}, tag("bad", "you have no credential for this"))));
  }
  const accept = el("button", { type: "button", class: "primary", id: "consent-accept", disabled: !c.satisfiable }, "Share");
  const decline = el("button", { type: "button", id: "consent-decline" }, "Decline");
  accept.addEventListener("click", async () => {
    const picked = {};
    for (const s of choices.querySelectorAll("select")) if (s.value) picked[s.dataset.query] = s.value;
    try {
      await w("POST", "/wallet/v1/presentations/" + encodeURIComponent(c.id) + "/accept", { choices: picked });
      done("ok", "Shared with " + (who.name || who.did) + ".");
    } catch (e) {
      message($("status"), "error", explain(e));
    }
  });
  decline.addEventListener("click", async () => {
    try {
      await w("POST", "/wallet/v1/presentations/" + encodeURIComponent(c.id) + "/decline");
      done("ok", "Declined: nothing was shared.");
    } catch (e) {
      message($("status"), "error", explain(e));
    }
  });
  box.replaceChildren(el("h3", {}, "Do you want to share this?"), facts, choices,
    el("p", { class: "hint" }, "Only what is listed is shared, and only after you choose Share."),
    el("div", { class: "row" }, accept, decline));
  box.hidden = false;
  box.focus();
}

function done(kind, text) {
  $("consent").hidden = true;
  $("consent").replaceChildren();
  $("request").value = "";
  message($("status"), kind, text);
  loadCards();
  loadHistory();
}

// ---- history ----

async function loadHistory() {
  const r = await w("GET", "/wallet/v1/history");
  const labels = ["When", "With", "What", "Outcome"];
  $("history").replaceChildren(...(r.history || []).map((h) => row(labels,
    [new Date(h.at).toLocaleString(), h.verifier_name || h.verifier, (h.claims || []).join(", "), h.outcome], { "data-outcome": h.outcome })));
}

async function exportHistory(format) {
  try {
    const resp = await fetch("/wallet/v1/history/export?format=" + format, { headers: { Authorization: "Bearer " + token() }, credentials: "omit", cache: "no-store" });
    if (!resp.ok) throw new ApiError(resp.status, "", "the export failed");
    const url = URL.createObjectURL(await resp.blob());
    const a = el("a", { href: url, download: "wallet-history." + format });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    message($("status"), "error", explain(e));
  }
}

// ---- scanning an offer or a request ----

let camera = null;

async function openScanner(target) {
  $("scanner").hidden = false;
  $("scanner").dataset.target = target;
  try {
    camera = await startCamera($("camera"), (text) => scanned(text));
    $("scanner-state").textContent = "Hold the QR code in front of the camera.";
  } catch {
    $("scanner-state").textContent = "No camera could be opened: choose a photo of the code instead.";
  }
}

function scanned(text) {
  $($("scanner").dataset.target).value = text;
  closeScanner();
}

function closeScanner() {
  if (camera) camera.stop();
  camera = null;
  $("scanner").hidden = true;
}

function init() {
  $("signin-form").addEventListener("submit", (ev) => { ev.preventDefault(); login(false); });
  $("signup").addEventListener("click", () => { if ($("signin-form").reportValidity()) login(true); });
  $("signout").addEventListener("click", signout);
  $("add-form").addEventListener("submit", add);
  $("door-form").addEventListener("submit", showDoor);
  $("door-credential").addEventListener("change", doorClaims);
  $("door-stop").addEventListener("click", stopDoor);
  $("present-form").addEventListener("submit", present);
  $("history-refresh").addEventListener("click", loadHistory);
  $("export-json").addEventListener("click", () => exportHistory("json"));
  $("export-csv").addEventListener("click", () => exportHistory("csv"));
  for (const b of document.querySelectorAll("button.scan")) b.addEventListener("click", () => openScanner(b.dataset.target));
  $("scanner-close").addEventListener("click", closeScanner);
  $("scan-file").addEventListener("change", async () => {
    const f = $("scan-file").files[0];
    const t = f ? await decodeImage(f).catch(() => null) : null;
    $("scan-file").value = "";
    if (t) scanned(t);
    else $("scanner-state").textContent = "No QR code was found in that image.";
  });
  if (token()) enter();
  else {
    $("signin").hidden = false;
    $("username").focus();
  }
}

init();
