// The venue scanner: the staff member signs in once with the venue's API
// key; the camera (rear by default) reads holder-shown QR codes, each
// checked by POST /verifier/v1/offline, or, with no network, in this page
// by the offline verifier (venue.wasm, cmd/venue-wasm) against the trust
// bundle kept in IndexedDB; a full-screen verdict (name and birth date
// only, or the reason in plain language and its code), then back to
// scanning. A button shows the venue's OpenID4VP request QR for a phone's
// wallet and waits for its result. Without a camera: manual entry or an
// image upload.

import { ApiError, apiKey, call, el, explain, message, setApiKey } from "/assets/api.js";
import { decodeImage, startCamera } from "/assets/qrscan.js";
import { showVerdict } from "/assets/verdict.js";

const $ = (id) => document.getElementById(id);
const KEY = "ssi.venueKey"; // localStorage: "sign in once"
const POLICY = "ssi.venuePolicy"; // localStorage: the policy of the OpenID4VP button

// reasons are the plain-language sentences of the red verdicts' codes;
// the code itself is shown beside, for support.
const reasons = {
  revoked: "This pass was revoked by its issuer.",
  suspended: "This pass is suspended by its issuer.",
  expired: "This pass has expired.",
  bundle_too_old: "The offline trust data is too old. Connect to the network so that the scanner can refresh it.",
  bundle_missing: "There is no trust data on this device for checking without a network. Connect once to download it.",
  offline_unavailable: "This scanner cannot check passes without a network (its offline verifier is not installed).",
  nonce_replayed: "This code was already shown here. Ask the person to show a fresh code.",
  replay_memory_unavailable: "This device could not note the code as used, so it cannot let it in. Try again, or check online.",
  stale_key_binding: "This code is too old. Ask the person to show a fresh code.",
  policy_not_met: "This pass does not meet the entry rules.",
  untrusted_issuer: "The issuer of this pass is not accredited for it.",
  issuer_unknown: "The issuer of this pass is not known here.",
  invalid_audience: "This code was made for another venue.",
  invalid_signature: "The pass's signature is not valid: it may be forged.",
  not_a_venue: "This key does not belong to a venue.",
  unsupported_pass_format: "This venue does not accept this kind of pass.",
  pass_trust_not_in_bundle: "This kind of pass cannot be checked without a network here (the trust data on this device does not cover it).",
  bundle_format_unsupported: "The trust data is newer than this scanner: reload the page while online.",
  status_unavailable: "This pass's revocation status could not be checked (offline: the trust data on this device lacks its issuer's list). Check it online, or try again later.",
  registry_unavailable: "The issuer of this pass could not be checked (offline: the trust data on this device lacks it). Check it online, or try again later.",
  shc_revoked: "This pass was revoked by its issuer.",
  presentation_expired: "The wallet did not answer in time.",
};

function reasonText(code) {
  if (reasons[code]) return reasons[code];
  if (code.startsWith("qr_") || code.startsWith("dcc_bad") || code.startsWith("shc_bad")) return "This is not a readable pass code.";
  return "This pass did not pass the check.";
}

let camera = null;
let busy = false; // a verdict is on screen or a check is running
let lastText = ""; // the last code checked, ignored for a while after
let lastAt = 0;
let request = null; // the OpenID4VP request being waited for

// ---- the trust bundle, kept in IndexedDB ----

