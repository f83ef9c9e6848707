// The dashboard in headless Chromium (Debian's, through playwright-core),
// against two dev daemons with a token file:
//  - examples/config.yaml's queues and no licence: token prompt, "no
//    licences", the table against /api/v1/jobs, queue positions, queue bars,
//    the clock, delete through the keyboard-driven ⋮ menu with confirmation,
//    action errors as the server gave them, phone width, labels;
//  - two real licences (acme: 2 slots, jobs running and waiting; beta): the
//    four cards against the API and the dev clock (/debug/clock/advance), the
//    capacity warning, licence queue positions, Change Priority, Use Credits
//    and Delete through the menu, a refused action (409), the licence
//    selector, the daily reset, a licence's hours used up.
// Screenshots go to $VX_BUILD. Prints "ok"/"FAIL" lines and ends with
// "N passed, N failed".
"use strict";
const { chromium } = require("playwright-core");
const { spawn } = require("child_process");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");

const BUILD = process.env.VX_BUILD || "build";
const DAEMON = path.join(BUILD, "vgpu-extender");
const CHROMIUM = process.env.VX_CHROMIUM || "/usr/bin/chromium";
const TOKEN = "browser-test-token";
const T = 30000;
let passed = 0, failed = 0;

function check(name, ok, detail) {
  if (ok) { passed++; console.log("ok   " + name); }
  else { failed++; console.log("FAIL " + name + (detail ? ": " + detail : "")); }
}

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); });
    s.on("error", rej);
  });
}

async function call(base, method, p, body, token = TOKEN) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const r = await fetch(base + p, { method, headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { json = null; }
  return { status: r.status, json, text };
}

// A pod of the dev API; opts: ns, runtime (dev-runtime-seconds), billing, user.
function pod(name, gpus, mem, cores, opts = {}) {
  const annotations = { "vgpu-extender.io/dev-runtime-seconds": String(opts.runtime || 3600) };
  if (opts.billing) annotations["vgpu-extender.io/billing"] = opts.billing;
  if (opts.user) annotations["vgpu-extender.io/user"] = opts.user;
  return { apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: opts.ns || "default", annotations },
    spec: { containers: [{ name: "c", image: "example.invalid/x:1", resources: { limits: {
      "volcano.sh/vgpu-number": gpus, "volcano.sh/vgpu-memory": mem, "volcano.sh/vgpu-cores": cores } } }] } };
}

async function createPods(base, pods) {
  for (const p of pods) {
    const r = await call(base, "POST", "/api/v1/pods", p);
    check("created " + p.metadata.namespace + "/" + p.metadata.name, r.status === 201, r.text);
  }
}

// Starts a dev daemon with the config text; its log is tmp/NAME.log.
async function startDaemon(tmp, name, configText) {
  const port = await freePort();
  const tokens = path.join(tmp, "tokens");
  fs.writeFileSync(tokens, "# tokens of the browser test\n" + TOKEN + ",alice.wong\n");
  const config = path.join(tmp, name + ".yaml");
  fs.writeFileSync(config, configText);
  const logPath = path.join(tmp, name + ".log");
  const log = fs.openSync(logPath, "w");
  const proc = spawn(DAEMON, ["--dev", "--listen", "127.0.0.1:" + port, "--admin-token-file", tokens,
    "--config", config], { stdio: ["ignore", log, log] });
  const exited = new Promise((r) => proc.on("exit", (code, sig) => r(code === null ? sig : code)));
  const base = "http://127.0.0.1:" + port;
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(base + "/readyz")).status === 200) return { proc, base, exited, logPath }; } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the daemon did not become ready: " + fs.readFileSync(logPath, "utf8"));
}

// SIGTERM; the daemon must exit 0 with nothing from the sanitizers in its log.
async function stopDaemon(d, name) {
  d.proc.kill("SIGTERM");
  const code = await d.exited;
  const log = fs.readFileSync(d.logPath, "utf8");
  check(name + ": the daemon exits cleanly", code === 0 && !/Sanitizer|runtime error:/.test(log),
    "exit " + code + "\n" + log.slice(-3000));
}

