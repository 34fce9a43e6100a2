// Browser tests: a real lanstat-server and lanstat-agent (built by `make e2e`), a fake agent
// with hostile strings, and Debian's Chromium driven by playwright-core. The flows run in
// order in one browser, as a user would go through them. Any console error, page error,
// dialog or request to another host fails the test it happens in.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Where cargo builds: CARGO_TARGET_DIR (relative to where this runs, as cargo reads it) or target/.
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(ROOT, "target");
const OUT = path.join(TARGET, "e2e");
const BIN = path.join(TARGET, "debug");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 360, height: 780 };
const NEW_PASSWORD = "correct horse battery";
const HOSTILE_HOST = "<img src=x onerror=alert(1)>";
const HOSTILE_NAME = "<script>alert(2)</script><b>x</b>";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lanstat-e2e-"));
const children = [];
let server; // { proc, url, username, password }
let agent; // { url, token }
let fake; // http.Server
let browser; // persistent context
let page;
const problems = [];
const allowed = []; // console messages a step expects, as regexes

// ---- processes ----------------------------------------------------------------------------

/** Starts a program and resolves once its output matched every pattern in `want`. */
function start(bin, args, cwd, want) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of ["ADMIN_USERNAME", "ADMIN_PASSWORD", "DATABASE_PATH", "LANSTAT_LISTEN", "LANSTAT_POLL_INTERVAL"]) delete env[k];
    const proc = spawn(bin, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    children.push(proc);
    const found = {};
    const log = [];
    const timer = setTimeout(() => reject(new Error(`${bin} did not start:\n${log.join("\n")}`)), 20000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited with ${code}:\n${log.join("\n")}`));
    });
    proc.stderr.on("data", (d) => log.push(String(d)));
    readline.createInterface({ input: proc.stdout }).on("line", (line) => {
      log.push(line);
      for (const [key, re] of Object.entries(want)) {
        const m = line.match(re);
        if (m && !(key in found)) found[key] = m[1];
      }
      if (Object.keys(found).length === Object.keys(want).length) {
        clearTimeout(timer);
        resolve({ proc, ...found });
      }
    });
  });
}

/** An agent that answers like the original Python client, with hostile strings. */
function startFakeAgent() {
  const body = JSON.stringify({
    cpu_percent: 12.5,
    memory: { total: 8e9, used: 2e9, percent: 25.0 },
    disk: { total: 64e9, used: 16e9, percent: 25.0 },
    network: { bytes_sent: 1000, bytes_recv: 2000 },
    network_usage: { bytes_sent_per_sec: 100.0, bytes_recv_per_sec: 200.0 },
    hostname: HOSTILE_HOST,
    system: "<script>alert(3)</script>",
  });
  const s = http.createServer((req, res) => {
    res.writeHead(req.url === "/systeminfo" ? 200 : 404, { "Content-Type": "application/json" });
    res.end(req.url === "/systeminfo" ? body : "{}");
  });
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

// A reader that goes away (`| head`) would make the runner die on EPIPE without its cleanup,
// leaving the servers running; keep going and clean up instead.
process.stdout.on("error", () => {});

function stopAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}
process.on("exit", stopAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    stopAll();
    process.exit(1);
  });
}

// ---- the browser and its watchdogs --------------------------------------------------------

function watch(p) {
  p.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    const i = allowed.findIndex((re) => re.test(text));
    if (i >= 0) allowed.splice(i, 1);
    else problems.push(`console error on ${p.url()}: ${text}`);
  });
  p.on("pageerror", (e) => problems.push(`page error on ${p.url()}: ${e.message}`));
  p.on("dialog", (d) => {
    problems.push(`a ${d.type()} dialog opened on ${p.url()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
}

/** Fails the running test on anything the watchdogs saw. */
function clean() {
  const seen = problems.splice(0);
  allowed.length = 0;
  assert.deepEqual(seen, [], "the browser reported problems");
}

async function shot(name, { full = false } = {}) {
  await page.waitForTimeout(150); // let bars finish their width transition
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: full });
}

async function login(username, password) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

async function logout() {
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/\/login$/);
}

async function changePassword(current, next) {
  await page.waitForURL(/\/change_password$/);
  await page.getByLabel("Current password").fill(current);
  await page.getByLabel("New password", { exact: true }).fill(next);
  await page.getByLabel("New password again").fill(next);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForURL(`${server.url}/`);
}

/** Fills the Manage page's form and adds a computer; returns the test result's text if asked. */
async function addComputer(name, url, token, { test: testFirst = false } = {}) {
  const form = page.locator("#computer-form");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Agent address").fill(url);
  await form.getByLabel("Token").fill(token);
  let result = null;
  if (testFirst) {
    await form.getByRole("button", { name: "Test connection" }).click();
    await page.locator("#test-result:not([hidden])").waitFor();
    result = await page.locator("#test-result").innerText();
  }
  await form.getByRole("button", { name: "Add computer" }).click();
  await page.locator(".list-message", { hasText: `Added ${name}.` }).waitFor();
  return result;
}

/** A test whose failure leaves a screenshot of the page as it was, beside the others. */
function flow(name, body) {
  test(name, async () => {
    try {
      await body();
    } catch (e) {
      const file = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
      await page?.screenshot({ path: path.join(OUT, `failed-${file}.png`) }).catch(() => {});
      throw e;
    }
  });
}

/** The main nav's links a user can see, and the one marked as the page shown. */
async function nav() {
  const links = page.locator("header.top nav a:visible");
  return { links: await links.allInnerTexts(), current: await page.locator('header.top nav a[aria-current="page"]').innerText() };
}

