// Manage computers: the list with status, add (after an optional connection test), edit and
// remove after a confirmation. Server errors are shown beside the field they name.
import {
  $,
  ago,
  api,
  busy,
  cell,
  clearErrors,
  confirmAction,
  el,
  formData,
  frame,
  percent,
  rowButton,
  showError,
  statusBadge,
} from "./app.js";

const form = $("#computer-form");
const tbody = $("#computers tbody");
const result = $("#test-result");
const listMessage = $("#list-message");
let computers = [];
let editing = null; // the computer being edited, or null when adding

function say(text, kind = "ok") {
  listMessage.textContent = text;
  listMessage.className = `list-message ${kind}`;
  listMessage.hidden = false;
}

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
  actions.append(rowButton("Edit", "secondary", `Edit ${c.name}`, () => startEdit(c)));
  if (c.kind !== "local") {
    const remove = rowButton("Remove", "danger-outline", `Remove ${c.name}`, () => removeComputer(c, remove));
    actions.append(remove);
  }
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

async function load() {
  try {
    computers = await api("/api/computers");
    // A refresh must not take the keyboard focus away from the row it was on.
    const focused = tbody.contains(document.activeElement) ? document.activeElement : null;
    const focusId = focused && focused.closest("tr").dataset.id;
    const focusLabel = focused && focused.textContent;
    tbody.replaceChildren(...computers.map(row));
    if (focusId) {
      const again = [...tbody.querySelectorAll(`tr[data-id="${focusId}"] button`)].find((b) => b.textContent === focusLabel);
      if (again) again.focus();
    }
    $("#none").hidden = computers.length > 0;
  } catch (e) {
    say(`Could not load the computers: ${e.message}`, "bad");
  }
}

// ---- form ---------------------------------------------------------------------------------

function resetForm() {
  editing = null;
  form.reset();
  clearErrors(form);
  result.hidden = true;
  $("#form-title").textContent = "Add a computer";
  $("#save").textContent = "Add computer";
  $("#cancel-edit").hidden = true;
  $("#enabled-field").hidden = true;
  $("#url").disabled = false;
  $("#token").disabled = false;
  $("#test").hidden = false;
  $("#token").placeholder = "";
  $("#token-hint").replaceChildren("Printed by the agent at start, and kept in its ", el("code", null, "client_token.txt"), ".");
}

function startEdit(c) {
  resetForm();
  editing = c;
  $("#form-title").textContent = `Edit ${c.name}`;
  $("#save").textContent = "Save changes";
  $("#cancel-edit").hidden = false;
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
  form.scrollIntoView({ block: "start", behavior: "smooth" });
  $("#name").focus();
}

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
    result.append(el("strong", null, r.status === "offline" ? "Not reachable." : "The agent answered, but wrongly."));
    result.append(el("span", null, ` ${r.reason || r.message}.`));
  }
  result.hidden = false;
}

async function testConnection() {
  clearErrors(form);
  result.hidden = true;
  const body = formData(form);
  const payload = { url: body.url, token: body.token };
  if (editing) payload.id = String(editing.id);
  await busy($("#test"), "Testing…", async () => {
    try {
      showResult(await api("/api/test_connection", { method: "POST", body: payload, timeoutMs: 20000 }));
    } catch (e) {
      showError(form, e.message, e.field === "id" ? null : e.field);
    }
  });
}

async function save(e) {
  e.preventDefault();
  clearErrors(form);
  const body = formData(form);
  if (!editing) delete body.enabled;
  await busy($("#save"), "Saving…", async () => {
    try {
      const c = editing
        ? await api(`/api/computers/${editing.id}`, { method: "PUT", body })
        : await api("/api/computers", { method: "POST", body });
      say(editing ? `Saved ${c.name}.` : `Added ${c.name}. Its figures appear after the next poll.`);
      resetForm();
      await load();
    } catch (err) {
      showError(form, err.message, err.field);
    }
  });
}

async function removeComputer(c, button) {
  const yes = await confirmAction(`Remove ${c.name}?`, "It will no longer be polled, and its history will be deleted.", "Remove");
  if (!yes) {
    button.focus();
    return;
  }
  try {
    await api(`/api/computers/${c.id}`, { method: "DELETE" });
    if (editing && editing.id === c.id) resetForm();
    say(`Removed ${c.name}.`);
    await load();
  } catch (e) {
    say(`Could not remove ${c.name}: ${e.message}`, "bad");
  }
}

$("#test").addEventListener("click", testConnection);
$("#cancel-edit").addEventListener("click", () => {
  const id = editing && editing.id;
  resetForm();
  const b = id && tbody.querySelector(`tr[data-id="${id}"] button`);
  if (b) b.focus();
});
form.addEventListener("submit", save);

frame().catch(() => {});
load();
setInterval(load, 10000);
