// The osmig fleet dashboard: a client of the fleet API like any other. Every
// request is signed here with ACS3-HMAC-SHA256 (docs/api.md "Authentication")
// by WebCrypto; the secret stays in this page (memory, or the tab's session
// storage when the user asks). Data from the server is put in the page as
// text only (never as HTML). Views: #/jobs, #/job/ID, #/findings,
// #/instance/URI; the current view is read again every few seconds. The
// panel above the view (a task's reschedule form, a report opened) is
// outside what the refresh rewrites.
"use strict";

const REFRESH_MS = 3000;
let key = null; // {id, secret}
let timer = null;

// ---- signing -------------------------------------------------------------

const enc = new TextEncoder();

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(data) {
  return hex(await crypto.subtle.digest("SHA-256", data));
}

async function hmac(secret, text) {
  const k = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return hex(await crypto.subtle.sign("HMAC", k, enc.encode(text)));
}

// RFC 3986: encodeURIComponent leaves !'()* alone, which ACS3 encodes.
function pct(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(params) {
  return Object.keys(params)
    .sort()
    .map((k) => pct(k) + "=" + pct(params[k]))
    .join("&");
}

// A signed request; the answer's JSON, or with asText its body as text.
async function api(method, path, params = {}, body = null, asText = false) {
  if (!key) throw new Error("not signed in");
  const query = canonicalQuery(params);
  const bytes = body === null ? new Uint8Array() : enc.encode(JSON.stringify(body));
  const headers = {
    host: location.host,
    "x-acs-content-sha256": await sha256(bytes),
    "x-acs-date": new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    "x-acs-signature-nonce": crypto.randomUUID(),
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    method,
    path,
    query,
    names.map((n) => n + ":" + headers[n].trim() + "\n").join(""),
    names.join(";"),
    headers["x-acs-content-sha256"],
  ].join("\n");
  const toSign = "ACS3-HMAC-SHA256\n" + (await sha256(enc.encode(canonical)));
  const sig = await hmac(key.secret, toSign);
  const send = {};
  for (const n of names) if (n !== "host") send[n] = headers[n];
  send.Authorization = `ACS3-HMAC-SHA256 Credential=${key.id},SignedHeaders=${names.join(";")},Signature=${sig}`;
  if (body !== null) send["Content-Type"] = "application/json";
  const r = await fetch(path + (query ? "?" + query : ""), {
    method,
    headers: send,
    body: body === null ? undefined : bytes,
    cache: "no-store",
  });
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!r.ok) {
    const m = (data && (data.Message || (data.error && data.error.message))) || r.status + " " + r.statusText;
    const err = new Error(m);
    err.status = r.status;
    throw err;
  }
  return asText ? text : data;
}

// ---- building the page (text only) -------------------------------------------

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") e.addEventListener("click", v);
    else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const k of kids.flat()) e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k)));
  return e;
}

function table(head, rows, attrs = {}) {
  return el("table", attrs, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), el("tbody", {}, rows));
}

function bar(pct) {
  const p = Math.max(0, Math.min(100, Number(pct) || 0));
  const fill = el("span");
  fill.style.width = p + "%"; // CSSOM, which the page's CSP allows (a style attribute it would not)
  return el("span", { class: "bar", title: p.toFixed(0) + "%" }, fill);
}

function status(msg, ok = false) {
  const s = document.getElementById("status");
  s.textContent = msg || "";
  s.className = ok ? "ok" : "";
}

function show(...nodes) {
  const v = document.getElementById("view");
  v.replaceChildren(...nodes);
}

function counts(c) {
  return Object.entries(c || {})
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(", ");
}

// An action button: runs fn, says what happened, reads the view again.
function action(label, fn) {
  return el("button", {
    type: "button",
    "data-action": label,
    onclick: async () => {
      try {
        await fn();
        status(label + ": done", true);
      } catch (e) {
        status(label + ": " + e.message);
      }
      route();
    },
  }, label);
}

// ---- views ---------------------------------------------------------------------

