// Alerts: rules (add, edit, turn on and off, remove), channels (add, edit, send a test,
// remove; their secrets come back shortened), and the history of what fired and resolved.
import { $, ago, api, busy, cell, clearErrors, confirmAction, duration, el, formData, frame, rowButton, showError } from "./app.js";

const ruleForm = $("#rule-form");
const channelForm = $("#channel-form");
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
  webhook: ["https://example.lan/hook", "A POST with a JSON body per alert (see the README)."],
  ntfy: ["https://ntfy.sh/my-lab-alerts", "The topic's address; subscribe to it in the ntfy app."],
  discord: ["https://discord.com/api/webhooks/…", "Server settings, Integrations, Webhooks, Copy webhook URL."],
  slack: ["https://hooks.slack.com/services/…", "An incoming webhook of a Slack app."],
  gotify: ["https://gotify.lan", "The Gotify server's address; the token is an application's."],
};
let computers = [];
let rules = [];
let editingRule = null;
let editingChannel = null;

function say(slot, text, kind = "ok") {
  const p = $(slot);
  p.textContent = text;
  p.className = `list-message ${kind}`;
  p.hidden = false;
}

/** Keyboard focus survives a table refresh: the same button in the same row gets it back. */
async function keepFocus(tbody, rebuild) {
  const f = tbody.contains(document.activeElement) ? document.activeElement : null;
  const id = f && f.closest("tr")?.dataset.id;
  const label = f && (f.getAttribute("aria-label") || f.textContent);
  rebuild();
  if (!id) return;
  const again = [...tbody.querySelectorAll(`tr[data-id="${id}"] button, tr[data-id="${id}"] input`)].find(
    (b) => (b.getAttribute("aria-label") || b.textContent) === label,
  );
  if (again) again.focus();
}

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
    rowButton("Edit", "secondary", `Edit the rule ${r.name}`, () => startRuleEdit(r)),
    rowButton("Remove", "danger-outline", `Remove the rule ${r.name}`, (e) => removeRule(r, e.target)),
  );
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

async function loadRules() {
  try {
    [rules, computers] = await Promise.all([api("/api/alerts/rules"), api("/api/computers")]);
    const firing = computers.flatMap((c) => (c.alerts || []).map((a) => ({ ...a, computer: c.name })));
    const tbody = $("#rules tbody");
    await keepFocus(tbody, () => tbody.replaceChildren(...rules.map((r) => ruleRow(r, firing))));
    $("#rules-empty").hidden = rules.length > 0;
    fillComputers();
  } catch (e) {
    say("#rule-message", `Could not load the rules: ${e.message}`, "bad");
  }
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

function resetRuleForm() {
  editingRule = null;
  ruleForm.reset();
  clearErrors(ruleForm);
  $("#rule-form-title").textContent = "Add a rule";
  $("#rule-save").textContent = "Add rule";
  $("#rule-cancel").hidden = true;
  kindChanged();
}

function startRuleEdit(r) {
  resetRuleForm();
  editingRule = r;
  $("#rule-form-title").textContent = `Edit ${r.name}`;
  $("#rule-save").textContent = "Save changes";
  $("#rule-cancel").hidden = false;
  $("#rule-name").value = r.name;
  $("#rule-kind").value = r.kind;
  $("#rule-computer").value = r.computer_id ? String(r.computer_id) : "";
  $("#rule-target").value = r.target || "";
  $("#rule-threshold").value = r.threshold ?? "";
  $("#rule-duration").value = String(r.duration_secs / 60);
  $("#rule-enabled").checked = r.enabled;
  kindChanged();
  ruleForm.scrollIntoView({ block: "start", behavior: "smooth" });
  $("#rule-name").focus();
}

async function saveRule(e) {
  e.preventDefault();
  clearErrors(ruleForm);
  const f = formData(ruleForm);
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
      return;
    }
    body.duration_secs = Math.round(minutes * 60);
  }
  await busy($("#rule-save"), "Saving…", async () => {
    try {
      const r = editingRule
        ? await api(`/api/alerts/rules/${editingRule.id}`, { method: "PUT", body })
        : await api("/api/alerts/rules", { method: "POST", body });
      say("#rule-message", editingRule ? `Saved the rule ${r.name}.` : `Added the rule ${r.name}.`);
      resetRuleForm();
      await loadRules();
    } catch (err) {
      showError(ruleForm, err.message, err.field === "duration_secs" ? "duration_minutes" : err.field);
    }
  });
}

async function toggleRule(r, box) {
  try {
    await api(`/api/alerts/rules/${r.id}`, { method: "PATCH", body: { enabled: box.checked } });
    say("#rule-message", `${r.name} is ${box.checked ? "on" : "off"}.`);
    await loadRules();
  } catch (e) {
    box.checked = !box.checked;
    say("#rule-message", `Could not change ${r.name}: ${e.message}`, "bad");
  }
}

