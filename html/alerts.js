// Alerts: rules (add, edit, turn on and off, remove), channels (add, edit, send a test,
// remove; their secrets come back shortened), and the history of what fired and resolved.
import { $, ago, api, attempt, busy, cell, duration, el, frame, itemForm, keepFocus, loadRows, notice, rowButton, showError } from "./app.js";

const ruleForm = $("#rule-form");
const sayRule = notice($("#rule-message"));
const sayChannel = notice($("#channel-message"));
const KIND_TEXT = {
  offline: "Not answering",
  cpu: "CPU",
  memory: "Memory",
  disk: "Disk",
  temperature: "Temperature",
  network: "Network",
  reboot: "Reboot",
};
const TARGET = {
  disk: { label: "Mount point", detail: (d) => (d.disks || []).map((x) => x.mount_point) },
  temperature: { label: "Sensor", detail: (d) => (d.temperatures || []).map((x) => x.label) },
  network: { label: "Interface", detail: (d) => (d.interfaces || []).map((x) => x.name) },
};
const UNIT = { cpu: "%", memory: "%", disk: "%", temperature: "°C", network: "MB/s" };
const CHANNEL_HINT = {
  webhook: ["https://example.lan/hook", "A POST with a JSON body per alert (its fields: docs/alerts.md)."],
  ntfy: ["https://ntfy.sh/my-lab-alerts", "The topic's address; subscribe to it in the ntfy app."],
  discord: ["https://discord.com/api/webhooks/…", "Server settings, Integrations, Webhooks, Copy webhook URL."],
  slack: ["https://hooks.slack.com/services/…", "An incoming webhook of a Slack app."],
  gotify: ["https://gotify.lan", "The Gotify server's address; the token is an application's."],
};
let computers = [];
let rules = [];

// ---- rules --------------------------------------------------------------------------------

function computerName(id) {
  if (id === null || id === undefined) return "all computers";
  const c = computers.find((x) => x.id === id);
  return c ? c.name : `computer ${id}`;
}

/** "CPU ≥ 90 % for 5 min on all computers". */
function describe(r) {
  const where = `on ${computerName(r.computer_id)}`;
  const held = r.duration_secs > 0 ? ` for ${duration(r.duration_secs)}` : "";
  if (r.kind === "offline") return `Not answering${held || " at once"} ${where}`;
  if (r.kind === "reboot") return `Reboot ${where}`;
  const what = r.target ? `${KIND_TEXT[r.kind]} ${r.target}` : KIND_TEXT[r.kind];
  return `${what} ≥ ${r.threshold} ${r.unit}${held} ${where}`;
}