/** Every label of the page is for an element there, and all that an element is described or
 * labelled by is there too. */
async function referencesHold() {
  const missing = await page.evaluate(() => {
    const gone = [];
    for (const l of document.querySelectorAll("label[for]")) if (!document.getElementById(l.htmlFor)) gone.push(`label for ${l.htmlFor}`);
    for (const attr of ["aria-describedby", "aria-labelledby"]) {
      for (const e of document.querySelectorAll(`[${attr}]`)) {
        for (const id of e.getAttribute(attr).split(" ")) if (!document.getElementById(id)) gone.push(`${attr} ${id}`);
      }
    }
    return gone;
  });
  assert.deepEqual(missing, [], `${page.url()} refers to what is not there`);
}

const card = (name) => page.locator("#cards .computer", { has: page.locator(".card-name", { hasText: name }) });

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const sdir = path.join(tmp, "server");
  const adir = path.join(tmp, "agent");
  mkdirSync(sdir);
  mkdirSync(adir);
  const s = await start(
    path.join(BIN, "lanstat-server"),
    ["--listen", "127.0.0.1:0", "--poll-interval", "1", "--db", path.join(sdir, "stats.db")],
    sdir,
    { addr: /^listening on (\S+)/, username: /^Log in as: (\S+)/, password: /^Password:\s+(\S+)/ },
  );
  server = { ...s, url: `http://${s.addr}` };
  const a = await start(
    path.join(BIN, "lanstat-agent"),
    ["--listen", "127.0.0.1:0", "--sample-interval", "1"],
    adir,
    { addr: /^listening on (\S+)/ },
  );
  // Its banner shows the token in full only on a terminal; the file has it.
  const token = readFileSync(path.join(adir, "client_token.txt"), "utf8").trim();
  agent = { url: `http://${a.addr}`, token, proc: a.proc };
  fake = await startFakeAgent();

  browser = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  browser.setDefaultTimeout(10000);
  const origin = new URL(server.url).host;
  browser.on("request", (req) => {
    const u = new URL(req.url());
    if (u.protocol === "data:") return;
    if (u.host !== origin) problems.push(`request to another host: ${req.url()}`);
    if (u.pathname === "/x") problems.push(`an injected <img src=x> was loaded: ${req.url()}`);
  });
  browser.on("page", watch);
  page = browser.pages()[0] || (await browser.newPage());
  watch(page);
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (fake) fake.close();
  stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

// ---- the flows ----------------------------------------------------------------------------