function db() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open("ssi-venue", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("kv");
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function kv(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = d.transaction("kv", mode);
    const req = fn(tx.objectStore("kv"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(tx.error);
  });
}

const getKV = (k) => kv("readonly", (s) => s.get(k));
const putKV = (k, v) => kv("readwrite", (s) => s.put(v, k));
const delKV = (k) => kv("readwrite", (s) => s.delete(k));

// ---- the offline replay memory, kept in IndexedDB ----
// The offline verifier remembers the nonces it accepted (by hash) in its
// memory; each one is kept here too ("nonces": [{nonce, until}], pruned
// of those past their until), so that a reload of the page puts them
// back and a code already let in is still nonce_replayed.

async function keptNonces() {
  const now = Date.now();
  return ((await getKV("nonces").catch(() => null)) || []).filter((n) => n && n.until > now);
}

async function keepNonce(used) {
  const live = await keptNonces();
  live.push(used);
  await putKV("nonces", live);
}

// rememberNonces puts the kept nonces back into the verifier, and drops
// the expired ones from the store.
async function rememberNonces() {
  const all = (await getKV("nonces").catch(() => null)) || [];
  const live = await keptNonces();
  if (live.length !== all.length) await putKV("nonces", live).catch(() => {});
  globalThis.ssiVenue.remember(JSON.stringify(live), Date.now());
}

// payload decodes a compact JWS's payload (the bundle's content, read
// only for its venue, time and age: the wasm verifier checks it).
function payload(jws) {
  const p = jws.split(".")[1] || "";
  const b64 = p.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((p.length + 3) % 4);
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
}

// ---- the offline verifier (Go, GOOS=js GOARCH=wasm) ----

let wasm = null; // a promise of "ready" or "missing"

function loadWasm() {
  if (!wasm) {
    wasm = (async () => {
      try {
        await import("/vendor/go-wasm/wasm_exec.js");
        const resp = await fetch("/venue/venue.wasm");
        if (!resp.ok) return "missing";
        const go = new globalThis.Go();
        const ready = new Promise((r) => globalThis.addEventListener("ssivenueready", r, { once: true }));
        const { instance } = await WebAssembly.instantiateStreaming(resp, go.importObject);
        go.run(instance);
        await ready;
        return "ready";
      } catch {
        wasm = null;
        return "missing";
      }
    })();
  }
  return wasm;
}

// openBundle gives the kept bundle to the verifier; the venue's DID is
// the one pinned when this device first downloaded a bundle.
async function openBundle() {
  const kept = await getKV("bundle");
  if (!kept) return { ok: false, code: "bundle_missing" };
  if ((await loadWasm()) !== "ready") return { ok: false, code: "offline_unavailable" };
  await rememberNonces();
  return JSON.parse(globalThis.ssiVenue.open(kept.jws, kept.verifier));
}

let opened = null; // the verifier's answer for the kept bundle

async function refreshBundle() {
  try {
    const r = await call("GET", "/verifier/v1/trust-bundle");
    const p = payload(r.bundle);
    const pinned = await getKV("venue");
    if (pinned && pinned !== p.verifier) throw new ApiError(0, "bundle_invalid", "the bundle is of another venue than this device's");
    if (!pinned) await putKV("venue", p.verifier);
    await putKV("bundle", { jws: r.bundle, verifier: p.verifier, issued_at: p.issued_at, max_age: p.max_age });
    opened = await openBundle();
  } catch (e) {
    if (!(e instanceof TypeError)) message($("status"), "warn", "The trust bundle was not refreshed: " + explain(e));
  }
  await showBundleAge();
}

async function showBundleAge() {
  const kept = await getKV("bundle").catch(() => null);
  $("door-id").textContent = (await getKV("venue").catch(() => "")) || "(known after the first trust bundle)";
  const box = $("bundle-age");
  if (!kept) {
    box.textContent = "No trust bundle on this device yet: passes are checked online only.";
    return;
  }
  const issued = new Date(kept.issued_at);
  const ageMin = Math.max(0, Math.floor((Date.now() - issued.getTime()) / 60000));
  const maxH = Math.round(kept.max_age / 360) / 10;
  const tooOld = ageMin * 60 > kept.max_age;
  box.dataset.age = String(ageMin);
  box.dataset.issued = kept.issued_at;
  box.dataset.tooOld = tooOld ? "true" : "false";
  box.textContent = (tooOld ? "✖ Too old: " : "✔ ") + "trust bundle of " + issued.toLocaleString() + ", " + ageMin + " min old (at most " + maxH + " h)" +
    (opened && !opened.ok ? " · offline check unavailable (" + opened.code + ")" : "");
}

// ---- checking a code ----

function online() {
  return navigator.onLine;
}

function showMode() {
  $("mode").textContent = online() ? "● Online: codes are checked by the venue's verifier." : "○ Offline: codes are checked on this device with the trust bundle.";
  $("mode").dataset.mode = online() ? "online" : "offline";
}

async function checkOffline(text) {
  if (!opened || !opened.ok) opened = await openBundle();
  if (!opened.ok) return { verdict: "red", reasons: [opened.code] };
  const v = JSON.parse(globalThis.ssiVenue.check(text, Date.now()));
  if (v.used_nonce) {
    try {
      await keepNonce(v.used_nonce);
    } catch {
      // Not kept: a reload would forget this code, so it is not let in.
      return { verdict: "red", reasons: ["replay_memory_unavailable"] };
    }
  }
  return v;
}

async function check(text, source) {
  if (busy) return;
  const now = Date.now();
  if (text === lastText && now - lastAt < 10000) return;
  busy = true;
  lastText = text;
  lastAt = now;
  const started = performance.now();
  let v;
  let where = "online";
  try {
    if (!online()) throw new TypeError("offline");
    v = await call("POST", "/verifier/v1/offline", { qr: text }, { idempotent: true });
  } catch (e) {
    if (e instanceof ApiError) {
      v = { verdict: "red", reasons: [e.code || "http_" + e.status] };
    } else {
      where = "offline";
      v = await checkOffline(text);
    }
  }
  show(v, where, source, started);
  if (where === "online" && v.verdict) refreshSoon();
}

let refreshTimer = 0;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshBundle, 1500);
}

