// The verdict of a check, for the scanner and the wallet: a full-screen
// block whose word and icon say it ("Valid" ✔ / "Not valid" ✖), colour
// only repeating them, announced to screen readers, with the few facts a
// door check needs (name and birth date) or the reason in plain language.

import { el } from "/assets/api.js";

// showVerdict replaces box's content with the verdict and returns the
// element. ok: the check passed. facts: [[label, value], …] shown on a
// pass. reason: the plain-language sentence of a failure; code: its
// stable code (shown small, for support).
export function showVerdict(box, { ok, facts = [], reason = "", code = "" }) {
  const v = el("section", { class: "verdict " + (ok ? "ok" : "bad"), role: "alert", "aria-live": "assertive", "data-verdict": ok ? "valid" : "invalid", "data-code": code || null },
    el("span", { class: "icon", "aria-hidden": "true" }, ok ? "✔" : "✖"),
    el("span", { class: "word" }, ok ? "Valid" : "Not valid"),
    ok
      ? el("dl", { class: "facts" }, facts.flatMap(([k, val]) => [el("dt", {}, k), el("dd", {}, val)]))
      : el("p", { class: "reason" }, reason),
    !ok && code ? el("p", { class: "hint" }, "code: " + code) : null);
  box.replaceChildren(v);
  return v;
}