flow("first login forces a password change, then the new password works", async () => {
  await page.goto(server.url);
  await page.waitForURL(/\/login$/);
  await shot("login-desktop-light");
  await login(server.username, server.password);
  await page.waitForURL(/\/change_password$/);
  assert.ok(await page.locator("#forced").isVisible(), "the forced-change notice shows");
  assert.ok(await page.locator("#back").isHidden(), "no way around the change");
  // A mismatch is caught beside the field before anything is sent.
  await page.getByLabel("Current password").fill(server.password);
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("New password again").fill("something else");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.locator("#confirm_password-error", { hasText: "differ" }).waitFor();
  await page.setViewportSize(PHONE);
  await page.emulateMedia({ colorScheme: "dark" });
  await shot("change-password-phone-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(DESKTOP);
  await changePassword(server.password, NEW_PASSWORD);
  await logout();
  await login(server.username, NEW_PASSWORD);
  await page.waitForURL(`${server.url}/`);
  await page.locator("#cards .computer").first().waitFor();
  assert.equal(await page.locator("#whoami").innerText(), server.username);
  await page.locator("header.top nav a[data-admin]:visible").first().waitFor();
  assert.deepEqual(await nav(), { links: ["Dashboard", "Manage", "Users", "Alerts"], current: "Dashboard" });
  clean();
});

flow("with only the server's own card, the dashboard says how to add the next machine", async () => {
  await page.goto(server.url);
  await page.locator("#cards .computer").first().waitFor();
  const hint = page.locator("#next");
  await hint.waitFor();
  assert.equal(await page.locator("#cards .computer").count(), 1, "only the server's own card");
  assert.match(await hint.innerText(), /start lanstat-agent there, then add it with the address and token it prints\.$/);
  assert.equal(await hint.getByRole("link").getAttribute("href"), "/manage");
  assert.ok(await page.locator("#next-viewer").isHidden());
  await shot("dashboard-one-computer-hint");
  // A viewer cannot add one: the hint says to ask an admin, with no link.
  const pw = "made-up viewer pass 14";
  const made = await page.evaluate(async (password) => {
    const { api } = await import("/static/app.js");
    return api("/api/users", { method: "POST", body: { username: "newcomer", role: "viewer", password } });
  }, pw);
  await logout();
  await login("newcomer", pw);
  await page.waitForURL(`${server.url}/`);
  await hint.waitFor();
  assert.match(await hint.innerText(), /start lanstat-agent there and ask an admin to add it\.$/);
  assert.equal(await hint.getByRole("link").count(), 0, "no link for a viewer");
  await logout();
  await login(server.username, NEW_PASSWORD);
  await page.waitForURL(`${server.url}/`);
  await page.evaluate(async (id) => {
    const { api } = await import("/static/app.js");
    await api(`/api/users/${id}`, { method: "DELETE" });
  }, made.id);
  clean();
});

flow("an agent is added from the Manage page after a connection test", async () => {
  await page.getByRole("link", { name: "Manage" }).click();
  await page.waitForURL(/\/manage$/);
  await page.locator("header.top nav a[data-admin]:visible").first().waitFor();
  assert.deepEqual(await nav(), { links: ["Dashboard", "Manage", "Users", "Alerts"], current: "Manage" });
  const form = page.locator("#computer-form");
  // A bad address is explained beside the address field.
  await form.getByLabel("Name").fill("Workshop");
  await form.getByLabel("Agent address").fill("http://raspberrypi:99999");
  await form.getByLabel("Token").fill("x");
  await referencesHold();
  assert.equal(await form.getByLabel("Agent address").getAttribute("aria-describedby"), "url-hint url-error");
  allowed.push(/status of 422/);
  await form.getByRole("button", { name: "Add computer" }).click();
  const urlError = page.locator("#url-error");
  await urlError.waitFor();
  assert.match(await urlError.innerText(), /port must be a number from 1 to 65535/);
  assert.equal(await form.getByLabel("Agent address").getAttribute("aria-invalid"), "true");

  const result = await addComputer("Workshop", agent.url, agent.token, { test: true });
  assert.match(result, /Connected\./);
  assert.match(result, new RegExp(os.hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  await page.locator("#computers tbody tr", { hasText: "Workshop" }).waitFor();

  // A wrong token and a dead address, so the dashboard shows every status.
  const wrong = await addComputer("Garage NAS", agent.url, "00000000-0000-4000-8000-000000000000", { test: true });
  assert.equal(wrong, "Wrong token: the agent answered 401.");
  await addComputer("Attic Pi", "http://127.0.0.1:9", "a79a6575-3178-44fa-8ed0-48581ae5caec");
  await page.locator("#computers tbody tr", { hasText: "Attic Pi" }).locator(".status-offline").waitFor();
  await shot("manage-desktop-light");
  await page.setViewportSize(PHONE);
  await page.emulateMedia({ colorScheme: "dark" });
  await shot("manage-phone-dark", { full: true });
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(DESKTOP);
  clean();
});

flow("Manage completes a bare address, says a wrong token plainly and clears an old result", async () => {
  await page.goto(`${server.url}/manage`);
  const form = page.locator("#computer-form");
  const address = form.getByLabel("Agent address");
  const result = page.locator("#test-result");
  assert.match(await page.locator("#token-hint").innerText(), /\/var\/lib\/lanstat-agent\/token.*client_token\.txt/);
  assert.match(await page.locator("#url-hint").innerText(), /http:\/\/.*:8000/);
  // No scheme: http:// is added; no port either: the agent's 8000 too.
  await address.fill("raspberrypi.local");
  await address.press("Tab");
  assert.equal(await address.inputValue(), "http://raspberrypi.local:8000");
  const bare = agent.url.replace(/^http:\/\//, "");
  await address.fill(bare);
  await form.getByLabel("Token").fill("00000000-0000-4000-8000-000000000000");
  await form.getByRole("button", { name: "Test connection" }).click();
  await page.locator("#test-result:not([hidden])").waitFor();
  assert.equal(await address.inputValue(), agent.url, "the tested address is the completed one");
  assert.equal(await result.innerText(), "Wrong token: the agent answered 401.");
  assert.equal(await result.locator("strong").innerText(), "Wrong token:");
  await shot("manage-wrong-token");
  // A new error (no name) does not sit under the old result.
  await form.getByLabel("Token").fill(agent.token);
  await form.getByRole("button", { name: "Test connection" }).click();
  await page.locator("#test-result.ok:not([hidden])").waitFor();
  allowed.push(/status of 422/);
  await form.getByRole("button", { name: "Add computer" }).click();
  await page.locator("#name-error:not([hidden])").waitFor();
  assert.ok(await result.isHidden(), "the old result is cleared when the new error shows");
  await page.goto(server.url);
  clean();
});

flow("with a second computer, the hint on adding one is gone", async () => {
  await page.goto(server.url);
  await card("Workshop").waitFor();
  assert.ok((await page.locator("#cards .computer").count()) > 1);
  assert.ok(await page.locator("#next").isHidden(), "no hint with more than one computer");
  clean();
});

flow("the card turns online with real figures and refreshes by itself", async () => {
  await page.getByRole("link", { name: "Dashboard" }).click();
  const c = card("Workshop");
  await c.locator(".status-online").waitFor();
  await c.locator(".meters").waitFor();
  const text = await c.innerText();
  assert.match(text, /Last seen (just now|\d+ s ago)/);
  const figures = await c.locator(".meter-value").allInnerTexts();
  const [cpu, mem, disk] = figures;
  assert.match(cpu, /^\d+(\.\d)? % of \d+ cores$/);
  assert.match(mem, /^[\d.]+ [KMGT]B \/ [\d.]+ [KMGT]B · [\d.]+ %$/);
  assert.match(disk, /^[\d.]+ [KMGT]B \/ [\d.]+ [KMGT]B · [\d.]+ %$/);
  assert.ok(!/^0 B/.test(mem) && !/^0 B/.test(disk), `memory and disk are non-zero: ${mem}, ${disk}`);
  assert.match(await c.locator(".net-up dd").innerText(), /^[\d.]+ (B|KB|MB|GB)\/s$/);
  await card("Garage NAS").locator(".status-error").waitFor();
  assert.match(await card("Garage NAS").locator(".card-reason").innerText(), /wrong token: the agent answered 401/i);
  await card("Attic Pi").locator(".status-offline[title]").waitFor();
  assert.match(await card("Attic Pi").locator(".status").getAttribute("title"), /refused/, "the reason shows on hover");
  assert.match(await card("Attic Pi").locator(".card-reason").innerText(), /refused/, "and in text");

  const before = await page.locator("#updated").innerText();
  await page.waitForFunction((b) => document.querySelector("#updated").textContent !== b, before, { timeout: 5000 });
  clean();
});

flow("screenshots of the dashboard in both themes, desktop and phone", async () => {
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize(DESKTOP);
    await card("Workshop").locator(".status-online").waitFor();
    await shot(`dashboard-desktop-${scheme}`);
    await page.setViewportSize(PHONE);
    await shot(`dashboard-phone-${scheme}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no sideways scrolling at 360 px (page is ${width} px wide)`);
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(DESKTOP);
  clean();
});

flow("the password page drops a stale error when the browser's own check stops the form", async () => {
  await page.goto(`${server.url}/change_password`);
  const differ = page.locator("#confirm_password-error");
  const mismatch = async () => {
    await page.getByLabel("Current password").fill(NEW_PASSWORD);
    await page.getByLabel("New password", { exact: true }).fill("long enough one");
    await page.getByLabel("New password again").fill("long enough two");
    await page.getByRole("button", { name: "Change password" }).click();
    await differ.filter({ hasText: "differ" }).waitFor();
  };
  // Editing the field an error is about clears it.
  await mismatch();
  await page.getByLabel("New password again").fill("long enough one!");
  assert.ok(await differ.isHidden(), "the error goes as its field is edited");
  // The browser refuses a short password before any script runs: the old error goes too.
  await mismatch();
  await page.getByLabel("New password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Change password" }).click();
  assert.ok(await page.evaluate(() => document.querySelector("#new_password").validity.tooShort), "minlength stopped it");
  assert.ok(await differ.isHidden(), "no stale error beside the browser's own message");
  assert.equal(await page.locator("#change-password .field-error:not([hidden]), #change-password .form-error:not([hidden])").count(), 0);
  assert.match(page.url(), /\/change_password$/, "nothing was sent");
  await shot("change-password-short");
  await page.goto(server.url);
  clean();
});

flow("a link to /logout only asks; its button, or the password page's, logs out", async () => {
  await page.goto(`${server.url}/logout`);
  const button = page.getByRole("button", { name: "Log out" });
  await button.waitFor();
  await shot("logout");
  await page.goto(server.url);
  await page.locator("#cards .computer").first().waitFor();
  assert.match(page.url(), /\/$/, "still logged in after the GET");
  await page.goto(`${server.url}/logout`);
  await button.click();
  await page.waitForURL(/\/login$/);
  await login(server.username, NEW_PASSWORD);
  await page.waitForURL(`${server.url}/`);
  // The password page's Log out is the same form's button.
  await page.goto(`${server.url}/change_password`);
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/\/login$/);
  await page.goto(server.url);
  await page.waitForURL(/\/login$/);
  await login(server.username, NEW_PASSWORD);
  await page.waitForURL(`${server.url}/`);
  clean();
});

flow("a computer is edited and removed after a confirmation", async () => {
  await page.goto(`${server.url}/manage`);
  const row = page.locator("#computers tbody tr", { hasText: "Attic Pi" });
  await row.getByRole("button", { name: "Edit Attic Pi" }).click();
  const form = page.locator("#computer-form");
  assert.equal(await form.getByLabel("Name").inputValue(), "Attic Pi");
  await form.getByLabel("Name").fill("Attic Pi 4");
  await form.getByRole("button", { name: "Save changes" }).click();
  await page.locator(".list-message", { hasText: "Saved Attic Pi 4" }).waitFor();
  const renamed = page.locator("#computers tbody tr", { hasText: "Attic Pi 4" });
  await renamed.waitFor();
  assert.equal(await page.locator("#form-title").innerText(), "Add a computer", "the form is back to adding");
  assert.equal(await form.locator("button[type=submit]").innerText(), "Add computer");

  // Cancel leaves an edit unsaved and gives the focus back to the row's Edit button.
  await renamed.getByRole("button", { name: "Edit Attic Pi 4" }).click();
  await form.getByLabel("Name").fill("Not saved");
  await form.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await form.getByLabel("Name").inputValue(), "");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Edit Attic Pi 4");

  // Cancel keeps it; confirming removes it.
  await renamed.getByRole("button", { name: "Remove Attic Pi 4" }).click();
  await page.locator("dialog.confirm").getByRole("button", { name: "Cancel" }).click();
  assert.equal(await renamed.count(), 1);
  await renamed.getByRole("button", { name: "Remove Attic Pi 4" }).click();
  await page.locator("dialog.confirm").getByRole("button", { name: "Remove" }).click();
  await page.locator(".list-message", { hasText: "Removed Attic Pi 4" }).waitFor();
  await renamed.waitFor({ state: "detached" });
  clean();
});

flow("a viewer sees the dashboard but is refused the admin pages", async () => {
  await page.goto(`${server.url}/users`);
  await referencesHold();
  const form = page.locator("#user-form");
  await form.getByLabel("User name").fill("guest");
  await form.getByLabel("Role").selectOption("viewer");
  await form.getByRole("button", { name: "Add user" }).click();
  const secret = page.locator("#secret .secret-value");
  await secret.waitFor();
  const password = await secret.innerText();
  assert.ok(password.length >= 12, "a generated password is shown once");
  await page.locator("#users tbody tr", { hasText: "guest" }).locator(".badge.warn").waitFor();

  // An API token: made here and shown once, it reads the API; revoked, it reads nothing.
  const tokens = page.locator("#api-tokens");
  await tokens.getByLabel("Token name").fill("home-assistant");
  await tokens.getByRole("button", { name: "Create token" }).click();
  const token = await page.locator("#token-secret .secret-value").innerText();
  assert.match(token, /^lst_[0-9a-f]{64}$/);
  await tokens.locator("#tokens tbody tr", { hasText: "home-assistant" }).waitFor();
  const withToken = () => fetch(`${server.url}/api/computers`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal((await withToken()).status, 200, "the token reads the API");
  await shot("users-desktop-light");
  // A name taken already (409, code "conflict") is the name field's fault.
  await tokens.getByLabel("Token name").fill("home-assistant");
  allowed.push(/status of 409/);
  await tokens.getByRole("button", { name: "Create token" }).click();
  await page.locator("#token-name-error", { hasText: "exists already" }).waitFor();
  assert.equal(await tokens.getByLabel("Token name").getAttribute("aria-invalid"), "true");
  await tokens.getByRole("button", { name: "Revoke the token home-assistant" }).click();
  await page.locator("dialog.confirm").getByRole("button", { name: "Revoke" }).click();
  await page.locator("#token-message", { hasText: "Revoked home-assistant" }).waitFor();
  assert.equal((await withToken()).status, 401, "a revoked token is refused");
  await logout();

  await login("guest", password);
  await changePassword(password, "guest password 1");
  await card("Workshop").waitFor();
  assert.deepEqual(await nav(), { links: ["Dashboard"], current: "Dashboard" });
  assert.equal(await page.getByRole("link", { name: "Manage" }).count(), 0, "no admin links for a viewer");
  assert.equal(await page.getByRole("link", { name: "Users" }).count(), 0);
  for (const p of ["/manage", "/users"]) {
    allowed.push(/status of 403/);
    const res = await page.goto(`${server.url}${p}`);
    assert.equal(res.status(), 403, `${p} is refused`);
    await page.getByRole("heading", { name: "Admins only" }).waitFor();
  }
  allowed.push(/status of 403/);
  const api = await page.evaluate(async () => (await fetch("/api/users")).status);
  assert.equal(api, 403);
  allowed.push(/status of 403/);
  const add = await page.evaluate(
    async () =>
      (
        await fetch("/api/computers", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ name: "x", url: "http://127.0.0.1:9", token: "t" }),
        })
      ).status,
  );
  assert.equal(add, 403);
  await page.goto(`${server.url}/change_password`);
  await page.getByRole("button", { name: "Change password" }).waitFor();
  await page.goto(server.url);
  await logout();
  allowed.length = 0;
  clean();
});

