// Manage computers: the list with status, add (after an optional connection test), edit and
// remove after a confirmation. Server errors are shown beside the field they name. An address
// typed without a scheme is completed to the agent's usual http://HOST:8000.
import { $, ago, api, busy, cell, clearErrors, el, formData, frame, itemForm, loadRows, notice, percent, rowButton, showError, statusBadge } from "./app.js";

const form = $("#computer-form");
const tbody = $("#computers tbody");
const result = $("#test-result");
const say = notice($("#list-message"));

// ---- list ---------------------------------------------------------------------------------

function row(c) {
  const tr = el("tr");
  tr.dataset.id = String(c.id);
  cell(tr, "Status", statusBadge(c));
  const name = el("div", "cell-name");
  name.append(el("strong", null, c.name));
  if (c.hostname && c.hostname !== c.name) name.append(el("span", "muted small", c.hostname));
  cell(tr, "Name", name);
  const where = el("div");
  where.append(c.kind === "local" ? el("span", "muted", "this server's own host") : el("code", "url", c.url));
  if (c.token_hint) where.append(el("span", "muted small token-hint", `token ${c.token_hint}`));
  cell(tr, "Address", where);
  const seen = el("div");
  seen.append(el("span", null, c.last_seen ? ago(c.last_seen) : "never"));
  if (c.status !== "online" && c.status_reason) seen.append(el("span", `small reason-${c.status}`, c.status_reason));
  cell(tr, "Last seen", seen);
  const actions = el("div", "row-actions");
  actions.append(rowButton("Edit", "secondary", `Edit ${c.name}`, (e) => editor.edit(c, e.currentTarget)));
  if (c.kind !== "local") {
    actions.append(rowButton("Remove", "danger-outline", `Remove ${c.name}`, (e) => editor.remove(c, e.currentTarget)));
  }
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

function load() {
  return loadRows(tbody, { url: "/api/computers", row, say, what: "computers", empty: $("#none") });
}

// ---- form ---------------------------------------------------------------------------------

/**
 * An agent's address as typed, completed: without a scheme it gets `http://`, and then
 * without a port the agent's default 8000 (`pi.local` → `http://pi.local:8000`). An address
 * with a scheme is left as typed, for the server to check.
 */
function completeAddress(typed) {
  const v = typed.trim();
  if (!v || /^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return v;
  const m = v.match(/^(\[[^\]/]*\]|[^/:[\]]+)(:\d*)?(\/.*)?$/);
  if (!m) return `http://${v}`;
  const port = m[2] && m[2] !== ":" ? m[2] : ":8000";
  return `http://${m[1]}${port}${m[3] || ""}`;
}

/** Completes the address field in place, so what is sent is what the user sees. */
function completeUrlField() {
  const url = $("#url");
  if (url.disabled) return;
  const done = completeAddress(url.value);
  if (done !== url.value) url.value = done;
}

/** The token hint for a new agent: where the agent keeps its token. */
function tokenHint() {
  return [
    "Printed by the agent when started by hand. Under systemd it is in ",
    el("code", null, "/var/lib/lanstat-agent/token"),
    " (read it with sudo); otherwise in ",
    el("code", null, "client_token.txt"),
    " where the agent was started.",
  ];
}

const editor = itemForm(form, {
  url: "/api/computers",
  say,
  reload: load,
  added: "Its figures appear after the next poll.",
  removing: "It will no longer be polled, and its history will be deleted.",
  prepare(body) {
    // A new error below must not sit under an old test's result.
    result.hidden = true;
    completeUrlField();
    if (body.url !== undefined) body.url = $("#url").value;
    if (!editor.editing) delete body.enabled;
    return body;
  },
  onReset() {
    result.hidden = true;
    $("#enabled-field").hidden = true;
    $("#url").disabled = false;
    $("#token").disabled = false;
    $("#test").hidden = false;
    $("#token").placeholder = "";
    $("#token-hint").replaceChildren(...tokenHint());
  },
  fill(c) {
    $("#enabled-field").hidden = false;
    $("#name").value = c.name;
    $("#enabled").checked = c.enabled !== false;
    const local = c.kind === "local";
    $("#url").value = local ? "" : c.url;
    $("#url").disabled = local;
    $("#token").disabled = local;
    $("#test").hidden = local;
    $("#token").placeholder = local ? "" : `unchanged (${c.token_hint || "kept"})`;
    $("#token-hint").textContent = local
      ? "This server samples its own host; there is no agent to reach."
      : "Leave empty to keep the current token.";
  },
});

function showResult(r) {
  result.replaceChildren();
  result.className = `test-result ${r.ok ? "ok" : "bad"}`;
  if (r.ok) {
    result.append(el("strong", null, "Connected."));
    const os = [r.system, r.os_version].filter(Boolean).join(" ");
    const details = [
      `${r.hostname}${os ? ` (${os})` : ""} answered in ${r.elapsed_ms} ms`,
      `CPU ${percent(r.cpu_percent)}`,
      r.memory ? `memory ${percent(r.memory.percent)}` : null,
      r.disk ? `disk ${percent(r.disk.percent)}` : null,
      r.agent_version ? `agent ${r.agent_version}` : null,
    ].filter(Boolean);
    result.append(el("span", null, ` ${details.join(" · ")}.`));
  } else {
    // The reason says what went wrong first ("wrong token: the agent answered 401"); an
    // unreachable agent's ("connection refused") is led by "Not reachable".
    const reason = String(r.reason || r.message || "");
    const said = r.status === "offline" ? `Not reachable: ${reason}` : reason.charAt(0).toUpperCase() + reason.slice(1);
    const colon = said.indexOf(": ");
    const [head, rest] = colon > 0 ? [said.slice(0, colon + 1), said.slice(colon + 1)] : [said, ""];
    result.append(el("strong", null, head));
    result.append(el("span", null, /[.!?]$/.test(rest || head) ? rest : `${rest}.`));
  }
  result.hidden = false;
}

async function testConnection() {
  clearErrors(form);
  result.hidden = true;
  completeUrlField();
  const body = formData(form);
  const payload = { url: body.url, token: body.token };
  if (editor.editing) payload.id = String(editor.editing.id);
  await busy($("#test"), "Testing…", async () => {
    try {
      showResult(await api("/api/test_connection", { method: "POST", body: payload, timeoutMs: 20000 }));
    } catch (e) {
      showError(form, e.message, e.field === "id" ? null : e.field);
    }
  });
}

$("#test").addEventListener("click", testConnection);
$("#url").addEventListener("change", completeUrlField);
// A result is about the address and token it tested: changing either makes it stale.
for (const id of ["#url", "#token"]) $(id).addEventListener("input", () => (result.hidden = true));

frame().catch(() => {});
load();
setInterval(load, 10000);