function ruleRow(r, firing) {
  const tr = el("tr");
  tr.dataset.id = String(r.id);
  const on = el("input");
  on.type = "checkbox";
  on.checked = r.enabled;
  on.setAttribute("aria-label", `Rule ${r.name} is on`);
  on.addEventListener("change", () => toggleRule(r, on));
  cell(tr, "On", on);
  const name = el("div", "cell-name");
  name.append(el("strong", null, r.name), el("span", "muted small", describe(r)));
  cell(tr, "Rule", name);
  const where = firing.filter((f) => f.rule_id === r.id).map((f) => f.computer + (f.target ? ` ${f.target}` : ""));
  cell(tr, "Firing", where.length ? el("span", "alert-text", where.join(", ")) : el("span", "muted", "–"));
  const actions = el("div", "row-actions");
  actions.append(
    rowButton("Edit", "secondary", `Edit the rule ${r.name}`, (e) => ruleEditor.edit(r, e.currentTarget)),
    rowButton("Remove", "danger-outline", `Remove the rule ${r.name}`, (e) => ruleEditor.remove(r, e.currentTarget)),
  );
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

async function loadRules() {
  await attempt(sayRule, "Could not load the rules", async () => {
    [rules, computers] = await Promise.all([api("/api/alerts/rules"), api("/api/computers")]);
    const firing = computers.flatMap((c) => (c.alerts || []).map((a) => ({ ...a, computer: c.name })));
    const tbody = $("#rules tbody");
    keepFocus(tbody, () => tbody.replaceChildren(...rules.map((r) => ruleRow(r, firing))));
    $("#rules-empty").hidden = rules.length > 0;
    fillComputers();
  });
}

function fillComputers() {
  const select = $("#rule-computer");
  const chosen = select.value;
  const options = [el("option", null, "All computers")];
  options[0].value = "";
  for (const c of computers) {
    const o = el("option", null, c.name);
    o.value = String(c.id);
    options.push(o);
  }
  select.replaceChildren(...options);
  select.value = chosen;
  if (select.value !== chosen) select.value = "";
}

/** Shows the fields the chosen kind uses, and offers the chosen computer's targets. */
async function kindChanged() {
  const kind = $("#rule-kind").value;
  const target = TARGET[kind];
  $("#target-field").hidden = !target;
  $("#threshold-field").hidden = !UNIT[kind];
  $("#duration-field").hidden = kind === "reboot";
  if (UNIT[kind]) {
    $("#threshold-unit").textContent = `(${UNIT[kind]})`;
    $("#rule-threshold-hint").textContent =
      kind === "network"
        ? "Upload or download of one interface, in megabytes per second; resolves 5 % below."
        : `Resolves when the value falls 2 ${UNIT[kind] === "%" ? "points" : "°C"} below it.`;
  }
  const list = $("#targets");
  list.replaceChildren();
  if (!target) return;
  $("#rule-target-label").textContent = `${target.label} (empty for any)`;
  const id = $("#rule-computer").value;
  if (!id) return;
  try {
    const stats = await api(`/api/stats/${id}`);
    const names = [...new Set(target.detail(stats.detail || {}))];
    list.replaceChildren(
      ...names.map((n) => {
        const o = el("option");
        o.value = n;
        return o;
      }),
    );
  } catch {
    // A computer that never answered has nothing to offer; any name may still be typed.
  }
}

const ruleEditor = itemForm(ruleForm, {
  url: "/api/alerts/rules",
  say: sayRule,
  reload: loadRules,
  called: (r) => `the rule ${r.name}`,
  removing: "A firing alert of it ends with a resolved message; its history stays.",
  onReset: kindChanged,
  fill(r) {
    $("#rule-name").value = r.name;
    $("#rule-kind").value = r.kind;
    $("#rule-computer").value = r.computer_id ? String(r.computer_id) : "";
    $("#rule-target").value = r.target || "";
    $("#rule-threshold").value = r.threshold ?? "";
    $("#rule-duration").value = String(r.duration_secs / 60);
    $("#rule-enabled").checked = r.enabled;
    kindChanged();
  },
  prepare(f) {
    const body = {
      name: f.name,
      kind: f.kind,
      computer_id: f.computer_id,
      enabled: f.enabled,
      target: TARGET[f.kind] ? f.target : "",
    };
    if (UNIT[f.kind]) body.threshold = f.threshold;
    if (f.kind !== "reboot") {
      const minutes = Number(f.duration_minutes || 0);
      if (!Number.isFinite(minutes) || minutes < 0) {
        showError(ruleForm, "the duration must be a number of minutes", "duration_minutes");
        return null;
      }
      body.duration_secs = Math.round(minutes * 60);
    }
    return body;
  },
  // The form asks for minutes, the API for seconds.
  field: (err) => (err.field === "duration_secs" ? "duration_minutes" : err.field),
});

async function toggleRule(r, box) {
  const changed = await attempt(sayRule, `Could not change ${r.name}`, async () => {
    await api(`/api/alerts/rules/${r.id}`, { method: "PATCH", body: { enabled: box.checked } });
    sayRule(`${r.name} is ${box.checked ? "on" : "off"}.`);
    await loadRules();
  });
  if (!changed) box.checked = !box.checked;
}

// ---- channels -----------------------------------------------------------------------------

function channelRow(c) {
  const tr = el("tr");
  tr.dataset.id = String(c.id);
  const name = el("div", "cell-name");
  name.append(el("strong", null, c.name), el("span", "muted small", c.kind + (c.enabled ? "" : " · off")));
  cell(tr, "Channel", name);
  const where = el("div");
  where.append(el("code", "url", c.url));
  if (c.token) where.append(el("span", "muted small token-hint", `token ${c.token}`));
  cell(tr, "Address", where);
  const last = el("div", "delivery");
  const failedLast = c.last_error_at && (!c.last_ok_at || c.last_error_at >= c.last_ok_at);
  if (failedLast) {
    last.append(el("span", "reason-error", `Failed ${ago(c.last_error_at)}`), el("span", "small reason-error", c.last_error));
  } else if (c.last_ok_at) {
    last.append(el("span", "ok-text", `Delivered ${ago(c.last_ok_at)}`));
  } else {
    last.append(el("span", "muted", "Nothing sent yet"));
  }
  cell(tr, "Last", last);
  const actions = el("div", "row-actions");
  actions.append(
    rowButton("Send test", "secondary", `Send a test to ${c.name}`, (e) => testChannel(c, e.currentTarget)),
    rowButton("Edit", "secondary", `Edit the channel ${c.name}`, (e) => channelEditor.edit(c, e.currentTarget)),
    rowButton("Remove", "danger-outline", `Remove the channel ${c.name}`, (e) => channelEditor.remove(c, e.currentTarget)),
  );
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

function loadChannels() {
  return loadRows($("#channels tbody"), {
    url: "/api/alerts/channels",
    row: channelRow,
    say: sayChannel,
    what: "channels",
    empty: $("#channels-empty"),
  });
}

function channelKindChanged() {
  const editingChannel = channelEditor.editing;
  const kind = $("#channel-kind").value;
  const [example, hint] = CHANNEL_HINT[kind];
  $("#channel-url").placeholder = editingChannel ? `unchanged (${editingChannel.url})` : example;
  $("#channel-kind-hint").textContent = hint;
  $("#channel-token-label").textContent = kind === "gotify" ? "Application token" : "Token (optional)";
  const tokenHint = $("#channel-token-hint");
  if (kind === "gotify") tokenHint.textContent = "Sent as X-Gotify-Key.";
  else if (kind === "discord" || kind === "slack") tokenHint.textContent = "Not needed: the address holds the secret.";
  else tokenHint.replaceChildren("Sent as ", el("code", null, "Authorization: Bearer"), ".");
  if (editingChannel && editingChannel.token) tokenHint.append(` Empty keeps the current one (${editingChannel.token}).`);
}

const channelEditor = itemForm($("#channel-form"), {
  url: "/api/alerts/channels",
  say: sayChannel,
  reload: loadChannels,
  called: (c) => `the channel ${c.name}`,
  added: "Send a test to check it.",
  removing: "Alerts will no longer be sent there.",
  onReset: channelKindChanged,
  fill(c) {
    $("#channel-name").value = c.name;
    $("#channel-kind").value = c.kind;
    $("#channel-enabled").checked = c.enabled;
    channelKindChanged();
  },
});

async function testChannel(c, b) {
  await busy(b, "Sending…", () =>
    attempt(sayChannel, `Could not send a test to ${c.name}`, async () => {
      const r = await api(`/api/alerts/channels/${c.id}/test`, { method: "POST", body: {}, timeoutMs: 20000 });
      sayChannel(`Test to ${c.name}: ${r.message}.`, r.ok ? "ok" : "bad");
    }),
  );
  await loadChannels();
}

// ---- history ------------------------------------------------------------------------------

async function loadEvents() {
  try {
    const list = await api("/api/alerts/events?limit=50");
    const rows = list.map((ev) => {
      const tr = el("tr");
      const when = el("time", null, ago(ev.at));
      when.dateTime = new Date(ev.at * 1000).toISOString();
      when.title = new Date(ev.at * 1000).toLocaleString();
      cell(tr, "When", when);
      cell(tr, "Event", el("span", `badge event-${ev.kind}`, ev.kind === "fired" ? "Fired" : "Resolved"));
      cell(tr, "Computer", el("span", null, ev.computer_name));
      cell(tr, "Rule", el("span", null, ev.rule_name));
      cell(tr, "Message", el("span", "small", ev.message));
      return tr;
    });
    $("#events tbody").replaceChildren(...rows);
    $("#events-empty").hidden = list.length > 0;
  } catch {
    // The next refresh tries again; the lists above say when the server is gone.
  }
}

$("#rule-kind").addEventListener("change", kindChanged);
$("#rule-computer").addEventListener("change", kindChanged);
$("#channel-kind").addEventListener("change", channelKindChanged);

frame().catch(() => {});
ruleEditor.reset();
channelEditor.reset();
loadRules();
loadChannels();
loadEvents();
setInterval(() => {
  loadRules();
  loadChannels();
  loadEvents();
}, 10000);
