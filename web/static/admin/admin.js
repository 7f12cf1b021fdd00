// The agency admin console: sign in with an API key, create offers from a
// form generated from the credential configuration's JSON Schema, find
// credentials, revoke/suspend/unsuspend with a confirmation, the audit log
// and the anchoring state. Every call goes to this server's admin APIs;
// a refusal is shown with the server's reason.

import { apiKey, setApiKey, call, explain, el, message, tag, row } from "/assets/api.js";

const $ = (id) => document.getElementById(id);
const status = $("status");

function fail(err) {
  message(status, "error", explain(err));
}

function done(text) {
  message(status, "ok", text);
}

// ---- sign in ----

async function signIn(key) {
  setApiKey(key);
  let me;
  try {
    me = await call("GET", "/admin/v1/whoami");
  } catch (err) {
    setApiKey("");
    fail(err);
    return;
  }
  $("who").textContent = "Tenant " + me.tenant + " · key " + me.key_id + " · scopes: " + (me.scopes.join(", ") || "none");
  $("signin").hidden = true;
  $("console").hidden = false;
  $("signout").hidden = false;
  status.replaceChildren();
  select("issue");
  $("tab-issue").focus(); // the sign-in form is gone: keyboard users go on from the tabs
  loadConfigs();
}

function signOut() {
  setApiKey("");
  $("who").textContent = "";
  $("console").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("apikey").value = "";
  $("offer-result").hidden = true;
  $("find-result").replaceChildren();
  message(status, "ok", "Signed out; the key was removed from this tab.");
  $("apikey").focus();
}

$("signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const k = $("apikey").value.trim();
  if (k) signIn(k);
});
$("signout").addEventListener("click", signOut);

// ---- tabs ----

const panels = ["issue", "find", "audit", "anchoring"];

function select(name) {
  for (const p of panels) {
    const on = p === name;
    $(p).hidden = !on;
    $("tab-" + p).setAttribute("aria-selected", String(on));
    $("tab-" + p).tabIndex = on ? 0 : -1;
  }
  if (name === "audit") loadAudit(0);
  if (name === "anchoring") loadAnchoring();
}

for (const p of panels) {
  $("tab-" + p).addEventListener("click", () => select(p));
  $("tab-" + p).addEventListener("keydown", (ev) => {
    const i = panels.indexOf(p);
    let j = -1;
    if (ev.key === "ArrowRight") j = (i + 1) % panels.length;
    if (ev.key === "ArrowLeft") j = (i + panels.length - 1) % panels.length;
    if (j >= 0) {
      ev.preventDefault();
      select(panels[j]);
      $("tab-" + panels[j]).focus();
    }
  });
}

// ---- the offer form, generated from the JSON Schema ----

let configs = [];
let subjectValue = null; // () => the subject data object, from the generated form

async function loadConfigs() {
  const sel = $("config");
  sel.replaceChildren();
  $("subject-fields").replaceChildren();
  try {
    const out = await call("GET", "/issuer/v1/configurations");
    configs = out.configurations;
  } catch (err) {
    configs = [];
    fail(err);
    $("offer-submit").disabled = true;
    return;
  }
  $("offer-submit").disabled = configs.length === 0;
  if (configs.length === 0) {
    $("config-desc").textContent = "Your tenant issues no credentials on this server.";
    return;
  }
  for (const c of configs) sel.append(el("option", { value: c.id }, displayName(c)));
  showConfig();
}

function displayName(c) {
  const d = (c.display || []).find((d) => d.locale === "en") || (c.display || [])[0];
  return d ? d.name : c.id;
}

function showConfig() {
  const c = configs.find((c) => c.id === $("config").value);
  if (!c) return;
  const d = (c.display || [])[0];
  $("config-desc").textContent = d && d.description ? d.description : "";
  const f = field("subject", c.schema, true, "Subject data");
  $("subject-fields").replaceChildren(f.node);
  subjectValue = f.value;
}

$("config").addEventListener("change", showConfig);

