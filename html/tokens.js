// API tokens on the Users page: list (name, prefix, created, last used), create (the new
// token is shown once, with a copy button), revoke after a confirmation.
import { $, ago, api, cell, el, loadRows, notice, removeAfterAsking, rowButton, sendForm } from "./app.js";

const form = $("#token-form");
const tbody = $("#tokens tbody");
const table = $("#tokens");
const secret = $("#token-secret");
const message = $("#token-message");
const say = notice(message);

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
  const revoke = rowButton("Revoke", "danger-outline", `Revoke the token ${t.name}`, (e) =>
    removeAfterAsking({
      ask: [`Revoke ${t.name}?`, "Whatever uses this token loses access at once.", "Revoke"],
      url: `/api/tokens/${t.id}`,
      opener: e.currentTarget,
      say,
      done: `Revoked ${t.name}.`,
      failed: `Could not revoke ${t.name}`,
      after: load,
    }),
  );
  cell(tr, "", revoke).className = "cell-actions";
  return tr;
}

async function load() {
  const list = await loadRows(tbody, { url: "/api/tokens", row, say, what: "tokens", empty: $("#tokens-empty") });
  if (list) table.hidden = list.length === 0;
}

sendForm(form, {
  busyLabel: "Creating…",
  prepare(body) {
    secret.hidden = true;
    message.hidden = true;
    return body;
  },
  send: (body) => api("/api/tokens", { method: "POST", body }),
  // A name already taken is the name field's fault.
  field: (err) => err.field || (err.code === "conflict" ? "name" : null),
  async done(t) {
    form.reset();
    showOnce(t);
    await load();
  },
});

load();