async function launch() {
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
  } catch (e) {
    console.log("SKIP browser test: chromium (" + CHROMIUM + ") cannot start: " + e.message.split("\n")[0]);
    return null;
  }
}

// The first daemon has no licence: the page says so instead of the cards.
async function checkNoLicences(page) {
  check("no licences: the page says so", await page.isVisible("#no-licences"));
  check("no licences: no cards", !(await page.isVisible("#cards")));
}

// Queue bars against the daemon's own queues (examples/config.yaml's).
async function checkQueues(page, base) {
  const qs = (await call(base, "GET", "/debug/state")).json.queues || [];
  const shown = await page.$$eval("#queues li", (l) => l.map((x) => x.dataset.queue));
  check("queues: one bar per queue of /debug/state", qs.length >= 2 &&
    (await page.$$("#queues .bar")).length === qs.length && qs.every((q) => shown.includes(q.name)),
    JSON.stringify(shown));
}

async function checkTable(page, base) {
  const jobs = (await call(base, "GET", "/api/v1/jobs")).json;
  if (await page.isVisible("#no-licences")) {
    const rows = await page.$$eval("#jobs tbody tr", (t) => t.map((r) => r.dataset.key));
    check("the table lists every job of the API", rows.length === jobs.length && jobs.every(
      (j) => rows.includes(j.namespace + "/" + j.name)), JSON.stringify(rows));
  }
  const j = jobs.find((x) => x.name === "inference");
  const cells = await page.$$eval('#jobs tr[data-key="default/inference"] td', (t) => t.map((c) => c.textContent));
  check("a row shows name, id, priority and status", cells[2] === "default/inference" && cells[3] === j.uid &&
    cells[4] === String(j.priority) && cells[5].startsWith(j.status), JSON.stringify(cells));
  const waiting = await page.textContent('#jobs tr[data-key="default/too-big"] td:nth-child(6)');
  check("a waiting row shows its queue position", /Submitted#1 of 1 waiting/.test(waiting), waiting);
}

// Opens the row's ⋮ menu from the keyboard and picks the item at index.
async function menuPick(page, key, index) {
  await page.focus(`#jobs tr[data-key="${key}"] button.kebab`);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#menu:not([hidden])", { timeout: T });
  for (let i = 0; i < index; i++) await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
}

async function checkDelete(page, base) {
  await menuPick(page, "default/inference", 2);
  await page.waitForSelector("#dlg-confirm[open]", { timeout: T });
  check("delete asks for confirmation", /Delete default\/inference\?/.test(await page.textContent("#dlg-confirm .target")));
  await page.click("#confirm-ok");
  await page.waitForSelector('#jobs tr[data-key="default/inference"]', { state: "detached", timeout: T });
  const jobs = (await call(base, "GET", "/api/v1/jobs")).json;
  check("delete through the menu: gone from the API", !jobs.some((x) => x.name === "inference"));
  check("delete: no error shown", !(await page.isVisible("#error")));
}

async function checkErrors(page, base) {
  // The pod vanishes behind the page's back: the server's 404 is shown as it is.
  await menuPick(page, "default/training", 2);
  await page.waitForSelector("#dlg-confirm[open]", { timeout: T });
  const del = await call(base, "DELETE", "/api/v1/jobs/default/training");
  check("deleted behind the page's back", del.status === 200, del.text);
  await page.click("#confirm-ok");
  await page.waitForSelector("#error:not([hidden])", { timeout: T });
  const shown = await page.textContent("#error-text");
  const again = await call(base, "DELETE", "/api/v1/jobs/default/training");
  check("a 404 is shown with the server's message", shown.includes("HTTP 404") &&
    shown.includes(again.json.Error), shown);
  // Change Priority: whatever the server answers is what the page shows.
  await page.click("#error-close");
  await menuPick(page, "default/too-big", 0);
  await page.waitForSelector("#dlg-priority[open]", { timeout: T });
  await page.selectOption("#priority-value", "7");
  await page.click('#dlg-priority button[value="ok"]');
  const probe = await call(base, "PATCH", "/api/v1/jobs/default/too-big", { priority: 7 });
  if (probe.status >= 400) {
    await page.waitForSelector("#error:not([hidden])", { timeout: T });
    const t = await page.textContent("#error-text");
    check("a refused priority change is shown as the server said", t.includes("HTTP " + probe.status) &&
      t.includes(probe.json.Error), t);
  } else {
    await page.waitForTimeout(500);
    const j = (await call(base, "GET", "/api/v1/jobs")).json.find((x) => x.name === "too-big");
    check("priority changed through the menu", j.priority === 7, JSON.stringify(j));
  }
}

async function checkPhone(page, file) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  check("no sideways scrolling of the page at 390 px (" + file + ")", w <= 390, "scrollWidth " + w);
  await page.screenshot({ path: path.join(BUILD, file), fullPage: true });
}