flow("a script told to change the password or to log in again goes there", async () => {
  // Reset the guest's password; the guest logs in with it and must change it.
  await login(server.username, NEW_PASSWORD);
  await page.waitForURL(`${server.url}/`);
  await page.goto(`${server.url}/users`);
  await page.getByRole("button", { name: "Reset the password of guest" }).click();
  await page.locator("dialog.confirm").getByRole("button", { name: "Reset password" }).click();
  const password = await page.locator("#secret .secret-value").innerText();
  await logout();
  await login("guest", password);
  await page.waitForURL(/\/change_password$/);
  // An API call now is refused with the code password_change_required, and the page goes to
  // the password page.
  allowed.push(/status of 403/);
  const reloaded = page.waitForEvent("load");
  const refused = await page.evaluate(async () => {
    const { api } = await import("/static/app.js");
    try {
      await api("/api/computers");
      return null;
    } catch (e) {
      return { status: e.status, code: e.code };
    }
  });
  assert.deepEqual(refused, { status: 403, code: "password_change_required" });
  await reloaded;
  await changePassword(password, "guest password 2");
  await card("Workshop").waitFor();
  // A session that ends under an open dashboard: its next refresh goes to the login page.
  allowed.push(/status of 401/);
  await browser.clearCookies();
  await page.waitForURL(/\/login$/);
  clean();
});