async function viewJobs() {
  const d = await api("GET", "/v1/jobs", { limit: "1000" });
  const rows = d.jobs.map((j) =>
    el("tr", { "data-job": j.job_id },
      el("td", {}, el("a", { href: "#/job/" + encodeURIComponent(j.job_id) }, j.name || j.job_id)),
      el("td", { class: "job-" + (j.state || "active") }, j.state || "active"), el("td", {}, j.created), el("td", {}, j.n_tasks), el("td", {}, counts(j.counts)),
      el("td", {}, bar(j.progress), " ", (j.progress || 0).toFixed(0) + "%"),
      el("td", {}, j.max_concurrency), el("td", {}, j.max_errors), el("td", {}, j.stop_reason || "")));
  show(el("h2", {}, "Jobs"),
    rows.length ? table(["Job", "State", "Created", "Tasks", "States", "Progress", "Concurrency", "Error limit", "Stopped"], rows, { id: "jobs" })
      : el("p", { class: "muted" }, "No jobs yet."));
}

function findingsTable(findings, id) {
  const rows = findings.map((f) =>
    el("tr", { "data-finding": f.id },
      el("td", { class: f.kind === "inhibitor" ? "inhibitor" : "" }, f.id),
      el("td", {}, f.kind), el("td", {}, f.instances_blocked),
      el("td", {}, f.instances.map((i) => el("div", {}, el("a", { href: "#/instance/" + encodeURIComponent(i) }, i)))),
      el("td", {}, f.summary)));
  return rows.length ? table(["Finding", "Kind", "Instances blocked", "Instances", "What the precheck said"], rows, { id })
    : el("p", { class: "muted", id }, "Nothing blocks these instances.");
}

// What each task action applies to (docs/api.md); the server decides anyway
// (the key's role and scope, the state at that moment).
const WAITING = ["submitted", "scheduled"];
const TASK_ACTIONS = [
  ["start", WAITING],
  ["cancel", WAITING.concat(["running"])],
  ["reschedule", WAITING],
  ["retry", ["failed", "rolled_back", "cancelled", "expired", "rollback_failed"]],
  ["rollback", ["succeeded", "rollback_failed"]],
];

function taskRow(t) {
  const nb = t.schedule && t.schedule.not_before;
  return el("tr", { "data-task": t.id },
    el("td", {}, el("a", { href: "#/instance/" + encodeURIComponent(t.instance) }, t.instance)),
    el("td", {}, t.target), el("td", { class: "state-" + t.state }, t.state), el("td", {}, t.phase),
    el("td", {}, bar(t.progress), " ", t.progress_message || ""),
    el("td", {}, nb || ""), el("td", {}, t.error ? t.error.cause || t.error.code : ""),
    el("td", {},
      TASK_ACTIONS.filter(([, states]) => states.includes(t.state)).map(([a]) =>
        a === "reschedule"
          ? el("button", { type: "button", "data-action": a, onclick: () => rescheduleForm(t) }, a)
          : action(a, () => api("POST", `/v1/tasks/${encodeURIComponent(t.id)}/${a}`, {}, {})))));
}

// ---- the panel: a reschedule form, a report ------------------------------------

function panel(...nodes) {
  const p = document.getElementById("panel");
  p.replaceChildren(...nodes);
  p.hidden = nodes.length === 0;
}

function closeButton() {
  return el("button", { type: "button", "data-action": "close", onclick: () => panel() }, "close");
}

// The task's zone: its event's window (a host-maintenance task), else its
// own window's, else UTC; as `osmig events reschedule` defaults it.
function taskZone(t) {
  const o = t.options || {};
  const ev = o.event && o.event.window && o.event.window.timezone;
  if (ev) return ev;
  try {
    const w = t.schedule && t.schedule.window && JSON.parse(t.schedule.window);
    if (w && w.timezone) return w.timezone;
  } catch (e) {
    /* not a window we can read: UTC */
  }
  return "UTC";
}

// Offset of `zone` from UTC at the instant `ms`, in milliseconds.
function zoneOffset(zone, ms) {
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000;
}