// show puts the verdict on the whole screen: name and birth date only on
// green, the reason and its code on red.
function show(v, where, source, started) {
  const ok = v.verdict === "green";
  const box = $("verdict-box");
  if (ok) {
    const c = v.claims || {};
    const name = (v.holder && v.holder.name) || [c.given_name, c.family_name].filter(Boolean).join(" ");
    const born = (v.holder && v.holder.birth_date) || c.birth_date || "";
    showVerdict(box, { ok: true, facts: [["Name", name], ["Born", born]] });
  } else {
    const code = (v.reasons && v.reasons[0]) || "unknown";
    showVerdict(box, { ok: false, reason: reasonText(code), code });
  }
  box.dataset.where = where;
  box.dataset.source = source;
  box.append(el("p", { class: "hint" }, where === "online" ? "Checked by the venue's verifier." : "Checked on this device, without a network."));
  $("verdict").hidden = false;
  $("verdict-next").focus();
  // For the page's own timing (the Chromium benchmark reads it).
  globalThis.__ssiVerdictAt = { at: performance.now(), took: performance.now() - started, where };
  clearTimeout(show.timer);
  show.timer = setTimeout(next, 6000);
  showBundleAge();
}

function next() {
  clearTimeout(show.timer);
  if ($("verdict").hidden) return;
  $("verdict").hidden = true;
  $("verdict-box").replaceChildren();
  busy = false;
  lastAt = Date.now();
  $("camera").focus();
}

// ---- the camera ----