async function checkLabels(page) {
  const unlabelled = await page.$$eval("select, input", (els) =>
    els.filter((e) => !e.labels || !e.labels.length).map((e) => e.id));
  check("every control has a label", unlabelled.length === 0, unlabelled.join(","));
  const kebabs = await page.$$eval("button.kebab", (b) => b.every((x) => x.getAttribute("aria-label")));
  check("every ⋮ button is named", kebabs);
}

async function run(browser, base) {
  // training and filler half-fill every card; too-big (2 x 20000 MiB) then waits, and could
  // run once they leave: a waiting row, not an Unschedulable one.
  await createPods(base, [pod("inference", 1, 3000, 30), pod("training", 2, 12000, 50),
    pod("filler", 2, 12000, 50), pod("too-big", 2, 20000, 10)]);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(T);
  const first = await page.goto(base + "/");
  check("the page answers 401 without a token, and still loads", first.status() === 401 &&
    (await page.title()) === "Virtual GPU Scheduler");
  check("the page may not be framed", /frame-ancestors 'none'/.test(first.headers()["content-security-policy"] || ""));
  await page.waitForSelector("#dlg-token[open]");
  check("the page asks for a token", true);
  await page.fill("#token", TOKEN);
  await page.press("#token", "Enter");
  await page.waitForSelector('#jobs tr[data-key="default/inference"]');
  check("the token is kept in sessionStorage", (await page.evaluate(() =>
    sessionStorage.getItem("vgpu-extender.token"))) === TOKEN);
  const clock = await page.textContent("#clock");
  await checkNoLicences(page);
  await checkTable(page, base);
  await checkQueues(page, base);
  check("nodes panel lists the nodes' GPUs", (await page.$$("#nodes .gpu")).length === 4);
  await checkLabels(page);
  await page.waitForTimeout(1100);
  await page.click("#refresh");
  await page.waitForFunction((c) => document.getElementById("clock").textContent !== c, clock);
  check("the page's clock moves on refresh", true);
  await page.screenshot({ path: path.join(BUILD, "dashboard-1280.png"), fullPage: true });
  await checkDelete(page, base);
  await checkErrors(page, base);
  await checkPhone(page, "dashboard-390.png");
  await page.close();
}

// ---- real licences ----

const HOUR = 3600;
const LONG = 7 * 24 * HOUR; // dev runtime of the licensed pods: past every clock move here

function pad2(n) { return String(n).padStart(2, "0"); }

// "HH:MM" UTC of the minute at or before now + seconds.
function utcHHMM(seconds) {
  const t = new Date(Date.now() + seconds * 1000);
  return pad2(t.getUTCHours()) + ":" + pad2(t.getUTCMinutes());
}

// Seconds from now to the next HH:MM UTC.
function secondsUntil(hhmm) {
  const [hh, mm] = hhmm.split(":").map(Number);
  const now = new Date(), at = new Date(now);
  at.setUTCHours(hh, mm, 0, 0);
  if (at <= now) at.setUTCDate(at.getUTCDate() + 1);
  return (at - now) / 1000;
}

