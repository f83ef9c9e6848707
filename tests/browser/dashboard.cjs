// The dashboard in headless Chromium (Debian's, through playwright-core): a
// dev daemon with a token file and examples/config.yaml's queues (not its
// licence), a few pods, then the page: token prompt, cards or "no licences",
// the table against /api/v1/jobs, queue positions, the clock, delete through
// the keyboard-driven ⋮ menu with confirmation, action errors as the server
// gave them, phone width, labels. Screenshots go to $VX_BUILD.
// Prints "ok"/"FAIL" lines and ends with "N passed, N failed".
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

function pod(name, gpus, mem, cores) {
  return { apiVersion: "v1", kind: "Pod",
    metadata: { name, namespace: "default", annotations: { "vgpu-extender.io/dev-runtime-seconds": "3600" } },
    spec: { containers: [{ name: "c", image: "example.invalid/x:1", resources: { limits: {
      "volcano.sh/vgpu-number": gpus, "volcano.sh/vgpu-memory": mem, "volcano.sh/vgpu-cores": cores } } }] } };
}

async function startDaemon(tmp) {
  const port = await freePort();
  const tokens = path.join(tmp, "tokens");
  fs.writeFileSync(tokens, "# tokens of the browser test\n" + TOKEN + ",alice\n");
  // The example's queues, without its licence: the jobs here are in no licence's
  // namespace; licence cards are checked with SPEC-shaped data below.
  const config = path.join(tmp, "config.yaml");
  fs.writeFileSync(config, fs.readFileSync("examples/config.yaml", "utf8").split("licenses:")[0]);
  const log = fs.openSync(path.join(tmp, "daemon.log"), "w");
  const proc = spawn(DAEMON, ["--dev", "--listen", "127.0.0.1:" + port, "--admin-token-file", tokens,
    "--config", config], { stdio: ["ignore", log, log] });
  const base = "http://127.0.0.1:" + port;
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(base + "/readyz")).status === 200) return { proc, base }; } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the daemon did not become ready: " + fs.readFileSync(path.join(tmp, "daemon.log"), "utf8"));
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

async function checkCards(page, base) {
  const state = (await call(base, "GET", "/debug/state")).json;
  const lics = state.licenses || [];
  if (!lics.length) {
    check("no licences: the page says so", await page.isVisible("#no-licences"));
    check("no licences: no cards", !(await page.isVisible("#cards")));
    return false;
  }
  const l = lics[0];
  const daily = await page.textContent("#card-daily .v");
  check("daily card matches the API", daily === l.usedHours.toFixed(2) + " Hours Used / " + l.dailyHours +
    " hours Total", daily);
  const slots = await page.textContent("#card-slots .v");
  check("vGPU usage card matches the API", slots === l.usedSlots + "/" + l.maxSlots + " Used", slots);
  const a = await page.textContent("#card-reset .v");
  await page.waitForTimeout(2100);
  check("the reset countdown moves", a !== (await page.textContent("#card-reset .v")));
  return true;
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

async function checkPhone(page) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  check("no sideways scrolling of the page at 390 px", w <= 390, "scrollWidth " + w);
  await page.screenshot({ path: path.join(BUILD, "dashboard-390.png"), fullPage: true });
}

async function checkLabels(page) {
  const unlabelled = await page.$$eval("select, input", (els) =>
    els.filter((e) => !e.labels || !e.labels.length).map((e) => e.id));
  check("every control has a label", unlabelled.length === 0, unlabelled.join(","));
  const kebabs = await page.$$eval("button.kebab", (b) => b.every((x) => x.getAttribute("aria-label")));
  check("every ⋮ button is named", kebabs);
}

// The licence and queue engines fill /debug/state's "licenses" and "queues"
// (SPEC section 7); until they do, this page is served those sections in
// the SPEC's format, the rest of the answers being the daemon's own.
const SPEC_LICENCE = { name: "acme", dailyHours: 96, usedHours: 12.5, remainingHours: 83.5,
  resetInSeconds: 3725, maxSlots: 16, usedSlots: 16, waiting: 1 };
