// API tokens on the Users page: list (name, prefix, created, last used), create (the new
// token is shown once, with a copy button), revoke after a confirmation. A plain script that
// fills <section id="api-tokens"></section> when the page has one; DOM built with
// textContent only.
(function () {
  "use strict";

  const root = document.getElementById("api-tokens");
  if (!root) return;

  async function call(path, method, body) {
    const options = { method: method || "GET", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, options);
    } catch (e) {
      throw Object.assign(new Error("the server is not answering; try again"), { field: null });
    }
    if (res.status === 401) {
      location.href = "/login";
      throw new Error("login required");
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw Object.assign(new Error(data.error || "HTTP " + res.status), { field: data.field || null, status: res.status });
    }
    return data;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function when(secs) {
    if (secs === null || secs === undefined) return "never";
    const d = new Date(secs * 1000);
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // The frame: heading, a short explanation, the form, the one-time secret, the list.
  const title = el("h2", null, "API tokens");
  title.id = "api-tokens-title";
  root.setAttribute("aria-labelledby", title.id);
  root.classList.add("card");
  const about = el(
    "p",
    "muted",
    "A token reads the /api/ endpoints and /metrics with “Authorization: Bearer <token>”, " +
      "for scripts, Home Assistant or Prometheus. It can never change anything.",
  );

  const form = el("form", "form");
  form.noValidate = true;
  const field = el("div", "field");
  const label = el("label", null, "Token name");
  label.htmlFor = "api-token-name";
  const input = el("input");
  input.id = "api-token-name";
  input.name = "name";
  input.maxLength = 64;
  input.autocomplete = "off";
  input.spellcheck = false;
  input.placeholder = "prometheus";
  const fieldError = el("p", "field-error");
  fieldError.id = "api-token-name-error";
  fieldError.hidden = true;
  input.setAttribute("aria-describedby", fieldError.id);
  const create = el("button", "button", "Create token");
  create.type = "submit";
  field.append(label, input, fieldError);
  const actions = el("div", "actions");
  actions.append(create);
  form.append(field, actions);

  const secret = el("div", "secret");
  secret.setAttribute("role", "status");
  secret.hidden = true;
  const message = el("p", "list-message");
  message.setAttribute("role", "status");
  message.hidden = true;

  const table = el("table", "table");
  const head = el("thead");
  const headRow = el("tr");
  for (const h of ["Name", "Prefix", "Created", "Last used", ""]) {
    const th = el("th", null, h);
    th.scope = "col";
    if (!h) th.append(el("span", "visually-hidden", "Actions"));
    headRow.append(th);
  }
  head.append(headRow);
  const body = el("tbody");
  table.append(head, body);
  const empty = el("p", "muted", "No tokens yet.");
  empty.hidden = true;

  root.replaceChildren(title, about, form, secret, message, table, empty);

  function say(text, kind) {
    message.textContent = text;
    message.className = "list-message " + (kind || "ok");
    message.hidden = false;
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      // No clipboard API over plain HTTP: select the text so Ctrl+C copies it.
      const range = document.createRange();
      range.selectNodeContents(secret.querySelector("code"));
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      button.textContent = "Selected: press Ctrl+C";
      return;
    }
    button.textContent = "Copied";
  }

  function showOnce(t) {
    const code = el("code", "secret-value", t.token);
    const button = el("button", "button secondary small", "Copy");
    button.type = "button";
    button.addEventListener("click", () => copy(t.token, button));
    secret.replaceChildren(
      el("strong", null, "New token " + t.name + ": "),
      code,
      document.createTextNode(" "),
      button,
      el("span", "small", " Shown only now: store it where it will be used. Revoke it if it leaks."),
    );
    secret.hidden = false;
  }

  function row(t) {
    const tr = el("tr");
    tr.dataset.id = String(t.id);
    const cell = (labelText, content) => {
      const td = el("td");
      td.dataset.label = labelText;
      td.append(content);
      tr.append(td);
      return td;
    };
    cell("Name", el("strong", null, t.name));
    cell("Prefix", el("code", null, t.prefix + "…"));
    const made = el("span", null, when(t.created_at));
    if (t.created_by) made.title = "by " + t.created_by;
    cell("Created", made);
    cell("Last used", el("span", "muted", when(t.last_used_at)));
    const revoke = el("button", "button danger-outline small", "Revoke");
    revoke.type = "button";
    revoke.setAttribute("aria-label", "Revoke the token " + t.name);
    revoke.addEventListener("click", async () => {
      if (!window.confirm("Revoke the token " + t.name + "? Whatever uses it loses access at once.")) return;
      try {
        await call("/api/tokens/" + t.id, "DELETE");
        say("Revoked " + t.name + ".");
        await load();
      } catch (e) {
        say("Could not revoke " + t.name + ": " + e.message, "bad");
      }
    });
    cell("", revoke).className = "cell-actions";
    return tr;
  }

  async function load() {
    try {
      const list = await call("/api/tokens");
      body.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      empty.hidden = list.length !== 0;
    } catch (e) {
      say("Could not load the tokens: " + e.message, "bad");
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    fieldError.hidden = true;
    input.removeAttribute("aria-invalid");
    secret.hidden = true;
    create.disabled = true;
    try {
      const t = await call("/api/tokens", "POST", { name: input.value });
      form.reset();
      showOnce(t);
      message.hidden = true;
      await load();
    } catch (err) {
      if (err.field === "name" || err.status === 409) {
        fieldError.textContent = err.message;
        fieldError.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.focus();
      } else {
        say("Could not create the token: " + err.message, "bad");
      }
    } finally {
      create.disabled = false;
    }
  });

  load();
})();