// acme resets 12 h from now and beta 6 h from now, so the 3-hour clock move
// below stays within the day whatever the time the test runs at.
const ACME_RESET = utcHHMM(12 * HOUR), BETA_RESET = utcHHMM(6 * HOUR);
const LICENCE_CONFIG = `licenses:
  - name: acme
    namespaces: [acme-ml]
    dailyHours: 96
    maxSlots: 2
    resetUTC: "${ACME_RESET}"
  - name: beta
    namespaces: [beta-cv]
    dailyHours: 4
    maxSlots: 4
    resetUTC: "${BETA_RESET}"
queues:
  - name: ml
    namespaces: [beta-cv]
    quota: 1
    overQuotaWeight: 1
    limit: -1
`;

function lpod(key, opts = {}) {
  const [ns, name] = key.split("/");
  return pod(name, 1, 2000, 10, Object.assign({ ns, runtime: LONG, user: "alice.wong" }, opts));
}

async function licence(base, name) { return (await call(base, "GET", "/api/v1/licenses/" + name)).json; }
async function jobs(base) { return (await call(base, "GET", "/api/v1/jobs")).json; }

async function advanceClock(base, seconds) {
  const r = await call(base, "POST", "/debug/clock/advance?seconds=" + Math.round(seconds));
  check("dev clock moved " + (seconds / HOUR).toFixed(2) + " h", r.status === 200, r.text);
}

