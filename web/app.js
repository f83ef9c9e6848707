// The dashboard's behaviour: reads /debug/state and /api/v1/jobs (SPEC
// sections 7 and 9), renders them with textContent only (pod names and users
// come from the cluster, never trusted as HTML), and sends the row actions.
// What the server refuses is shown as it said it. The bearer token, when the
// server asks for one (401), lives in sessionStorage only.
"use strict";

const REFRESH_MS = 5000;
const TOKEN_KEY = "vgpu-extender.token";
const $ = (id) => document.getElementById(id);

const view = {
  state: null,        // last /debug/state
  jobs: [],           // last /api/v1/jobs
  fetchedAt: 0,       // Date.now() when state arrived (the reset countdown runs from it)
  licence: "",        // selected licence name, "" = all workloads
  menuFor: null,      // the job row whose menu is open
  menuButton: null,
  timer: 0,
};

// h("td", {class: "x"}, "text", child...): a DOM element.
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// fetch with the token; a JSON answer, or an HttpError carrying the
// server's {"Error": ...} text.
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (token()) headers["Authorization"] = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new HttpError(0, "cannot reach the daemon: " + e.message);
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!r.ok) {
    const msg = (data && (data.Error || data.error || data.message)) || text || r.statusText;
    throw new HttpError(r.status, msg);
  }
  return data;
}

function showError(what, err) {
  const status = err.status ? " (HTTP " + err.status + ")" : "";
  $("error-text").textContent = what + status + ": " + err.message;
  $("error").hidden = false;
}

function askToken(why) {
  const d = $("dlg-token");
  $("token-why").textContent = why || "";
  if (!d.open) d.showModal();
  $("token").focus();
}

// ---- loading ----

async function refresh() {
  if (document.querySelector("dialog[open]") || view.menuFor) return; // not under the user's hands
  try {
    const [state, jobs] = await Promise.all([api("GET", "/debug/state"), api("GET", "/api/v1/jobs")]);
    view.state = state;
    view.jobs = Array.isArray(jobs) ? jobs : [];
    view.fetchedAt = Date.now();
    render();
    $("clock").textContent = "updated " + new Date().toLocaleTimeString();
    $("signout").hidden = !token();
  } catch (err) {
    if (err.status === 401) askToken(token() ? "The server did not accept that token: " + err.message : "");
    else showError("Loading failed", err);
  }
}

function schedule() {
  clearInterval(view.timer);
  if ($("auto").checked) view.timer = setInterval(refresh, REFRESH_MS);
}

// ---- rendering ----

function licences() { return (view.state && view.state.licenses) || []; }

function render() {
  renderLicenceSelect();
  renderCards();
  renderJobs();
  renderQueues();
  renderNodes();
}

function renderLicenceSelect() {
  const sel = $("licence"), lics = licences();
  const names = lics.map((l) => l.name);
  if (!names.includes(view.licence) && view.licence !== "") view.licence = "";
  if (view.licence === "" && names.length && !sel.dataset.touched) view.licence = names[0];
  const want = names.concat([""]).join("\n");
  if (sel.dataset.names !== want) {
    sel.replaceChildren(...names.map((n) => h("option", { value: n, text: n })),
      h("option", { value: "", text: "All workloads" }));
    sel.dataset.names = want;
  }
  sel.value = view.licence;
  $("no-licences").hidden = names.length > 0;
}

function selectedLicence() { return licences().find((l) => l.name === view.licence) || null; }

function fmtHours(x) { return Number(x || 0).toFixed(2); }

function setCard(id, value, sub) {
  $(id).querySelector(".v").textContent = value;
  $(id).querySelector(".sub").textContent = sub || "";
}

