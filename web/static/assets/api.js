// The API client of the ssi pages: same-origin fetch only, the admin API
// key in sessionStorage (gone when the tab closes), problem+json answers
// turned into an ApiError that says what was refused and why.

const KEY = "ssi.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(k) {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

// ApiError is a refused request: status, the problem's code, and a
// user-facing sentence (the server's detail, which never holds a secret).
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || "HTTP " + status);
    this.status = status;
    this.code = code || "";
    this.detail = detail || "";
  }
}

// explain returns the sentence a page shows for a refused request.
export function explain(err) {
  if (!(err instanceof ApiError)) return "The request failed: " + (err && err.message ? err.message : String(err));
  switch (err.code) {
    case "insufficient_scope":
      return "Refused: " + (err.detail || "this action needs a scope") + ", which your API key does not have (insufficient_scope).";
    case "route_not_found":
      return "This server does not offer that (route_not_found): it may run without the service this page needs.";
    case "unauthenticated":
      return "Refused: the API key was not accepted (unauthenticated). Sign in again with a valid key.";
  }
  return "Refused (" + (err.code || "HTTP " + err.status) + "): " + err.detail;
}

// call sends a request to our own origin with the API key (or, with
// opts.bearer, that token: the wallet's session) and returns the decoded
// JSON body, or throws an ApiError.
export async function call(method, path, body, opts = {}) {
  const headers = { Accept: "application/json, application/problem+json" };
  if (opts.bearer) headers.Authorization = "Bearer " + opts.bearer;
  else if (apiKey()) headers["X-API-Key"] = apiKey();
  const init = { method, headers, credentials: "omit", cache: "no-store", redirect: "error" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (opts.idempotent && method === "POST") headers["Idempotency-Key"] = crypto.randomUUID();
  const resp = await fetch(path, init);
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const code = data && typeof data.code === "string" ? data.code : "";
    const detail = data && typeof data.detail === "string" ? data.detail : (data && data.title) || "";
    throw new ApiError(resp.status, code, detail);
  }
  return data;
}

// el builds an element: el("td", {class: "mono"}, "text", child, …). Text
// is always set as text, never parsed as markup.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// message replaces box's content with a message: kind is "error", "ok" or
// "warn"; the icon and the word repeat what the colour says.
export function message(box, kind, text) {
  const icon = { error: "✖", ok: "✔", warn: "!" }[kind] || "";
  const word = { error: "Error:", ok: "Done:", warn: "Note:" }[kind] || "";
  box.replaceChildren(el("div", { class: "msg " + kind, role: kind === "error" ? "alert" : "status" },
    el("span", { class: "icon", "aria-hidden": "true" }, icon),
    el("span", {}, el("strong", {}, word), " ", text)));
}

// tag is a state word with its icon: ok, bad or warn.
export function tag(kind, word) {
  const icon = { ok: "✔", bad: "✖", warn: "⏸" }[kind] || "";
  return el("span", { class: "tag " + kind }, el("span", { "aria-hidden": "true" }, icon), word);
}

// row builds a table row whose cells carry their column's name
// (data-label), which table.stack shows on a narrow screen.
export function row(labels, cells, attrs) {
  return el("tr", attrs || {}, cells.map((c, i) => {
    const td = c instanceof HTMLTableCellElement ? c : el("td", {}, c);
    td.dataset.label = labels[i];
    return td;
  }));
}
