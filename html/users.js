// Users: list, add (with a chosen or generated password), change a role, reset a password
// (the new one is shown once), delete after a confirmation.
import { $, ago, api, attempt, cell, confirmAction, el, frame, loadRows, notice, removeAfterAsking, rowButton, sendForm } from "./app.js";

const form = $("#user-form");
const tbody = $("#users tbody");
const secret = $("#secret");
const say = notice($("#list-message"));
let me = null;

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
    const changed = await attempt(say, `Could not change the role of ${u.username}`, async () => {
      await api(`/api/users/${u.id}`, { method: "PATCH", body: { role: select.value } });
      say(`${u.username} is now ${select.value === "admin" ? "an admin" : "a viewer"}.`);
      u.role = select.value;
    });
    if (!changed) select.value = u.role;
  });
  cell(tr, "Role", select);

  const pw = u.must_change_password
    ? el("span", "badge warn", "must change at next login")
    : el("span", "muted", u.password_changed_at ? `changed ${ago(u.password_changed_at)}` : "set");
  cell(tr, "Password", pw);

  const actions = el("div", "row-actions");
  actions.append(rowButton("Reset password", "secondary", `Reset the password of ${u.username}`, (e) => resetPassword(u, e.currentTarget)));
  if (!me || u.id !== me.id) {
    actions.append(rowButton("Delete", "danger-outline", `Delete ${u.username}`, (e) => deleteUser(u, e.currentTarget)));
  }
  cell(tr, "", actions).className = "cell-actions";
  return tr;
}

function load() {
  return loadRows(tbody, { url: "/api/users", row, say, what: "users" });
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
  await attempt(say, "Could not reset the password", async () => {
    const r = await api(`/api/users/${u.id}/reset_password`, { method: "POST", body: {} });
    showSecret(u.username, r.password, "New password");
    await load();
  });
}

function deleteUser(u, opener) {
  return removeAfterAsking({
    ask: [`Delete ${u.username}?`, "Their sessions end and they can no longer log in.", "Delete"],
    url: `/api/users/${u.id}`,
    opener,
    say,
    done: `Deleted ${u.username}.`,
    failed: `Could not delete ${u.username}`,
    after: load,
  });
}

sendForm(form, {
  busyLabel: "Adding…",
  prepare(body) {
    secret.hidden = true;
    return body;
  },
  send: (body) => api("/api/users", { method: "POST", body }),
  async done(u) {
    form.reset();
    if (u.password) showSecret(u.username, u.password, "Password");
    else say(`Added ${u.username}.`);
    await load();
  },
});

frame()
  .then((m) => {
    me = m;
  })
  .catch(() => {})
  .finally(load);