function renderCards() {
  const l = selectedLicence();
  $("cards").hidden = !l;
  $("warning").hidden = true;
  if (!l) return;
  setCard("card-daily", fmtHours(l.usedHours) + " Hours Used / " + l.dailyHours + " hours Total",
    "vGPU-hours used today");
  setCard("card-remaining", fmtHours(l.remainingHours) + " Hours", "left until the reset");
  setCard("card-slots", (l.usedSlots || 0) + "/" + l.maxSlots + " Used",
    (l.waiting || 0) + " waiting");
  tick();
  if (l.remainingHours <= 0 && l.waiting > 0) {
    $("warning").textContent = "The " + l.dailyHours + " vGPU-hours of licence " + l.name +
      " are used up for today: " + l.waiting + " job(s) wait for the daily reset (Reset Timer)." +
      " Running jobs finish; Use Credits runs a job now.";
    $("warning").hidden = false;
  } else if (l.usedSlots >= l.maxSlots && l.waiting > 0) {
    $("warning").textContent = "All " + l.maxSlots + " vGPU slots of licence " + l.name +
      " are in use: " + l.waiting + " job(s) wait for a free slot. Their queue position is shown" +
      " in the table; Use Credits moves a job out of the licence.";
    $("warning").hidden = false;
  }
}

function pad2(n) { return String(n).padStart(2, "0"); }

// The reset countdown, once a second, from the last fetch's resetInSeconds.
function tick() {
  const l = selectedLicence();
  if (!l) return;
  const left = Math.max(0, Math.round(l.resetInSeconds - (Date.now() - view.fetchedAt) / 1000));
  setCard("card-reset", pad2(Math.floor(left / 3600)) + ":" + pad2(Math.floor(left / 60) % 60) + ":" +
    pad2(left % 60), "until the daily reset");
  if (left === 0 && l.resetInSeconds > 0) l.resetInSeconds = 0, refresh();
}

function visibleJobs() {
  const rows = view.licence === "" ? view.jobs : view.jobs.filter((j) => j.license === view.licence);
  return rows.slice().sort((a, b) => (b.submitTime || "").localeCompare(a.submitTime || ""));
}

// Position among the waiting jobs of the same licence or queue. A licence's
// order is the daemon's own (the rows' position; SPEC section 6: higher
// priority first, then older first); a queue's is worked out here the same
// way. A job on credits is out of its namespace's licence: it waits in its
// queue.
function inLicence(j) { return !!j.license && j.billing !== "credits"; }

function queuePositions() {
  const key = (j) => j.namespace + "/" + j.name;
  const pos = new Map(), waiting = new Map(), groups = new Map();
  const placed = view.jobs.filter((j) => inLicence(j) && j.position > 0);
  for (const j of placed) waiting.set(j.license, (waiting.get(j.license) || 0) + 1);
  for (const j of placed) pos.set(key(j), [j.position, waiting.get(j.license)]);
  for (const j of view.jobs.filter((j) => j.status === "Submitted" && !inLicence(j))) {
    const g = j.queue || "";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(j);
  }
  for (const list of groups.values()) {
    list.sort((a, b) => (b.priority - a.priority) || (a.submitTime || "").localeCompare(b.submitTime || ""));
    list.forEach((j, i) => pos.set(key(j), [i + 1, list.length]));
  }
  return pos;
}