const SPEC_QUEUES = [
  { name: "team-a", quota: 2, limit: -1, overQuotaWeight: 1, allocated: 3, fairShare: 2, pending: 0 },
  { name: "team-b", quota: 2, limit: 3, overQuotaWeight: 1, allocated: 1, fairShare: 2, pending: 1 }];

async function specShaped(browser, base) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(T);
  await page.addInitScript((t) => sessionStorage.setItem("vgpu-extender.token", t), TOKEN);
  const real = async (route) => (await call(base, "GET", new URL(route.request().url()).pathname)).json;
  let servedQueues = 0;
  await page.route("**/debug/state", async (route) => {
    const st = await real(route);
    if (!st.licenses || !st.licenses.length) st.licenses = [SPEC_LICENCE];
    if (!st.queues || !st.queues.length) st.queues = SPEC_QUEUES;
    servedQueues = st.queues.length;
    route.fulfill({ json: st });
  });
  await page.route("**/api/v1/jobs", async (route) => {
    const jobs = (await real(route)).map((j) => Object.assign(j, { license: j.license || "acme" }));
    route.fulfill({ json: jobs });
  });
  await page.goto(base + "/");
  await page.waitForSelector("#cards:not([hidden])");
  check("SPEC-shaped licence: daily card", (await page.textContent("#card-daily .v")) ===
    "12.50 Hours Used / 96 hours Total");
  check("SPEC-shaped licence: remaining card", (await page.textContent("#card-remaining .v")) === "83.50 Hours");
  check("SPEC-shaped licence: vGPU usage card", (await page.textContent("#card-slots .v")) === "16/16 Used");
  check("SPEC-shaped licence: full licence with waiting jobs warns", await page.isVisible("#warning"));
  const a = await page.textContent("#card-reset .v");
  await page.waitForTimeout(2100);
  const b = await page.textContent("#card-reset .v");
  check("SPEC-shaped licence: the reset countdown moves", a !== b && /^01:0[12]:\d\d$/.test(b), a + " -> " + b);
  check("queues: one bar per queue", servedQueues > 0 &&
    (await page.$$("#queues .bar")).length === servedQueues);
  await page.screenshot({ path: path.join(BUILD, "dashboard-spec-1280.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(BUILD, "dashboard-spec-390.png"), fullPage: true });
  await page.close();
}

async function run(browser, base) {
  // training and filler half-fill every card; too-big (2 x 20000 MiB) then waits, and could
  // run once they leave: a waiting row, not an Unschedulable one.
  for (const p of [pod("inference", 1, 3000, 30), pod("training", 2, 12000, 50),
                   pod("filler", 2, 12000, 50), pod("too-big", 2, 20000, 10)])
    check("created " + p.metadata.name, (await call(base, "POST", "/api/v1/pods", p)).status === 201);
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
  await checkCards(page, base);
  await checkTable(page, base);
  check("nodes panel lists the nodes' GPUs", (await page.$$("#nodes .gpu")).length === 4);
  await checkLabels(page);
  await page.waitForTimeout(1100);
  await page.click("#refresh");
  await page.waitForFunction((c) => document.getElementById("clock").textContent !== c, clock);
  check("the page's clock moves on refresh", true);
  await page.screenshot({ path: path.join(BUILD, "dashboard-1280.png"), fullPage: true });
  await specShaped(browser, base);
  await checkDelete(page, base);
  await checkErrors(page, base);
  await checkPhone(page);
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "vx-browser-"));
  const { proc, base } = await startDaemon(tmp);
  const exited = new Promise((r) => proc.on("exit", (code, sig) => r(code === null ? sig : code)));
  const browser = await launch();
  try {
    if (browser) await run(browser, base);
  } catch (e) {
    check("browser test ran to the end", false, e.stack);
  } finally {
    if (browser) await browser.close();
    proc.kill("SIGTERM");
    const code = await exited;
    check("the daemon exits cleanly", code === 0, "exit " + code + "\n" +
      fs.readFileSync(path.join(tmp, "daemon.log"), "utf8").slice(-3000));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(passed + " passed, " + failed + " failed");
  process.exit(failed ? 1 : 0);
}

main();