flow("hostile names and hostnames are shown as text and run nothing", async () => {
  await login(server.username, NEW_PASSWORD);
  await page.waitForURL(`${server.url}/`);
  await page.goto(`${server.url}/manage`);
  const url = `http://127.0.0.1:${fake.address().port}`;
  const result = await addComputer(HOSTILE_NAME, url, "any-token", { test: true });
  assert.ok(result.includes(HOSTILE_HOST), "the test result shows the hostname as text");
  await page.locator("#computers tbody tr", { hasText: HOSTILE_NAME }).waitFor();
  await page.goto(server.url);
  const c = card(HOSTILE_NAME);
  await c.locator(".status-online").waitFor();
  assert.ok((await c.locator(".card-sub").innerText()).includes(HOSTILE_HOST));
  await c.click();
  await page.locator("#detail").waitFor();
  assert.equal(await page.locator("#detail-title").innerText(), HOSTILE_NAME);
  await page.keyboard.press("Escape");
  const injected = await page.evaluate(() => ({
    imgs: document.querySelectorAll("main img, dialog img").length,
    scripts: [...document.scripts].filter((s) => !s.src).length,
    bold: document.querySelectorAll("#cards b").length,
  }));
  assert.deepEqual(injected, { imgs: 0, scripts: 0, bold: 0 });
  await page.waitForTimeout(500);
  clean();
});