function humanize(name) {
  const s = String(name).replace(/[_-]+/g, " ").trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

let uid = 0;

// field returns {node, value}: the inputs of one schema node and a
// function reading them (undefined for an empty optional value).
function field(name, schema, required, label) {
  schema = schema || {};
  const title = schema.title || label || humanize(name);
  const id = "f-" + ++uid;
  const hint = schema.description ? el("p", { class: "hint" }, schema.description) : null;
  switch (schema.type) {
    case "object": {
      const props = schema.properties || {};
      const req = new Set(schema.required || []);
      const parts = Object.keys(props).map((k) => [k, field(k, props[k], req.has(k))]);
      const node = el("fieldset", {}, el("legend", {}, title), hint, parts.map(([, f]) => f.node));
      return {
        node,
        value: () => {
          const o = {};
          for (const [k, f] of parts) {
            const v = f.value();
            if (v !== undefined) o[k] = v;
          }
          return o;
        },
      };
    }
    case "array": {
      const items = [];
      const list = el("div", {});
      const add = () => {
        const f = field(name, schema.items, true, (schema.items && schema.items.title) || humanize(name) + " " + (items.length + 1));
        const remove = el("button", { type: "button", "aria-label": "Remove " + f.node.querySelector("legend, label").textContent, onclick: () => {
          const i = items.indexOf(f);
          if (i >= 0) items.splice(i, 1);
          box.remove();
        } }, "Remove");
        const box = el("div", {}, f.node, el("div", { class: "row" }, remove));
        items.push(f);
        list.append(box);
      };
      const n = Math.max(schema.minItems || 0, required ? 1 : 0);
      for (let i = 0; i < n; i++) add();
      const node = el("fieldset", {}, el("legend", {}, title), hint, list,
        el("div", { class: "row" }, el("button", { type: "button", onclick: add }, "Add " + humanize(name).toLowerCase())));
      return { node, value: () => (items.length || required ? items.map((f) => f.value()) : undefined) };
    }
    case "boolean": {
      const input = el("input", { type: "checkbox", id, name });
      return { node: el("div", {}, el("label", { class: "inline", for: id }, input, title), hint), value: () => input.checked };
    }
    case "integer":
    case "number": {
      const input = el("input", { type: "number", id, name, required, step: schema.type === "integer" ? "1" : "any" });
      return {
        node: el("div", {}, el("label", { for: id }, title), input, hint),
        value: () => (input.value === "" ? undefined : Number(input.value)),
      };
    }
    default: {
      let input;
      if (Array.isArray(schema.enum)) {
        input = el("select", { id, name, required },
          required ? null : el("option", { value: "" }, "—"),
          schema.enum.map((v) => el("option", { value: String(v) }, humanize(v))));
      } else {
        input = el("input", {
          type: schema.format === "date" ? "date" : "text", id, name, required,
          minlength: schema.minLength, maxlength: schema.maxLength, spellcheck: "false",
        });
      }
      return {
        node: el("div", {}, el("label", { for: id }, title), input, hint),
        value: () => (input.value === "" && !required ? undefined : input.value),
      };
    }
  }
}

$("offer-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  if (!form.checkValidity()) {
    form.reportValidity();
    return;
  }
  const btn = $("offer-submit");
  btn.disabled = true;
  try {
    const o = await call("POST", "/issuer/v1/offers", {
      credential_configuration_id: $("config").value,
      subject_ref: $("subject-ref").value.trim(),
      subject_data: subjectValue ? subjectValue() : {},
    }, { idempotent: true });
    $("offer-qr").src = "data:image/png;base64," + o.qr_png;
    $("offer-txcode").textContent = o.tx_code;
    $("offer-expires").textContent = new Date(o.expires_at).toLocaleString();
    $("offer-id").textContent = o.id;
    $("offer-uri").value = o.offer_uri;
    $("offer-result").hidden = false;
    $("offer-result-h").focus();
    done("Offer created for subject reference " + $("subject-ref").value.trim() + ".");
  } catch (err) {
    fail(err);
  } finally {
    btn.disabled = false;
  }
});

// ---- credentials: find, revoke, suspend, unsuspend ----

const actionWords = { revoke: "Revoke", suspend: "Suspend", unsuspend: "Unsuspend" };
const doneWords = { revoke: "Revoked", suspend: "Suspended", unsuspend: "Unsuspended" };

$("find-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  find($("find-ref").value.trim());
});