// "2026-11-02T01:30" in `zone` -> "2026-11-02T06:30:00Z" (two passes: the
// offset at the guess, then at the result, for a time near a DST change).
function zonedToUtc(local, zone) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(local);
  if (!m) throw new Error("give a date and a time");
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  let t = wall - zoneOffset(zone, wall);
  t = wall - zoneOffset(zone, t);
  return new Date(t).toISOString().replace(/\.\d+Z$/, "Z");
}

function utcToZoned(iso, zone) {
  const ms = Date.parse(iso);
  if (!iso || Number.isNaN(ms)) return "";
  return new Date(ms + zoneOffset(zone, ms)).toISOString().slice(0, 16);
}

function rescheduleForm(t) {
  status("");
  const zone = taskZone(t);
  const input = el("input", { type: "datetime-local", id: "reschedule-when", required: "" });
  input.value = utcToZoned(t.schedule && t.schedule.not_before, zone);
  const refusal = el("div", { class: "refusal", id: "reschedule-refusal", role: "alert" });
  const latest = t.schedule && t.schedule.latest_start;
  const form = el("form", { id: "reschedule-form", "data-task": t.id },
    el("label", {}, "New start ", input, ` (${zone})`),
    el("button", { type: "submit" }, "reschedule"), closeButton(), refusal);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    refusal.textContent = "";
    try {
      const when = zonedToUtc(input.value, zone);
      await api("POST", `/v1/tasks/${encodeURIComponent(t.id)}/reschedule`, {}, { not_before: when });
      panel();
      status("reschedule: done", true);
    } catch (e) {
      refusal.textContent = e.message; // the server's words, as it said them
    }
    route();
  });
  panel(el("h3", {}, `Reschedule task ${t.id} (${t.instance})`),
    el("p", { class: "muted" }, `Times are in the task's zone, ${zone}.` +
      (latest ? ` Latest start: ${utcToZoned(latest, zone).replace("T", " ")} (${latest}).` : "")), form);
  input.focus();
}

// A report of a task's run, read through the signed API: the text shown
// here; the HTML page and the JSON saved as files (opened from disk, the
// page keeps its own policy).
async function openReport(taskId, run) {
  const path = `/v1/tasks/${encodeURIComponent(taskId)}/report`;
  const text = await api("GET", path, { run, format: "txt" }, null, true);
  const save = (format, type) => el("button", {
    type: "button", "data-action": "save " + format,
    onclick: async () => {
      try {
        const body = await api("GET", path, { run, format }, null, true);
        const a = el("a", { href: URL.createObjectURL(new Blob([body], { type })), download: `${run}.osmig-report.${format}` });
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      } catch (e) {
        status("save " + format + ": " + e.message);
      }
    },
  }, "save " + format);
  panel(el("h3", {}, `Report of task ${taskId}, run ${run}`), save("html", "text/html"), save("json", "application/json"),
    closeButton(), el("pre", { id: "report-text" }, text));
}

async function viewJob(id) {
  const [j, t, f] = await Promise.all([
    api("GET", "/v1/jobs/" + encodeURIComponent(id)),
    api("GET", "/v1/tasks", { job: id, limit: "1000" }),
    api("GET", "/v1/findings", { job: id }),
  ]);
  const waiting = t.tasks.filter((x) => x.state === "scheduled" || x.state === "submitted")
    .map((x) => x.schedule && x.schedule.not_before).filter(Boolean).sort();
  show(el("h2", {}, "Job " + (j.name || j.job_id)),
    el("p", { id: "job-summary" }, `Job ${j.state || "active"}. ${j.n_tasks} tasks: ${counts(j.counts)}. Progress `, bar(j.progress), ` ${(j.progress || 0).toFixed(0)}%.`,
      ` Concurrency ${j.max_concurrency == null ? "no limit" : j.max_concurrency}, error limit ${j.max_errors}.`,
      waiting.length ? ` Next start ${waiting[0]}.` : "", j.stop_reason ? ` Stopped: ${j.stop_reason}.` : ""),
    el("div", {}, ["pause", "resume", "cancel"].map((a) =>
      action(a + " job", () => api("POST", `/v1/jobs/${encodeURIComponent(id)}/${a}`, {}, {})))),
    el("h3", {}, "Blocking findings"), findingsTable(f.findings, "job-findings"),
    el("h3", {}, "Tasks"),
    table(["Instance", "Target", "State", "Phase", "Progress", "Not before", "Error", "Actions"], t.tasks.map(taskRow), { id: "tasks" }));
}