async function removeRule(r, opener) {
  const yes = await confirmAction(`Remove the rule ${r.name}?`, "A firing alert of it ends with a resolved message; its history stays.", "Remove");
  if (!yes) {
    opener.focus();
    return;
  }
  try {
    await api(`/api/alerts/rules/${r.id}`, { method: "DELETE" });
    if (editingRule && editingRule.id === r.id) resetRuleForm();
    say("#rule-message", `Removed the rule ${r.name}.`);
    await loadRules();
  } catch (e) {
    say("#rule-message", `Could not remove ${r.name}: ${e.message}`, "bad");
  }
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
    rowButton("Send test", "secondary", `Send a test to ${c.name}`, (e) => testChannel(c, e.target)),
    rowButton("Edit", "secondary", `Edit the channel ${c.name}`, () => startChannelEdit(c)),
    rowButton("Remove", "danger-outline", `Remove the channel ${c.name}`, (e) => removeChannel(c, e.target)),
  );
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

async function loadChannels() {
  try {
    const list = await api("/api/alerts/channels");
    const tbody = $("#channels tbody");
    await keepFocus(tbody, () => tbody.replaceChildren(...list.map(channelRow)));
    $("#channels-empty").hidden = list.length > 0;
  } catch (e) {
    say("#channel-message", `Could not load the channels: ${e.message}`, "bad");
  }
}

function channelKindChanged() {
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

function resetChannelForm() {
  editingChannel = null;
  channelForm.reset();
  clearErrors(channelForm);
  $("#channel-form-title").textContent = "Add a channel";
  $("#channel-save").textContent = "Add channel";
  $("#channel-cancel").hidden = true;
  channelKindChanged();
}

function startChannelEdit(c) {
  resetChannelForm();
  editingChannel = c;
  $("#channel-form-title").textContent = `Edit ${c.name}`;
  $("#channel-save").textContent = "Save changes";
  $("#channel-cancel").hidden = false;
  $("#channel-name").value = c.name;
  $("#channel-kind").value = c.kind;
  $("#channel-enabled").checked = c.enabled;
  channelKindChanged();
  channelForm.scrollIntoView({ block: "start", behavior: "smooth" });
  $("#channel-name").focus();
}

async function saveChannel(e) {
  e.preventDefault();
  clearErrors(channelForm);
  const body = formData(channelForm);
  await busy($("#channel-save"), "Saving…", async () => {
    try {
      const c = editingChannel
        ? await api(`/api/alerts/channels/${editingChannel.id}`, { method: "PUT", body })
        : await api("/api/alerts/channels", { method: "POST", body });
      say("#channel-message", editingChannel ? `Saved the channel ${c.name}.` : `Added the channel ${c.name}. Send a test to check it.`);
      resetChannelForm();
      await loadChannels();
    } catch (err) {
      showError(channelForm, err.message, err.field);
    }
  });
}

async function testChannel(c, b) {
  await busy(b, "Sending…", async () => {
    try {
      const r = await api(`/api/alerts/channels/${c.id}/test`, { method: "POST", body: {}, timeoutMs: 20000 });
      say("#channel-message", `Test to ${c.name}: ${r.message}.`, r.ok ? "ok" : "bad");
    } catch (e) {
      say("#channel-message", `Could not send a test to ${c.name}: ${e.message}`, "bad");
    }
  });
  await loadChannels();
}

async function removeChannel(c, opener) {
  const yes = await confirmAction(`Remove the channel ${c.name}?`, "Alerts will no longer be sent there.", "Remove");
  if (!yes) {
    opener.focus();
    return;
  }
  try {
    await api(`/api/alerts/channels/${c.id}`, { method: "DELETE" });
    if (editingChannel && editingChannel.id === c.id) resetChannelForm();
    say("#channel-message", `Removed the channel ${c.name}.`);
    await loadChannels();
  } catch (e) {
    say("#channel-message", `Could not remove ${c.name}: ${e.message}`, "bad");
  }
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
ruleForm.addEventListener("submit", saveRule);
$("#rule-cancel").addEventListener("click", resetRuleForm);
$("#channel-kind").addEventListener("change", channelKindChanged);
channelForm.addEventListener("submit", saveChannel);
$("#channel-cancel").addEventListener("click", resetChannelForm);

frame().catch(() => {});
resetRuleForm();
resetChannelForm();
loadRules();
loadChannels();
loadEvents();
setInterval(() => {
  loadRules();
  loadChannels();
  loadEvents();
}, 10000);
