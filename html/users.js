// Users: list, add (with a chosen or generated password), change a role, reset a password
// (the new one is shown once), delete after a confirmation.
import { $, ago, api, busy, cell, clearErrors, confirmAction, el, formData, frame, rowButton, showError } from "./app.js";

const form = $("#user-form");
const tbody = $("#users tbody");
const secret = $("#secret");
const listMessage = $("#list-message");
let me = null;

function say(text, kind = "ok") {
  listMessage.textContent = text;
  listMessage.className = `list-message ${kind}`;
  listMessage.hidden = false;
}

/** Shows a password once, selectable in one click. */
function showSecret(username, password, why) {
  const code = el("code", "secret-value", password);
  secret.replaceChildren(
    el("strong", null, `${why} for ${username}: `),
    code,
    el("span", "small", ` Shown only now; give it to ${username}, who must choose a new one at the next login.`),
  );
  secret.hidden = false;
  secret.scrollIntoView({ block: "nearest" });
}

function row(u) {
  const tr = el("tr");
  tr.dataset.id = String(u.id);
  const name = el("div", "cell-name");
  name.append(el("strong", null, u.username));
  if (me && u.id === me.id) name.append(el("span", "badge", "you"));
  cell(tr, "User", name);

  const select = el("select");
  select.setAttribute("aria-label", `Role of ${u.username}`);
  for (const r of ["viewer", "admin"]) {
    const o = el("option", null, r === "admin" ? "Admin" : "Viewer");
    o.value = r;
    o.selected = u.role === r;
    select.append(o);
  }
  select.addEventListener("change", async () => {
    try {
      await api(`/api/users/${u.id}`, { method: "PATCH", body: { role: select.value } });
      say(`${u.username} is now ${select.value === "admin" ? "an admin" : "a viewer"}.`);
      u.role = select.value;
    } catch (e) {
      select.value = u.role;
      say(`Could not change the role of ${u.username}: ${e.message}`, "bad");
    }
  });
  cell(tr, "Role", select);

  const pw = u.must_change_password
    ? el("span", "badge warn", "must change at next login")
    : el("span", "muted", u.password_changed_at ? `changed ${ago(u.password_changed_at)}` : "set");
  cell(tr, "Password", pw);

  const actions = el("div", "row-actions");
  const reset = rowButton("Reset password", "secondary", `Reset the password of ${u.username}`, () => resetPassword(u, reset));
  actions.append(reset);
  if (!me || u.id !== me.id) {
    const del = rowButton("Delete", "danger-outline", `Delete ${u.username}`, () => deleteUser(u, del));
    actions.append(del);
  }
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

async function load() {
  try {
    const users = await api("/api/users");
    tbody.replaceChildren(...users.map(row));
  } catch (e) {
    say(`Could not load the users: ${e.message}`, "bad");
  }
}

async function resetPassword(u, button) {
  const self = me && u.id === me.id;
  const yes = await confirmAction(
    `Reset the password of ${u.username}?`,
    self
      ? "You will be logged out everywhere else and must choose a new password at your next login."
      : `${u.username} is logged out everywhere and must use the new password once, then choose their own.`,
    "Reset password",
  );
  if (!yes) return button.focus();
  try {
    const r = await api(`/api/users/${u.id}/reset_password`, { method: "POST", body: {} });
    showSecret(u.username, r.password, "New password");
    await load();
  } catch (e) {
    say(`Could not reset the password: ${e.message}`, "bad");
  }
}

async function deleteUser(u, button) {
  const yes = await confirmAction(`Delete ${u.username}?`, "Their sessions end and they can no longer log in.", "Delete");
  if (!yes) return button.focus();
  try {
    await api(`/api/users/${u.id}`, { method: "DELETE" });
    say(`Deleted ${u.username}.`);
    await load();
  } catch (e) {
    say(`Could not delete ${u.username}: ${e.message}`, "bad");
  }
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors(form);
  secret.hidden = true;
  const body = formData(form);
  await busy(form.querySelector("button[type=submit]"), "Adding…", async () => {
    try {
      const u = await api("/api/users", { method: "POST", body });
      form.reset();
      if (u.password) showSecret(u.username, u.password, "Password");
      else say(`Added ${u.username}.`);
      await load();
    } catch (err) {
      showError(form, err.message, err.field);
    }
  });
});

frame()
  .then((m) => {
    me = m;
  })
  .catch(() => {})
  .finally(load);