function initials(user) {
  const parts = String(user || "?").split(/[^A-Za-z0-9]+/).filter(Boolean);
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

function jobRow(j, pos) {
  const key = j.namespace + "/" + j.name;
  const user = j.user || "unknown";
  const when = j.submitTime ? new Date(j.submitTime).toLocaleString() : "";
  const status = h("td", {}, h("span", { class: "badge s-" + j.status, text: j.status }));
  const p = pos.get(key);
  if (p) status.append(h("span", { class: "qpos", text: "#" + p[0] + " of " + p[1] + " waiting" }));
  // The daemon's estimate, from the deadlines of the jobs ahead; none when they do not tell.
  if (p && j.estimatedStart) status.append(h("span", { class: "qpos est",
    title: "Estimated from the running jobs' deadlines; jobs usually end sooner",
    text: "starts \u2248 " + new Date(j.estimatedStart).toLocaleString() }));
  if (j.license && j.billing === "credits") status.append(h("span", { class: "qpos", text: "on credits" }));
  if (j.message) status.title = j.message;
  const kebab = h("button", { type: "button", class: "kebab", "aria-haspopup": "menu",
    "aria-expanded": "false", "aria-label": "Actions for " + key, text: "\u22ee" });
  kebab.addEventListener("click", () => openMenu(j, kebab));
  const cells = [
    h("td", {}, h("span", { class: "user" }, h("span", { class: "avatar", "aria-hidden": "true", text: initials(user) }), user)),
    h("td", { text: when }),
    h("td", { text: key }),
    h("td", { class: "id", title: j.uid || "", text: j.uid || "" }),
    h("td", { text: String(j.priority) }),
    status,
    h("td", { class: "act" }, kebab)];
  // Phones show each row as a card; the labels come from the header.
  const heads = Array.from($("jobs").tHead.rows[0].cells).map((c) => c.textContent);
  cells.forEach((c, i) => c.setAttribute("data-label", heads[i]));
  return h("tr", { "data-key": key }, ...cells);
}

function renderJobs() {
  const rows = visibleJobs(), pos = queuePositions();
  $("jobs").tBodies[0].replaceChildren(...rows.map((j) => jobRow(j, pos)));
  $("jobs-empty").hidden = rows.length > 0;
}

function bar(value, max, mark, over) {
  const pct = (x) => Math.max(0, Math.min(100, max > 0 ? (x / max) * 100 : 0)) + "%";
  const b = h("div", { class: "bar", role: "img" }, h("div", { class: "fill" + (over ? " over" : "") }));
  b.firstChild.style.width = pct(value);
  if (mark !== undefined) {
    const m = h("div", { class: "mark" });
    m.style.left = pct(mark);
    b.append(m);
  }
  return b;
}

function renderQueues() {
  const qs = (view.state && view.state.queues) || [];
  $("queues-empty").hidden = qs.length > 0;
  $("queues").replaceChildren(...qs.map((q) => {
    const limit = q.limit < 0 ? "none" : q.limit;
    const max = Math.max(q.quota, q.allocated, q.fairShare, q.limit > 0 ? q.limit : 0, 1);
    const b = bar(q.allocated, max, q.quota, q.allocated > q.quota);
    b.setAttribute("aria-label", q.name + ": " + q.allocated + " GPUs allocated, quota " + q.quota);
    return h("li", { "data-queue": q.name },
      h("div", { class: "row" }, h("strong", { text: q.name }),
        h("span", { class: "figs", text: "quota " + q.quota + " \u00b7 limit " + limit +
          " \u00b7 allocated " + q.allocated + " \u00b7 fair share " + q.fairShare +
          " \u00b7 pending " + q.pending })), b);
  }));
}

function gpuLine(g) {
  const t = "slots " + g.usedSlots + "/" + g.slots + " \u00b7 memory " + g.usedMemoryMiB + "/" +
    g.memoryMiB + " MiB \u00b7 cores " + g.usedCores + "/" + g.cores + "%";
  const frac = Math.max(g.usedSlots / (g.slots || 1), g.usedMemoryMiB / (g.memoryMiB || 1), g.usedCores / (g.cores || 1));
  const b = bar(frac, 1);
  b.setAttribute("aria-label", g.uuid + ": " + t);
  return h("div", { class: "gpu" },
    h("div", { class: "row" }, h("span", { text: g.uuid + (g.type ? " (" + g.type + ")" : "") + (g.health === false ? " unhealthy" : "") }),
      h("span", { class: "figs", text: t })), b);
}

function renderNodes() {
  const ns = ((view.state && view.state.nodes) || []).filter((n) => (n.gpus || []).length);
  $("nodes-empty").hidden = ns.length > 0;
  $("nodes").replaceChildren(...ns.map((n) => h("li", { "data-node": n.name },
    h("strong", { text: n.name + (n.usable === false ? " (not usable" + (n.reason ? ": " + n.reason : "") + ")" : "") }),
    ...n.gpus.map(gpuLine))));
}

// ---- the row menu (keyboard: Enter/Space opens, arrows move, Escape closes) ----

function menuItems() { return Array.from($("menu").querySelectorAll("button")); }

function openMenu(job, button) {
  const m = $("menu"), r = button.getBoundingClientRect();
  view.menuFor = job;
  view.menuButton = button;
  button.setAttribute("aria-expanded", "true");
  m.hidden = false;
  const left = Math.min(window.scrollX + r.right - m.offsetWidth, window.scrollX + document.documentElement.clientWidth - m.offsetWidth - 4);
  m.style.left = Math.max(4, left) + "px";
  m.style.top = (window.scrollY + r.bottom + 2) + "px";
  menuItems()[0].focus();
}

function closeMenu(refocus) {
  if (!view.menuFor) return;
  $("menu").hidden = true;
  view.menuButton.setAttribute("aria-expanded", "false");
  if (refocus) view.menuButton.focus();
  view.menuFor = null;
}

$("menu").addEventListener("keydown", (e) => {
  const items = menuItems(), i = items.indexOf(document.activeElement);
  if (e.key === "ArrowDown") items[(i + 1) % items.length].focus();
  else if (e.key === "ArrowUp") items[(i + items.length - 1) % items.length].focus();
  else if (e.key === "Home") items[0].focus();
  else if (e.key === "End") items[items.length - 1].focus();
  else if (e.key === "Escape" || e.key === "Tab") closeMenu(true);
  else return;
  e.preventDefault();
});

document.addEventListener("click", (e) => {
  if (view.menuFor && !$("menu").contains(e.target) && e.target !== view.menuButton) closeMenu(false);
});

$("menu").addEventListener("click", (e) => {
  const act = e.target.closest("button") && e.target.closest("button").dataset.act;
  const job = view.menuFor;
  if (!act || !job) return;
  closeMenu(true);
  if (act === "priority") changePriority(job);
  else if (act === "credits") confirmThen(job, "Use credits", "Move " + job.namespace + "/" + job.name +
    " out of its licence and run it on credits?", "Use Credits", () =>
    api("POST", jobPath(job) + "/use-credits"));
  else confirmThen(job, "Delete", "Delete " + job.namespace + "/" + job.name +
    "? Its pod is deleted and its run cancelled. This cannot be undone.", "Delete", () =>
    api("DELETE", jobPath(job)));
});

function jobPath(j) { return "/api/v1/jobs/" + encodeURIComponent(j.namespace) + "/" + encodeURIComponent(j.name); }

// ---- actions ----

function dialogAnswer(d) {
  return new Promise((resolve) => {
    d.addEventListener("close", () => resolve(d.returnValue), { once: true });
    d.returnValue = "cancel";
    d.showModal();
  });
}

async function confirmThen(job, title, text, okLabel, action) {
  const d = $("dlg-confirm");
  $("dlg-confirm-title").textContent = title;
  d.querySelector(".target").textContent = text;
  $("confirm-ok").textContent = okLabel;
  if (await dialogAnswer(d) !== "ok") return;
  await act(title, action);
}

async function changePriority(job) {
  const d = $("dlg-priority"), sel = $("priority-value");
  if (!sel.options.length) for (let i = 10; i >= 1; i--) sel.append(h("option", { value: String(i), text: String(i) }));
  sel.value = String(Math.min(10, Math.max(1, job.priority || 1)));
  d.querySelector(".target").textContent = job.namespace + "/" + job.name + " (now " + job.priority + ")";
  if (await dialogAnswer(d) !== "ok") return;
  await act("Change priority", () => api("PATCH", jobPath(job), { priority: Number(sel.value) }));
}

async function act(what, call) {
  try {
    await call();
    $("error").hidden = true;
  } catch (err) {
    if (err.status === 401) askToken("");
    showError(what + " failed", err);
  }
  await refresh();
}

// ---- wiring ----

$("refresh").addEventListener("click", refresh);
$("auto").addEventListener("change", schedule);
$("licence").addEventListener("change", (e) => {
  e.target.dataset.touched = "1";
  view.licence = e.target.value;
  render();
});
$("error-close").addEventListener("click", () => { $("error").hidden = true; });
$("signout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
$("token-form").addEventListener("submit", () => {
  const t = $("token").value.trim();
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  $("token").value = "";
  setTimeout(refresh, 0);
});
setInterval(tick, 1000);
schedule();
refresh();
