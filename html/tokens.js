// API tokens on the Users page: list (name, prefix, created, last used), create (the new
// token is shown once, with a copy button), revoke after a confirmation.
import { $, ago, api, busy, cell, clearErrors, confirmAction, el, formData, rowButton, showError } from "./app.js";

const form = $("#token-form");
const tbody = $("#tokens tbody");
const table = $("#tokens");
const empty = $("#tokens-empty");
const secret = $("#token-secret");
const message = $("#token-message");

function say(text, kind = "ok") {
  message.textContent = text;
  message.className = `list-message ${kind}`;
  message.hidden = false;
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    // No clipboard over plain HTTP: select the token so Ctrl+C copies it.
    const range = document.createRange();
    range.selectNodeContents($("code", secret));
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
}

function showOnce(t) {
  const button = rowButton("Copy", "secondary", null, () => copy(t.token, button));
  secret.replaceChildren(
    el("strong", null, `New token ${t.name}: `),
    el("code", "secret-value", t.token),
    document.createTextNode(" "),
    button,
    el("span", "small", " Shown only now: store it where it will be used, and revoke it if it leaks."),
  );
  secret.hidden = false;
}

function row(t) {
  const tr = el("tr");
  tr.dataset.id = String(t.id);
  cell(tr, "Name", el("strong", null, t.name));
  cell(tr, "Prefix", el("code", null, `${t.prefix}…`));
  const made = el("span", null, ago(t.created_at));
  if (t.created_by) made.title = `by ${t.created_by}`;
  cell(tr, "Created", made);
  cell(tr, "Last used", el("span", "muted", ago(t.last_used_at)));
  const revoke = rowButton("Revoke", "danger-outline", `Revoke the token ${t.name}`, async () => {
    const yes = await confirmAction(`Revoke ${t.name}?`, "Whatever uses this token loses access at once.", "Revoke");
    if (!yes) return;
    try {
      await api(`/api/tokens/${t.id}`, { method: "DELETE" });
      say(`Revoked ${t.name}.`);
      await load();
    } catch (e) {
      say(`Could not revoke ${t.name}: ${e.message}`, "bad");
    }
  });
  cell(tr, "", revoke).className = "cell-actions";
  return tr;
}

async function load() {
  try {
    const list = await api("/api/tokens");
    tbody.replaceChildren(...list.map(row));
    table.hidden = list.length === 0;
    empty.hidden = list.length !== 0;
  } catch (e) {
    say(`Could not load the tokens: ${e.message}`, "bad");
  }
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors(form);
  secret.hidden = true;
  message.hidden = true;
  const button = form.querySelector("button[type=submit]");
  try {
    const t = await busy(button, "Creating…", () => api("/api/tokens", { method: "POST", body: formData(form) }));
    form.reset();
    showOnce(t);
    await load();
  } catch (err) {
    showError(form, err.message, err.field || (err.status === 409 ? "name" : null));
  }
});

load();