async function viewFindings() {
  const f = await api("GET", "/v1/findings");
  show(el("h2", {}, "What blocks the fleet"),
    el("p", { class: "muted" }, `From ${f.failed_tasks_examined} failed tasks${f.more ? " (more were not read)" : ""}.`),
    findingsTable(f.findings, "findings"));
}

async function viewInstance(uri) {
  const t = await api("GET", "/v1/tasks", { instance: uri, limit: "1000" });
  // Each task's history and reports: the newest twenty tasks.
  const full = await Promise.all(t.tasks.slice(-20).map((x) => api("GET", "/v1/tasks/" + encodeURIComponent(x.id))));
  const last = full.length ? full[full.length - 1] : null;
  const reports = full.flatMap((x) => (x.reports || []).map((r) =>
    el("tr", { "data-task": x.id, "data-run": r.run },
      el("td", {}, x.id), el("td", {}, r.at || ""), el("td", {}, r.run),
      el("td", {}, el("button", {
        type: "button", "data-action": "open report",
        onclick: () => openReport(x.id, r.run).catch((e) => status("report: " + e.message)),
      }, "open")))));
  show(el("h2", {}, "Instance " + uri),
    table(["Instance", "Target", "State", "Phase", "Progress", "Not before", "Error", "Actions"], t.tasks.map(taskRow), { id: "tasks" }),
    el("h3", {}, "Reports"),
    reports.length ? table(["Task", "At", "Run", ""], reports.reverse(), { id: "reports" })
      : el("p", { class: "muted", id: "reports" }, "No report yet: each run of a task leaves one when it ends."),
    last ? el("div", {}, el("h3", {}, "History of task " + last.id),
      table(["At", "Event", "Message"], last.history.map((h) => el("tr", {}, el("td", {}, h.at), el("td", {}, h.type), el("td", {}, h.message || ""))), { id: "history" }))
      : el("p", { class: "muted" }, "No task for this instance."));
}

async function route() {
  clearTimeout(timer);
  if (!key) return;
  const h = location.hash || "#/jobs";
  try {
    if (h.startsWith("#/job/")) await viewJob(decodeURIComponent(h.slice(6)));
    else if (h === "#/findings") await viewFindings();
    else if (h.startsWith("#/instance/")) await viewInstance(decodeURIComponent(h.slice(11)));
    else await viewJobs();
    document.body.dataset.view = h;
  } catch (e) {
    status(e.message);
    if (e.status === 401 || e.status === 403) {
      if (e.status === 401) signOut();
      return;
    }
  }
  timer = setTimeout(route, REFRESH_MS);
}

// ---- signing in --------------------------------------------------------------------

function signedIn(k) {
  key = k;
  document.getElementById("signin").hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("who").textContent = "key " + k.id;
  route();
}

function signOut() {
  key = null;
  sessionStorage.removeItem("osmig-key");
  document.getElementById("signin").hidden = false;
  document.getElementById("nav").hidden = true;
  panel();
  show();
}

window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const k = { id: document.getElementById("key-id").value.trim(), secret: document.getElementById("key-secret").value };
    key = k;
    try {
      await api("GET", "/v1/jobs", { limit: "1" });
    } catch (e) {
      key = null;
      status("sign-in refused: " + e.message);
      return;
    }
    status("");
    if (document.getElementById("remember").checked) sessionStorage.setItem("osmig-key", JSON.stringify(k));
    document.getElementById("key-secret").value = "";
    signedIn(k);
  });
  document.getElementById("signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  const saved = sessionStorage.getItem("osmig-key");
  if (saved) signedIn(JSON.parse(saved));
  else document.getElementById("signin").hidden = false;
});