flow("the modal draws the history charts, switches ranges, zooms and closes with Esc", async () => {
  const dialog = page.locator("#detail");
  await page.goto(server.url);
  await card("Workshop").click();
  await dialog.waitFor();
  const loaded = (range) => page.locator(`#detail-charts[data-loaded^="${range}:"]`).waitFor();
  const values = (chart) => page.locator(`figure[data-chart="${chart}"]`).getAttribute("data-values").then(Number);
  await loaded("24h");
  assert.equal(await page.locator("#detail-title").innerText(), "Workshop");
  for (const chart of ["net", "cpu", "mem", "disk"]) {
    assert.ok((await values(chart)) >= 1, `${chart} chart has data`);
    assert.equal(await page.locator(`figure[data-chart="${chart}"] canvas`).count(), 1);
  }
  // Without a sensor the temperature chart says so instead of drawing nothing.
  if ((await card("Workshop").locator(".fact dt", { hasText: "Temperature" }).count()) === 0) {
    assert.match(await page.locator('figure[data-chart="temp"] .chart-empty').innerText(), /no temperature sensor/);
  } else {
    assert.ok((await values("temp")) >= 1, "temp chart has data");
  }

  // At 1 h the buckets are a few seconds wide: a line of several points per chart.
  await page.getByRole("button", { name: "1 h", exact: true }).click();
  await loaded("1h");
  for (const chart of ["net", "cpu", "mem", "disk"]) {
    assert.ok((await values(chart)) >= 3, `${chart} chart has several points at 1 h`);
  }

  // Hovering shows a tooltip with the values.
  const over = page.locator('figure[data-chart="cpu"] .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
  await page.locator('figure[data-chart="cpu"] .chart-tip:not([hidden])').waitFor();
  assert.match(await page.locator('figure[data-chart="cpu"] .chart-tip').innerText(), /CPU:\s+[\d.]+ %/);
  await page.screenshot({ path: path.join(OUT, "modal-desktop-light.png") });

  for (const [label, range] of [["7 d", "7d"], ["30 d", "30d"], ["1 y", "1y"], ["24 h", "24h"]]) {
    await page.getByRole("button", { name: label, exact: true }).click();
    await loaded(range);
    assert.equal(await page.getByRole("button", { name: label, exact: true }).getAttribute("aria-pressed"), "true");
    assert.ok((await values("cpu")) >= 1, `cpu chart has data at ${range}`);
  }

  // A drag across a chart zooms into that window; reset goes back to the range.
  await page.getByRole("button", { name: "1 h", exact: true }).click();
  await loaded("1h");
  const o = await over.boundingBox();
  await page.mouse.move(o.x + o.width * 0.3, o.y + o.height / 2);
  await page.mouse.down();
  await page.mouse.move(o.x + o.width - 1, o.y + o.height / 2, { steps: 8 });
  await page.mouse.up();
  await loaded("zoom");
  assert.ok(await page.locator("#reset-zoom").isVisible());
  assert.ok((await values("cpu")) >= 1, "the zoomed chart has data");
  await page.getByRole("button", { name: "Reset zoom" }).click();
  await loaded("1h");
  assert.ok(await page.locator("#reset-zoom").isHidden());

  // Focus stays inside while it is open.
  for (let i = 0; i < 12; i++) await page.keyboard.press("Tab");
  assert.ok(await page.evaluate(() => document.querySelector("#detail").contains(document.activeElement)));
  // The cards refresh behind the open modal; closing it still hands the focus back to the card.
  const before = await page.locator("#updated").getAttribute("datetime");
  await page.waitForFunction((t) => document.querySelector("#updated").dateTime !== t, before);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  const focusedCard = () => document.activeElement.closest(".computer")?.querySelector(".card-name").textContent;
  // The close event that restores it runs just after the dialog hides.
  await page.waitForFunction(focusedCard, null, { timeout: 3000 }).catch(() => {});
  assert.equal(await page.evaluate(focusedCard), "Workshop", "focus is back on the card");
  // Later refreshes keep that very button, so a screen reader is not sent back to it each time.
  const focused = await page.evaluateHandle(() => document.activeElement);
  const closedAt = await page.locator("#updated").getAttribute("datetime");
  await page.waitForFunction((t) => document.querySelector("#updated").dateTime !== t, closedAt);
  assert.ok(await focused.evaluate((b) => b.isConnected && document.activeElement === b), "a refresh keeps the focused button");
  await focused.dispose();

  // A click outside closes it too; so does the X.
  await card("Workshop").click();
  await dialog.waitFor();
  await page.mouse.click(5, 5);
  await dialog.waitFor({ state: "hidden" });
  await card("Workshop").getByRole("button", { name: "Workshop" }).press("Enter");
  await dialog.waitFor();
  await page.getByRole("button", { name: "Close" }).click();
  await dialog.waitFor({ state: "hidden" });

  // The phone layout of the modal.
  await page.setViewportSize(PHONE);
  await page.emulateMedia({ colorScheme: "dark" });
  await card("Workshop").click();
  await page.getByRole("button", { name: "1 h", exact: true }).click();
  await loaded("1h");
  await page.screenshot({ path: path.join(OUT, "modal-phone-dark.png") });
  await page.keyboard.press("Escape");
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(DESKTOP);
  clean();
});

flow("a server that stops answering shows a banner, and the page recovers by itself", async () => {
  await page.goto(server.url);
  await card("Workshop").waitFor();
  server.proc.kill("SIGSTOP");
  try {
    await page.locator("#banner:not([hidden])").waitFor({ timeout: 12000 });
    assert.match(await page.locator("#banner").innerText(), /not answering/);
    await shot("dashboard-server-down");
  } finally {
    server.proc.kill("SIGCONT");
  }
  await page.locator("#banner").waitFor({ state: "hidden", timeout: 12000 });
  await card("Workshop").locator(".status-online").waitFor({ timeout: 10000 });
  assert.equal(await page.locator("#cards.stale").count(), 0, "the cards are no longer dimmed");

  // The server's stall leaves no hole: the agent kept sampling, and the server fills it from
  // the agent's recent samples. An agent that stops does leave one (nobody sampled), and a
  // zoom into it shows a gap, not a line across.
  agent.proc.kill("SIGSTOP");
  try {
    await page.waitForTimeout(5000);
  } finally {
    agent.proc.kill("SIGCONT");
  }
  await card("Workshop").locator(".status-online").waitFor({ timeout: 15000 });
  await page.waitForTimeout(2500);
  await card("Workshop").click();
  await page.getByRole("button", { name: "1 h", exact: true }).click();
  await page.locator('#detail-charts[data-loaded^="1h:"]').waitFor();
  const o = await page.locator('figure[data-chart="cpu"] .u-over').boundingBox();
  await page.mouse.move(o.x + o.width * 0.55, o.y + o.height / 2);
  await page.mouse.down();
  await page.mouse.move(o.x + o.width - 1, o.y + o.height / 2, { steps: 8 });
  await page.mouse.up();
  await page.locator('#detail-charts[data-loaded^="zoom:"]').waitFor();
  const fig = page.locator('figure[data-chart="cpu"]');
  const points = Number(await fig.getAttribute("data-points"));
  const values = Number(await fig.getAttribute("data-values"));
  assert.ok(values >= 3 && values < points, `a gap among the points (${values} values in ${points} points)`);
  await page.keyboard.press("Escape");
  clean();
});

/** A webhook receiver on loopback: records every POST's path and JSON body. */
function startReceiver() {
  const got = [];
  const s = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      let json = null;
      try {
        json = JSON.parse(body);
      } catch {
        // recorded as null: the test fails on it
      }
      got.push({ method: req.method, path: req.url, json });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end("{}");
    });
  });
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve({ server: s, got })));
}