async function find(ref) {
  const box = $("find-result");
  if (!ref) return;
  let out;
  try {
    out = await call("GET", "/issuer/v1/credentials?subject_ref=" + encodeURIComponent(ref));
  } catch (err) {
    box.replaceChildren();
    fail(err);
    return;
  }
  status.replaceChildren();
  if (out.credentials.length === 0) {
    message(box, "warn", "No credential has the subject reference " + ref + ".");
    return;
  }
  const labels = ["ID", "Credential", "Status", "State", "Created", "Expires", "Actions"];
  const rows = out.credentials.map((c) => {
    const actions = [];
    if (c.status === "valid") actions.push("suspend", "revoke");
    if (c.status === "suspended") actions.push("unsuspend", "revoke");
    return row(labels, [
      el("td", { class: "mono" }, c.id),
      c.credential_configuration_id,
      statusTag(c.status),
      c.state,
      new Date(c.created_at).toLocaleString(),
      new Date(c.expires_at).toLocaleDateString(),
      el("td", {}, el("div", { class: "row" }, actions.map((a) => el("button", { type: "button", class: a === "revoke" ? "danger" : "", "data-action": a,
        onclick: () => confirmAction(c, a, ref) }, actionWords[a])))),
    ], { "data-id": c.id });
  });
  box.replaceChildren(el("div", { class: "table" }, el("table", { class: "stack" },
    el("thead", {}, el("tr", {}, labels.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows))));
}

function statusTag(s) {
  if (s === "valid") return tag("ok", "valid");
  if (s === "suspended") return tag("warn", "suspended");
  return tag("bad", s);
}

let pending = null; // the action waiting for confirmation

function confirmAction(c, action, ref) {
  pending = { c, action, ref };
  $("confirm-h").textContent = actionWords[action] + " this credential?";
  $("confirm-text").textContent = actionWords[action] + " credential " + c.id + " (" + c.credential_configuration_id +
    ", subject reference " + c.subject_ref + ")." + (action === "revoke" ? " A revocation cannot be undone." : "");
  $("confirm-ok").textContent = "Confirm: " + actionWords[action].toLowerCase();
  $("confirm-reason").value = "";
  $("confirm").showModal();
  $("confirm-reason").focus();
}

$("confirm-cancel").addEventListener("click", () => {
  pending = null;
  $("confirm").close("cancel");
});

$("confirm-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const reason = $("confirm-reason").value.trim();
  if (!reason) {
    $("confirm-reason").reportValidity();
    return;
  }
  const p = pending;
  pending = null;
  $("confirm").close("ok");
  if (!p) return;
  try {
    const out = await call("POST", "/issuer/v1/credentials/" + encodeURIComponent(p.c.id) + "/" + p.action, { reason }, { idempotent: true });
    await find(p.ref);
    done((out.changed ? doneWords[p.action] : actionWords[p.action] + ": nothing to change") + " — credential " + p.c.id + " is now " + out.credential.status + ".");
  } catch (err) {
    fail(err);
  }
});

// ---- audit log ----

let auditOldest = 0;

async function loadAudit(before) {
  let out;
  try {
    out = await call("GET", "/admin/v1/audit?limit=50" + (before ? "&before=" + before : ""));
  } catch (err) {
    $("audit-rows").replaceChildren();
    $("audit-older").hidden = true;
    fail(err);
    return;
  }
  status.replaceChildren();
  const labels = ["#", "Time", "Action", "Target", "Outcome", "Actor"];
  const rows = out.records.map((r) => row(labels, [
    String(r.id),
    new Date(r.time).toLocaleString(),
    el("td", { class: "mono" }, r.action),
    el("td", { class: "mono" }, r.target || ""),
    r.outcome === "ok" ? tag("ok", r.outcome) : tag(r.outcome === "denied" ? "bad" : "warn", r.outcome),
    el("td", { class: "mono" }, r.actor),
  ]));
  if (before) $("audit-rows").append(...rows);
  else $("audit-rows").replaceChildren(...rows);
  if (out.records.length) auditOldest = out.records[out.records.length - 1].id;
  $("audit-older").hidden = out.records.length < 50;
}

$("audit-refresh").addEventListener("click", () => loadAudit(0));
$("audit-older").addEventListener("click", () => loadAudit(auditOldest));

// ---- anchoring state ----

async function loadAnchoring() {
  let out;
  try {
    out = await call("GET", "/issuer/v1/anchoring");
  } catch (err) {
    $("ledger-facts").replaceChildren();
    $("lists-rows").replaceChildren();
    fail(err);
    return;
  }
  status.replaceChildren();
  const l = out.ledger;
  const facts = [
    ["Ledger", l.reachable ? (l.halted ? tag("bad", "halted") : tag("ok", "running")) : tag("bad", "unreachable")],
    ["Height", String(l.last_height)],
    ["Last block", l.last_block_time ? new Date(l.last_block_time).toLocaleString() : "—"],
    ["Outbox depth", String(l.outbox_depth) + (l.outbox_depth === 1 ? " entry waiting" : " entries waiting")],
  ];
  $("ledger-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-fact": k }, v)]));
  const labels = ["List", "Latest version", "Anchored", "Changes not yet published"];
  $("lists-rows").replaceChildren(...out.status_lists.map((s) => row(labels, [
    el("td", { class: "mono" }, s.uri),
    s.version ? String(s.version) : "none yet",
    s.version === 0 ? tag("warn", "nothing published") : s.anchored ? tag("ok", "anchored" + (s.anchored_height ? " at height " + s.anchored_height : "")) : tag("warn", "waiting"),
    s.pending_changes ? tag("warn", "yes") : "no",
  ])));
}

$("anchoring-refresh").addEventListener("click", loadAnchoring);

// ---- start ----

if (apiKey()) signIn(apiKey());
else $("apikey").focus();