async function openCamera() {
  if (camera) camera.stop();
  camera = null;
  try {
    // A camera just released may refuse for a moment: a few tries.
    for (let i = 0; ; i++) {
      try {
        camera = await startCamera($("camera"), (text) => check(text, "camera"));
        globalThis.__ssiCameraAt = performance.now(); // playing: the code is in its frames
        break;
      } catch (e) {
        if (i >= 3 || (e && e.name === "NotAllowedError")) throw e;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    $("camera-state").textContent = "Camera on (" + camera.decoder + "). Hold the code in front of it.";
    $("camera-state").dataset.on = "true";
  } catch {
    $("camera-state").textContent = "No camera could be opened: enter or upload the code below.";
    $("camera-state").dataset.on = "false";
    $("fallback").open = true;
  }
}

// ---- OpenID4VP, cross-device ----

async function startRequest() {
  stopRequest();
  const mine = { stopped: false };
  request = mine;
  try {
    const policy = $("request-policy").value;
    if (policy) localStorage.setItem(POLICY, policy);
    const tx = await call("POST", "/verifier/v1/presentations", policy ? { policy } : {}, { idempotent: true });
    $("request-qr").src = "data:image/png;base64," + tx.qr_png;
    $("request").hidden = false;
    busy = true; // the camera waits while a phone answers the request
    $("request-state").textContent = "Waiting for the wallet…";
    $("request-h").focus();
    while (!mine.stopped) {
      const r = await call("GET", "/verifier/v1/presentations/" + encodeURIComponent(tx.transaction_id) + "?wait=25");
      if (mine.stopped) return;
      if (r.status === "pending") continue;
      stopRequest();
      const v = r.status === "expired" ? { verdict: "red", reasons: ["presentation_expired"] } : r;
      busy = true;
      show(v, "online", "openid4vp", performance.now());
      return;
    }
  } catch (e) {
    if (!mine.stopped) {
      stopRequest();
      message($("status"), "error", explain(e));
    }
  }
}

// ---- the venue's policies, for the OpenID4VP button ----

let policies = [];

// loadPolicies fills the policy select from GET /verifier/v1/policies,
// keeping the choice this device made last (else the first policy).
async function loadPolicies() {
  const sel = $("request-policy");
  try {
    policies = (await call("GET", "/verifier/v1/policies")).policies || [];
  } catch (e) {
    policies = [];
    if (!(e instanceof TypeError)) message($("status"), "warn", "The venue's policies could not be read: " + explain(e));
  }
  const kept = localStorage.getItem(POLICY) || "";
  sel.replaceChildren(...policies.map((p) => el("option", { value: p.name }, p.name)));
  if (!policies.length) sel.append(el("option", { value: kept }, kept || "(the venue's default policy)"));
  if (kept && policies.some((p) => p.name === kept)) sel.value = kept;
  aboutPolicy();
}

// aboutPolicy says what the chosen policy admits and what the door sees.
function aboutPolicy() {
  const p = policies.find((x) => x.name === $("request-policy").value);
  $("request-policy-about").textContent = !p ? "" :
    (p.description ? p.description + " " : "") + "The wallet is asked for " + (p.asks || []).join(", ") +
    "; the door is shown " + ((p.shows || []).length ? p.shows.join(", ") : "the verdict only") + ".";
  $("request-start").disabled = !$("request-policy").value && policies.length > 0;
}

function stopRequest() {
  if (request) {
    request.stopped = true;
    if ($("verdict").hidden) busy = false;
  }
  request = null;
  $("request").hidden = true;
  $("request-qr").removeAttribute("src");
}

// ---- sign-in ----

async function signedIn() {
  const who = await call("GET", "/admin/v1/whoami");
  if (!who.scopes.includes("presentations:create")) {
    throw new ApiError(403, "insufficient_scope", "checking passes needs presentations:create");
  }
  return who;
}

async function enter(key) {
  setApiKey(key);
  let who = null;
  try {
    who = await signedIn();
  } catch (e) {
    if (e instanceof ApiError) {
      setApiKey("");
      localStorage.removeItem(KEY);
      message($("status"), "error", explain(e));
      $("signin").hidden = false;
      $("apikey").focus();
      return;
    }
    // No network: the kept key and bundle still let the scanner work.
  }
  localStorage.setItem(KEY, key);
  $("status").replaceChildren();
  $("who").textContent = who ? "Venue " + who.tenant : "Venue (offline)";
  $("signin").hidden = true;
  $("scanner").hidden = false;
  $("signout").hidden = false;
  showMode();
  await showBundleAge();
  if (online()) loadPolicies();
  await openCamera();
  if (online()) await refreshBundle();
  else opened = await openBundle().catch(() => null);
  await showBundleAge();
}

async function signout() {
  if (camera) camera.stop();
  camera = null;
  stopRequest();
  setApiKey("");
  localStorage.removeItem(KEY);
  // The bundle and the pinned venue go; the replay memory stays (its
  // entries expire on their own), so that signing in again does not
  // reopen a replay.
  await delKV("bundle").catch(() => {});
  await delKV("venue").catch(() => {});
  $("scanner").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  $("signin").hidden = false;
  $("apikey").value = "";
  $("apikey").focus();
}

function init() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/venue/sw.js", { scope: "/venue/" }).catch(() => {});
  }
  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const k = $("apikey").value.trim();
    if (k) enter(k);
  });
  $("signout").addEventListener("click", signout);
  $("verdict-next").addEventListener("click", next);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && !$("verdict").hidden) next();
  });
  $("request-start").addEventListener("click", startRequest);
  $("request-cancel").addEventListener("click", stopRequest);
  $("request-policy").addEventListener("change", () => {
    localStorage.setItem(POLICY, $("request-policy").value);
    aboutPolicy();
  });
  $("bundle-refresh").addEventListener("click", refreshBundle);
  $("camera-restart").addEventListener("click", openCamera);
  $("manual-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("manual-text").value.trim();
    lastText = "";
    if (t) check(t, "manual");
  });
  $("upload").addEventListener("change", async () => {
    const f = $("upload").files[0];
    if (!f) return;
    const t = await decodeImage(f).catch(() => null);
    $("upload").value = "";
    if (!t) {
      message($("status"), "error", "No QR code was found in that image.");
      return;
    }
    lastText = "";
    check(t, "upload");
  });
  globalThis.addEventListener("online", () => {
    showMode();
    refreshBundle();
    if (!policies.length && !$("scanner").hidden) loadPolicies();
  });
  globalThis.addEventListener("offline", showMode);
  setInterval(showBundleAge, 30000);
  setInterval(() => { if (online() && !$("scanner").hidden) refreshBundle(); }, 10 * 60000);
  const kept = localStorage.getItem(KEY) || apiKey();
  if (kept) enter(kept);
  else {
    $("signin").hidden = false;
    $("apikey").focus();
  }
}

init();