// Polls the API until every job named in want has that status.
async function untilStatus(base, want) {
  for (let i = 0; i < 100; i++) {
    const js = await jobs(base);
    if (Object.entries(want).every(([k, st]) => js.some((j) => j.namespace + "/" + j.name === k && j.status === st)))
      return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

// Clicks Refresh until test() holds (the page also refreshes every 5 s).
async function refreshUntil(page, test) {
  for (let i = 0; i < 40; i++) {
    await page.click("#refresh");
    await page.waitForTimeout(250);
    if (await test()) return true;
  }
  return false;
}

// The four cards as shown, with the figures parsed.
async function cards(page) {
  const v = async (id) => (await page.textContent("#" + id + " .v")).trim();
  const c = { daily: await v("card-daily"), remaining: await v("card-remaining"),
    reset: await v("card-reset"), slots: await v("card-slots"),
    slotsSub: (await page.textContent("#card-slots .sub")).trim() };
  const m = /^(\d+\.\d\d) Hours Used \/ (\d+) hours Total$/.exec(c.daily);
  c.used = m ? Number(m[1]) : NaN;
  c.total = m ? Number(m[2]) : NaN;
  const r = /^(\d+\.\d\d) Hours$/.exec(c.remaining);
  c.left = r ? Number(r[1]) : NaN;
  const t = /^(\d\d):(\d\d):(\d\d)$/.exec(c.reset);
  c.resetIn = t ? Number(t[1]) * HOUR + Number(t[2]) * 60 + Number(t[3]) : NaN;
  return c;
}

async function statusOf(page, key) {
  const cell = await page.$(`#jobs tr[data-key="${key}"] td:nth-child(6)`);
  // The status and queue position; the start estimate (.est) is checked apart.
  return cell ? (await cell.evaluate((td) => Array.from(td.childNodes)
    .filter((n) => !(n.classList && n.classList.contains("est")))
    .map((n) => n.textContent).join(""))).trim() : null;
}

async function estimateOf(page, key) {
  const est = await page.$(`#jobs tr[data-key="${key}"] td:nth-child(6) .est`);
  return est ? (await est.textContent()).trim() : null;
}

async function rowKeys(page) { return page.$$eval("#jobs tbody tr", (t) => t.map((r) => r.dataset.key).sort()); }

const near = (a, b, eps) => Math.abs(a - b) <= eps;

// acme on a fresh page: 2 of 2 slots taken, 2 jobs waiting.
async function checkLicenceCards(page, base) {
  const names = await page.$$eval("#licence option", (o) => o.map((x) => x.textContent));
  check("licence selector: acme, beta and All workloads", JSON.stringify(names) ===
    '["acme","beta","All workloads"]', JSON.stringify(names));
  check("the first licence is selected", (await page.inputValue("#licence")) === "acme");
  const c = await cards(page), l = await licence(base, "acme");
  check("acme Daily Total Run Time: 'X.XX Hours Used / 96 hours Total' as the API says", c.total === 96 &&
    near(c.used, l.usedHours, 0.011), c.daily + " / API " + l.usedHours);
  check("acme Remaining Run Time: 96 hours less those used", near(c.used + c.left, 96, 0.011), c.remaining);
  check("acme vGPU Usage: 2/2 Used, 2 waiting", c.slots === "2/2 Used" && c.slotsSub === "2 waiting",
    c.slots + ", " + c.slotsSub);
  check("acme Reset Timer counts down to resetUTC " + ACME_RESET, near(c.resetIn, secondsUntil(ACME_RESET), 5),
    c.reset);
  await page.waitForTimeout(2100);
  const later = await cards(page);
  check("the reset countdown moves down by the seconds passed", c.resetIn - later.resetIn >= 1 &&
    c.resetIn - later.resetIn <= 4, c.reset + " -> " + later.reset);
  const warn = (await page.textContent("#warning")).trim();
  check("every slot taken and jobs waiting: the capacity warning", await page.isVisible("#warning") &&
    warn.startsWith("All 2 vGPU slots of licence acme are in use: 2 job(s) wait"), warn);
}

async function checkLicenceTable(page, base) {
  const keys = await rowKeys(page);
  check("the table shows acme's jobs only", JSON.stringify(keys) ===
    '["acme-ml/big-g","acme-ml/run-a","acme-ml/run-b","acme-ml/wait-c","acme-ml/wait-d"]', JSON.stringify(keys));
  check("running licensed jobs show Running", (await statusOf(page, "acme-ml/run-a")) === "Running");
  const user = await page.textContent('#jobs tr[data-key="acme-ml/run-a"] td:nth-child(1)');
  check("User: the token's user (vgpu-extender.io/user, set by the daemon), with its initials",
    user === "AWalice.wong", user);
  const c = await statusOf(page, "acme-ml/wait-c"), d = await statusOf(page, "acme-ml/wait-d");
  check("waiting rows show their licence queue position (same priority: older first)",
    c === "Submitted#1 of 2 waiting" && d === "Submitted#2 of 2 waiting", c + " | " + d);
  const est = await estimateOf(page, "acme-ml/wait-c");
  const apiEst = (await jobs(base)).find((x) => x.name === "wait-c").estimatedStart;
  check("a waiting row shows the daemon's start estimate", !!apiEst && est ===
    "starts \u2248 " + (await page.evaluate((t) => new Date(t).toLocaleString(), apiEst)), est + " | " + apiEst);
  const g = await statusOf(page, "acme-ml/big-g");
  check("a job on credits waiting for GPUs: its queue position, not the licence's", g ===
    "Submitted#1 of 1 waitingon credits", g);
}

// 3 h of the dev clock with acme's 2 slots busy: 6 vGPU-hours.
async function checkClockAdvance(page, base) {
  const before = await cards(page);
  await advanceClock(base, 3 * HOUR);
  const ok = await refreshUntil(page, async () => (await cards(page)).used > before.used + 5);
  const after = await cards(page);
  check("after 3 h on 2 slots: 6.00 more Hours Used", ok && near(after.used - before.used, 6, 0.011),
    before.daily + " -> " + after.daily);
  check("after 3 h on 2 slots: 6.00 fewer hours Remaining", near(before.left - after.left, 6, 0.011),
    before.remaining + " -> " + after.remaining);
  check("after 3 h: the Reset Timer is 3 h nearer", near(before.resetIn - after.resetIn, 3 * HOUR, 6),
    before.reset + " -> " + after.reset);
}

// Opens a menu from the keyboard and leaves it with Escape: focus returns to the ⋮.
async function checkMenuKeyboard(page, key) {
  const sel = `#jobs tr[data-key="${key}"] button.kebab`;
  await page.focus(sel);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#menu:not([hidden])");
  const first = await page.evaluate(() => document.activeElement.textContent);
  await page.keyboard.press("ArrowDown");
  const second = await page.evaluate(() => document.activeElement.textContent);
  await page.keyboard.press("Escape");
  const back = await page.evaluate((s) => document.activeElement === document.querySelector(s), sel);
  check("⋮ menu from the keyboard: Enter opens on the first item, arrows move, Escape closes back to ⋮",
    first === "Change Priority" && second === "Use Credits" && back && !(await page.isVisible("#menu")),
    first + ", " + second + ", back " + back);
}

async function changePriority(page, key, value) {
  await menuPick(page, key, 0);
  await page.waitForSelector("#dlg-priority[open]");
  await page.selectOption("#priority-value", String(value));
  await page.click('#dlg-priority button[value="ok"]');
  await page.waitForSelector("#dlg-priority", { state: "hidden" });
}

// The confirmation of a menu item: checks its text, then confirms.
async function confirmDialog(page, label, textRe) {
  await page.waitForSelector("#dlg-confirm[open]");
  const text = await page.textContent("#dlg-confirm .target");
  check(label + " asks first", textRe.test(text), text);
  await page.click("#confirm-ok");
  await page.waitForSelector("#dlg-confirm", { state: "hidden" });
}

async function checkPriority(page, base) {
  await changePriority(page, "acme-ml/wait-d", 9);
  const ok = await refreshUntil(page, async () => (await statusOf(page, "acme-ml/wait-d")) === "Submitted#1 of 2 waiting");
  const c = await statusOf(page, "acme-ml/wait-c"), d = await statusOf(page, "acme-ml/wait-d");
  check("Change Priority to 9: wait-d goes ahead of wait-c", ok && c === "Submitted#2 of 2 waiting", c + " | " + d);
  const prio = await page.textContent('#jobs tr[data-key="acme-ml/wait-d"] td:nth-child(5)');
  const j = (await jobs(base)).find((x) => x.name === "wait-d");
  check("the row and the API show priority 9", prio === "9" && j.priority === 9 && j.position === 1,
    prio + " " + JSON.stringify(j));
}

async function checkUseCredits(page, base) {
  await menuPick(page, "acme-ml/wait-c", 1);
  await confirmDialog(page, "Use Credits", /^Move acme-ml\/wait-c out of its licence and run it on credits\?/);
  const ok = await refreshUntil(page, async () => (await statusOf(page, "acme-ml/wait-c")) === "Runningon credits");
  check("Use Credits: wait-c leaves the licence and runs", ok, await statusOf(page, "acme-ml/wait-c"));
  const c = await cards(page), d = await statusOf(page, "acme-ml/wait-d");
  check("Use Credits: acme still 2/2 Used, 1 waiting, wait-d #1 of 1", c.slots === "2/2 Used" &&
    c.slotsSub === "1 waiting" && d === "Submitted#1 of 1 waiting", c.slots + ", " + c.slotsSub + ", " + d);
  check("Use Credits: the warning counts 1 waiting job", /: 1 job\(s\) wait/.test(await page.textContent("#warning")));
  const j = (await jobs(base)).find((x) => x.name === "wait-c");
  check("Use Credits: the API has wait-c on credits", j.billing === "credits" && j.status === "Running", JSON.stringify(j));
}

// Deleting a running licensed job frees its slot for the next waiting one.
async function checkDeleteRunning(page, base) {
  await menuPick(page, "acme-ml/run-a", 2);
  await confirmDialog(page, "Delete", /^Delete acme-ml\/run-a\?/);
  await page.waitForSelector('#jobs tr[data-key="acme-ml/run-a"]', { state: "detached" });
  check("Delete: run-a's row is gone, and from the API", !(await jobs(base)).some((x) => x.name === "run-a"));
  const ok = await refreshUntil(page, async () => (await statusOf(page, "acme-ml/wait-d")) === "Running");
  check("Delete: the freed slot goes to wait-d", ok, await statusOf(page, "acme-ml/wait-d"));
  const c = await cards(page);
  check("Delete: acme 2/2 Used, 0 waiting, no warning", c.slots === "2/2 Used" && c.slotsSub === "0 waiting" &&
    !(await page.isVisible("#warning")), c.slots + ", " + c.slotsSub);
  check("Delete: no error shown", !(await page.isVisible("#error")));
}

// The selector switches the cards and the table; beta's finished job refuses a priority.
async function checkSelector(page, base) {
  await page.selectOption("#licence", "beta");
  const c = await cards(page), l = await licence(base, "beta");
  check("selector to beta: its cards", c.total === 4 && near(c.used, l.usedHours, 0.011) &&
    c.slots === "1/4 Used" && c.slotsSub === "0 waiting" && near(c.resetIn, secondsUntil(BETA_RESET) - 3 * HOUR, 6),
    [c.daily, c.slots, c.reset].join(", "));
  check("selector to beta: no warning", !(await page.isVisible("#warning")));
  const keys = await rowKeys(page);
  check("selector to beta: its jobs only", JSON.stringify(keys) === '["beta-cv/done-f","beta-cv/train-e"]',
    JSON.stringify(keys));
  check("done-f (60 s, on credits) has finished", (await statusOf(page, "beta-cv/done-f")) === "Completedon credits",
    await statusOf(page, "beta-cv/done-f"));
  await changePriority(page, "beta-cv/done-f", 3);
  await page.waitForSelector("#error:not([hidden])");
  const shown = await page.textContent("#error-text");
  const probe = await call(base, "PATCH", "/api/v1/jobs/beta-cv/done-f", { priority: 3 });
  check("a priority change on a finished job: the server's 409 and message in the page", probe.status === 409 &&
    shown.includes("HTTP 409") && shown.includes(probe.json.Error), shown);
  await page.click("#error-close");
  await page.selectOption("#licence", "");
  const all = (await jobs(base)).map((j) => j.namespace + "/" + j.name).sort();
  check("selector to All workloads: no cards, every job", !(await page.isVisible("#cards")) &&
    JSON.stringify(await rowKeys(page)) === JSON.stringify(all), JSON.stringify(await rowKeys(page)));
  await page.selectOption("#licence", "acme");
  check("selector back to acme: its cards", (await cards(page)).total === 96);
}

// Past acme's reset by 1 h: a new day of 2 slots x 1 h.
async function checkDailyReset(page, base) {
  const l = await licence(base, "acme");
  await advanceClock(base, l.resetInSeconds + HOUR);
  const ok = await refreshUntil(page, async () => (await cards(page)).used < 3);
  const c = await cards(page);
  check("1 h after the daily reset: 2.00 Hours Used / 96 hours Total", ok &&
    c.daily === "2.00 Hours Used / 96 hours Total", c.daily);
  check("1 h after the daily reset: 94.00 Hours remaining", c.remaining === "94.00 Hours", c.remaining);
  check("1 h after the daily reset: the Reset Timer shows 23 h to go", near(c.resetIn, 23 * HOUR, 5), c.reset);
}

// beta's 4 hours are gone (train-e has run 7 h since beta's reset): a new job waits for the
// next day, and the page says why.
async function checkHoursUsedUp(page, base) {
  await createPods(base, [lpod("beta-cv/late-h")]);
  check("late-h waits", await untilStatus(base, { "beta-cv/late-h": "Submitted" }));
  await page.selectOption("#licence", "beta");
  const ok = await refreshUntil(page, async () => (await statusOf(page, "beta-cv/late-h")) !== null);
  const c = await cards(page), l = await licence(base, "beta");
  check("beta used up: more than 4 Hours Used, 0.00 Remaining, 1/4 Used", ok && c.used > 4 &&
    near(c.used, l.usedHours, 0.011) && c.remaining === "0.00 Hours" && c.slots === "1/4 Used",
    [c.daily, c.remaining, c.slots].join(", "));
  const warn = (await page.textContent("#warning")).trim();
  check("beta used up: the warning says the hours are used up", await page.isVisible("#warning") &&
    warn.startsWith("The 4 vGPU-hours of licence beta are used up for today: 1 job(s) wait"), warn);
  const title = await page.getAttribute('#jobs tr[data-key="beta-cv/late-h"] td:nth-child(6)', "title");
  check("beta used up: the waiting row's position, and the server's reason on hover",
    (await statusOf(page, "beta-cv/late-h")) === "Submitted#1 of 1 waiting" &&
    /licence beta: [\d.]+ of 4 vGPU-hours used today; resets in/.test(title || ""), title);
}

async function runLicences(browser, base) {
  // run-a and run-b take acme's 2 slots; wait-c and wait-d, created after, wait.
  // hog takes a node's 2 GPUs whole, so big-g (2 whole GPUs, on credits) waits
  // too: in its queue, not in acme's order.
  await createPods(base, [lpod("acme-ml/run-a"), lpod("acme-ml/run-b"), lpod("beta-cv/train-e"),
    lpod("beta-cv/done-f", { runtime: 60, billing: "credits" }), pod("hog", 2, 1000, 100, { runtime: LONG })]);
  check("run-a, run-b, train-e and hog run", await untilStatus(base, { "acme-ml/run-a": "Running",
    "acme-ml/run-b": "Running", "beta-cv/train-e": "Running", "default/hog": "Running" }));
  await createPods(base, [lpod("acme-ml/wait-c"), lpod("acme-ml/wait-d"),
    pod("big-g", 2, 1000, 100, { ns: "acme-ml", runtime: LONG, billing: "credits" })]);
  check("wait-c, wait-d and big-g wait", await untilStatus(base, { "acme-ml/wait-c": "Submitted",
    "acme-ml/wait-d": "Submitted", "acme-ml/big-g": "Submitted" }) && (await licence(base, "acme")).waiting === 2);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(T);
  await page.addInitScript((t) => sessionStorage.setItem("vgpu-extender.token", t), TOKEN);
  await page.goto(base + "/");
  await page.waitForSelector('#jobs tr[data-key="acme-ml/wait-d"]');
  await checkLicenceCards(page, base);
  await checkLicenceTable(page, base);
  const q = (await call(base, "GET", "/debug/state")).json.queues.find((x) => x.name === "ml");
  const figs = await page.textContent('#queues li[data-queue="ml"] .figs');
  check("a licence and queues together: the queues panel shows the licensed jobs' queue",
    !!q && figs.includes("allocated " + q.allocated), figs);
  await page.screenshot({ path: path.join(BUILD, "dashboard-licence-1280.png"), fullPage: true });
  await checkClockAdvance(page, base);
  await checkMenuKeyboard(page, "acme-ml/wait-d");
  await checkPriority(page, base);
  await checkUseCredits(page, base);
  await checkDeleteRunning(page, base);
  await checkSelector(page, base);
  await checkDailyReset(page, base);
  await checkHoursUsedUp(page, base);
  await checkPhone(page, "dashboard-licence-390.png");
  await page.close();
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vx-browser-"));
  const browser = await launch();
  // The example's queues, without its licence: these jobs are in no licence's namespace.
  const queuesOnly = fs.readFileSync("examples/config.yaml", "utf8").split("licenses:")[0];
  for (const [name, config, fn] of [["queues", queuesOnly, run], ["licences", LICENCE_CONFIG, runLicences]]) {
    let d = null;
    try {
      d = await startDaemon(tmp, name, config);
      if (browser) await fn(browser, d.base);
    } catch (e) {
      check(name + ": browser test ran to the end", false, e.stack);
    } finally {
      if (d) await stopDaemon(d, name);
    }
  }
  if (browser) await browser.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(passed + " passed, " + failed + " failed");
  process.exit(failed ? 1 : 0);
}

main();