async function until(what, pred, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

flow("alerts: a channel and a rule made on the Alerts page, a test arrives, the card is marked", async () => {
  const rx = await startReceiver();
  try {
    await page.goto(server.url);
    await page.getByRole("link", { name: "Alerts" }).click();
    await page.waitForURL(/\/alerts$/);
    await referencesHold();
    // The defaults of a fresh install are listed.
    for (const name of ["Offline", "Disk almost full", "Memory high", "Hot"]) {
      await page.locator("#rules tbody tr", { hasText: name }).waitFor();
    }

    const channels = page.locator("#channel-form");
    await channels.getByLabel("Name").fill("Lab hook");
    await channels.getByLabel("Kind").selectOption("webhook");
    await channels.getByLabel("Address").fill(`http://127.0.0.1:${rx.server.address().port}/hook/s3cretpath`);
    await channels.getByRole("button", { name: "Add channel" }).click();
    await page.locator("#channel-message", { hasText: "Added the channel Lab hook. Send a test to check it." }).waitFor();
    const row = page.locator("#channels tbody tr", { hasText: "Lab hook" });
    await row.waitFor();
    assert.ok(!(await row.innerText()).includes("s3cret"), "the address is shown shortened");
    await row.getByRole("button", { name: "Send a test to Lab hook" }).click();
    await page.locator("#channel-message", { hasText: "Delivered" }).waitFor();
    await until("the test message", () => rx.got.some((r) => r.json?.event === "test"));
    const test = rx.got.find((r) => r.json?.event === "test");
    assert.equal(test.method, "POST");
    assert.equal(test.path, "/hook/s3cretpath");
    assert.match(test.json.message, /Lab hook/);
    await row.locator(".ok-text", { hasText: "Delivered" }).waitFor();

    // A threshold out of range is explained beside its field.
    const rules = page.locator("#rule-form");
    await rules.getByLabel("Name").fill("Workshop busy");
    await rules.getByLabel("Watch").selectOption("cpu");
    await rules.getByLabel("Computer").selectOption({ label: "Workshop" });
    await rules.getByLabel(/At or above/).fill("150");
    await rules.getByLabel(/For at least/).fill("0");
    allowed.push(/status of 422/);
    await rules.getByRole("button", { name: "Add rule" }).click();
    await page.locator("#rule-threshold-error", { hasText: "percentage" }).waitFor();
    // CPU at or above 0 % holds at once: it fires at the next poll.
    await rules.getByLabel(/At or above/).fill("0");
    await rules.getByRole("button", { name: "Add rule" }).click();
    await page.locator("#rule-message", { hasText: "Added the rule Workshop busy." }).waitFor();
    await page.locator("#rules tbody tr", { hasText: "Workshop busy" }).waitFor();
    await until("the fired message", () => rx.got.some((r) => r.json?.event === "fired" && r.json.rule === "Workshop busy"));
    const fired = rx.got.find((r) => r.json?.event === "fired" && r.json.rule === "Workshop busy");
    assert.equal(fired.json.computer, "Workshop");
    assert.equal(fired.json.kind, "cpu");
    await page.locator("#events tbody tr", { hasText: "Workshop busy" }).waitFor({ timeout: 15000 });
    await page.locator("#rules tbody tr", { hasText: "Workshop busy" }).locator(".alert-text", { hasText: "Workshop" }).waitFor({ timeout: 15000 });
    // A full-page shot of a scrolled page draws the sticky header mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot("alerts-desktop-light", { full: true });
    await page.setViewportSize(PHONE);
    await page.emulateMedia({ colorScheme: "dark" });
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot("alerts-phone-dark", { full: true });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no sideways scrolling at 360 px (page is ${width} px wide)`);
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize(DESKTOP);

    await page.getByRole("link", { name: "Dashboard" }).click();
    const mark = card("Workshop").locator(".card-alert");
    await mark.waitFor();
    assert.match(await mark.innerText(), /Alert: Workshop busy/);
    await shot("dashboard-alert-desktop-light");

    // Turning the rule off clears the mark, and the channel hears that the alert ended.
    await page.goto(`${server.url}/alerts`);
    await page.getByRole("checkbox", { name: "Rule Workshop busy is on" }).uncheck();
    await page.locator("#rule-message", { hasText: "Workshop busy is off" }).waitFor();
    const ended = (r) => r.json?.event === "resolved" && r.json.rule === "Workshop busy";
    await until("the resolved message", () => rx.got.some(ended));
    assert.match(rx.got.find(ended).json.message, /ended: the rule was turned off$/);
    await page.goto(server.url);
    await card("Workshop").locator(".status-online").waitFor();
    await mark.waitFor({ state: "detached", timeout: 10000 });

    // A rule removed while it is edited puts its form back to adding; a channel goes too.
    await page.goto(`${server.url}/alerts`);
    await page.getByRole("button", { name: "Edit the rule Workshop busy" }).click();
    assert.equal(await page.locator("#rule-form-title").innerText(), "Edit Workshop busy");
    await page.getByRole("button", { name: "Remove the rule Workshop busy" }).click();
    assert.equal(await page.locator("dialog.confirm h2").innerText(), "Remove the rule Workshop busy?");
    await page.locator("dialog.confirm").getByRole("button", { name: "Remove" }).click();
    await page.locator("#rule-message", { hasText: "Removed the rule Workshop busy." }).waitFor();
    assert.equal(await page.locator("#rule-form-title").innerText(), "Add a rule", "the form is back to adding");
    assert.ok(await page.locator("#rule-cancel").isHidden(), "Cancel is hidden again");
    await page.getByRole("button", { name: "Remove the channel Lab hook" }).click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Remove" }).click();
    await page.locator("#channel-message", { hasText: "Removed the channel Lab hook." }).waitFor();
    await page.locator("#channels-empty").waitFor();
    clean();
  } finally {
    rx.server.close();
  }
});

// ---- a server whose disk is full ----------------------------------------------------------

test("while history is not being recorded the dashboard says so, and stops when it is again", async (t) => {
  // A second server with its database on a 4 MiB tmpfs of its own (a user and mount namespace),
  // filled through the server's own root: a real full disk that touches nothing else.
  const { spawnSync } = await import("node:child_process");
  const fs = await import("node:fs");
  const dir = path.join(tmp, "small-disk");
  const disk = path.join(dir, "disk");
  mkdirSync(disk, { recursive: true });
  const mount = 'mount -t tmpfs -o size=4m tmpfs "$1" && shift && exec "$@"';
  const probe = spawnSync("unshare", ["-rm", "sh", "-c", mount, "sh", disk, "true"], { encoding: "utf8" });
  if (probe.status !== 0) {
    t.skip(`cannot mount a tmpfs in a user namespace here: ${probe.error?.message || probe.stderr.trim()}`);
    return;
  }
  const s = await start(
    "unshare",
    ["-rm", "sh", "-c", mount, "sh", disk, path.join(BIN, "lanstat-server"), "--listen", "127.0.0.1:0", "--poll-interval", "1", "--db", path.join(disk, "stats.db")],
    dir,
    { addr: /^listening on (\S+)/, username: /^Log in as: (\S+)/, password: /^Password:\s+(\S+)/ },
  );
  const url = `http://${s.addr}`;
  // Its own browser, logged in over HTTP: the main one watches for requests to other hosts.
  const send = async (p, body, cookie) => {
    const headers = { "Content-Type": "application/json", Accept: "application/json", Origin: url };
    if (cookie) headers.Cookie = cookie;
    const r = await fetch(`${url}${p}`, { method: "POST", headers, body: JSON.stringify(body) });
    assert.equal(r.status, 200, `${p}: ${await r.text()}`);
    return r.headers.getSetCookie().map((c) => c.split(";")[0]).find((c) => c.startsWith("lanstat_session=")) || cookie;
  };
  let cookie = await send("/login", { username: s.username, password: s.password });
  cookie = await send("/change_password", { current_password: s.password, new_password: NEW_PASSWORD }, cookie);
  const other = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const filler = path.join(`/proc/${s.proc.pid}/root`, disk, "filler");
  try {
    const ctx = await other.newContext({ viewport: DESKTOP });
    ctx.setDefaultTimeout(30000);
    const [name, value] = cookie.split(/=(.*)/s);
    await ctx.addCookies([{ name, value, url }]);
    ctx.on("request", (req) => {
      if (new URL(req.url()).host !== s.addr) problems.push(`request to another host: ${req.url()}`);
    });
    const p = await ctx.newPage();
    watch(p);
    await p.goto(url);
    await p.locator("#cards .computer").first().waitFor();
    assert.ok(await p.locator("#trouble").isHidden(), "no banner while all is well");

    const fd = fs.openSync(filler, "w");
    for (const size of [1 << 20, 4096, 512]) {
      const block = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          fs.writeSync(fd, block);
        } catch (e) {
          if (e.code === "ENOSPC") break;
          throw e;
        }
      }
    }
    fs.closeSync(fd);
    const trouble = p.locator("#trouble");
    await trouble.waitFor();
    assert.equal(await trouble.innerText(), "History is not being recorded: the disk is full.");
    assert.equal(await trouble.getAttribute("role"), "status");
    assert.ok(await p.locator("#banner").isHidden(), "the server still answers");
    await p.screenshot({ path: path.join(OUT, "dashboard-disk-full-desktop-light.png") });

    fs.unlinkSync(filler);
    await trouble.waitFor({ state: "hidden" });
    clean();
  } finally {
    await other.close().catch(() => {});
    s.proc.kill("SIGTERM");
  }
});
