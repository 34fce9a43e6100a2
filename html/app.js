// lanstat: what every page shares. The one fetch wrapper, DOM helpers (text only, never
// HTML from data), number formatting, the header, dialogs, forms and their field errors, and
// the status line under a list.

/**
 * An API error: the HTTP status, the server's message, its stable `code` (what to decide on:
 * `login_required`, `conflict`, `invalid`, …; null when no answer came or it was not ours) and
 * the field it blames, if any. Status 0 means the server did not answer at all.
 */
export class ApiError extends Error {
  constructor(status, message, code, field) {
    super(message);
    this.status = status;
    this.code = code || null;
    this.field = field || null;
  }
}

/**
 * Calls the server's API. JSON in and out; a missing session goes to the login page, a due
 * password change to the password page. A network failure or timeout throws ApiError with
 * status 0, so callers can tell "server gone" from "server said no".
 */
export async function api(path, { method = "GET", body, timeoutMs = 10000 } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: ctrl.signal,
    });
  } catch {
    throw new ApiError(0, "the server is not answering");
  } finally {
    clearTimeout(timer);
  }
  const data = await res.json().catch(() => ({}));
  if (res.ok) return data;
  if (data.code === "login_required") location.assign("/login");
  else if (data.code === "password_change_required") location.assign("/change_password");
  throw new ApiError(res.status, data.error || `the server answered HTTP ${res.status}`, data.code, data.field);
}

/** Makes an element with a class and text content. */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Appends a cell to a table row; `label` heads it when the table stacks on a phone. */
export function cell(tr, label, ...content) {
  const td = el("td");
  td.dataset.label = label;
  td.append(...content);
  tr.append(td);
  return td;
}

/** A small button for a table row: `cls` is `secondary` or `danger-outline`; `label` names
 * the row for screen readers ("Edit Attic Pi"). */
export function rowButton(text, cls, label, onClick) {
  const b = el("button", `button ${cls} small`, text);
  b.type = "button";
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

// ---- numbers ------------------------------------------------------------------------------

const UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/** Bytes in 1024 steps, as the original showed them: 512 B, 1.5 KB, 7.8 GB. */
export function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

/** A rate in B/s, KB/s, MB/s or GB/s. */
export const rate = (n) => (n === null || n === undefined ? "–" : `${bytes(n)}/s`);

export function percent(p) {
  if (p === null || p === undefined || !Number.isFinite(p)) return "–";
  return `${p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

/** Seconds as "45 s", "12 min", "3 h 20 min", "4 d 2 h". */
export function duration(secs) {
  if (secs === null || secs === undefined || !Number.isFinite(secs)) return "–";
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** "12 s ago" from a unix time in seconds. */
export function ago(unixSecs, nowMs = Date.now()) {
  if (!unixSecs) return "never";
  const secs = nowMs / 1000 - unixSecs;
  return secs < 1 ? "just now" : `${duration(secs)} ago`;
}

export function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** The level a percentage earns: colours and bars follow it. */
export function level(p) {
  if (p === null || p === undefined) return "none";
  if (p >= 90) return "high";
  if (p >= 75) return "warn";
  return "ok";
}

export const STATUS_TEXT = { online: "Online", offline: "Offline", error: "Error", paused: "Paused", waiting: "Waiting" };

/** The status pill: a coloured dot and the word, with the reason on hover. */
export function statusBadge(c) {
  const status = shownStatus(c);
  const b = el("span", `status status-${status}`);
  b.append(el("span", "dot"), el("span", null, STATUS_TEXT[status] || status));
  if (c.status_reason) b.title = c.status_reason;
  return b;
}

/** The status to show: a computer not polled yet is "waiting", not offline; a disabled one is paused. */
export function shownStatus(c) {
  if (c.enabled === false) return "paused";
  if (c.status === "offline" && !c.last_seen && !c.status_reason) return "waiting";
  return c.status;
}

// ---- the page's frame ---------------------------------------------------------------------

/** Fills the header with who is logged in and shows admin links to admins. */
export async function frame() {
  const me = await api("/api/me");
  const who = $("#whoami");
  if (who) who.textContent = me.username;
  const isAdmin = me.role === "admin";
  for (const a of document.querySelectorAll("[data-admin]")) a.hidden = !isAdmin;
  const ver = $("#version");
  if (ver) ver.textContent = `lanstat ${me.version}`;
  return me;
}

// ---- dialogs ------------------------------------------------------------------------------

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Wires a <dialog> as a modal: its X button, a click on the backdrop and Esc close it; Tab
 * stays inside; focus goes back where it was. `onClose` runs after it closes.
 */
export function modal(dialog, { onClose } = {}) {
  let opener = null;
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) {
      // A click on the backdrop targets the dialog itself, outside its box.
      const r = dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) dialog.close();
    }
  });
  for (const b of dialog.querySelectorAll("[data-close]")) b.addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((n) => !n.hidden && n.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  });
  dialog.addEventListener("close", () => {
    document.body.classList.remove("modal-open");
    if (onClose) onClose();
    const back = typeof opener === "function" ? opener() : opener;
    if (back && back.isConnected) back.focus();
  });
  return {
    /** Opens it; on close, focus returns to `returnTo` (an element, or a function giving one,
     *  for an opener that may be rebuilt meanwhile), or to what had it. */
    open(returnTo) {
      opener = returnTo || document.activeElement;
      document.body.classList.add("modal-open");
      dialog.showModal();
    },
    close: () => dialog.close(),
  };
}

let confirmDialog = null;

/** Asks a yes/no question in the page (never window.confirm). Resolves true for yes. */
export function confirmAction(title, text, yesLabel) {
  if (!confirmDialog) {
    const d = el("dialog", "modal confirm");
    d.setAttribute("aria-labelledby", "confirm-title");
    const h = el("h2", null);
    h.id = "confirm-title";
    const p = el("p", "confirm-text");
    const row = el("div", "actions");
    const no = el("button", "button secondary", "Cancel");
    no.type = "button";
    no.value = "no";
    const yes = el("button", "button danger", "");
    yes.type = "button";
    yes.value = "yes";
    row.append(no, yes);
    d.append(h, p, row);
    document.body.append(d);
    const m = modal(d);
    no.addEventListener("click", () => d.close("no"));
    yes.addEventListener("click", () => d.close("yes"));
    confirmDialog = { d, h, p, yes, no, m };
  }
  const c = confirmDialog;
  c.h.textContent = title;
  c.p.textContent = text;
  c.yes.textContent = yesLabel;
  c.d.returnValue = "no";
  return new Promise((resolve) => {
    c.d.addEventListener("close", () => resolve(c.d.returnValue === "yes"), { once: true });
    c.m.open();
    c.no.focus();
  });
}

// ---- forms --------------------------------------------------------------------------------

/** Clears the errors shown beside a form's fields and its general error line. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error, .form-error")) {
    p.textContent = "";
    p.hidden = true;
  }
  for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
}

/**
 * Shows an error beside the field it concerns (`<p class="field-error" data-for="name">`), or
 * in the form's general error line when no field matches. Returns the element it used.
 */
export function showError(form, message, field) {
  const input = field ? form.elements.namedItem(field) : null;
  let slot = field ? form.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`) : null;
  if (!slot) slot = form.querySelector(".form-error");
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  slot.textContent = /[.!?]$/.test(text) ? text : `${text}.`;
  slot.hidden = false;
  if (input && input.setAttribute) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  return slot;
}

/** A form's fields as an object of strings (checkboxes as booleans). */
export function formData(form) {
  const out = {};
  for (const e of form.elements) {
    if (!e.name || e.disabled) continue;
    out[e.name] = e.type === "checkbox" ? e.checked : e.value;
  }
  return out;
}

/** Disables a button while a promise runs, with a busy label. */
export async function busy(button, label, work) {
  const old = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = old;
  }
}

/**
 * Sends a form's fields without a page load: `send(fields)` runs while the submit button says
 * `busyLabel`, then `done(answer)`. A refusal is shown beside the field it names (`field(err)`
 * may name another). `prepare(fields)` runs first: it may hide what the last answer showed,
 * check or reshape the fields, or return null after showing why they cannot be sent.
 */
export function sendForm(form, { send, done, busyLabel = "Saving…", prepare = (f) => f, field = (err) => err.field }) {
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const fields = prepare(formData(form));
    if (!fields) return;
    let answer;
    try {
      answer = await busy(button, busyLabel, () => send(fields));
    } catch (err) {
      showError(form, err.message, field(err));
      return;
    }
    // After busy() has put the button's label back, so `done` may change it.
    await done(answer);
  });
}

/**
 * The form beside a list that adds an item, changes one after `edit(item, opener)` and removes
 * one after `remove(item, opener)`. While adding, its heading and submit button read as the
 * page wrote them; while editing, "Edit <name>" and "Save changes", and its Cancel button (the
 * last of its actions) shows, which goes back to adding and to `opener`. Submitting POSTs to
 * `url` or PUTs to `url/<id>`; removing DELETEs `url/<id>` once the user says yes to "Remove
 * <called(item)>?" and `removing`, the line on what it takes with it. Either then `say`s
 * "Added", "Saved" or "Removed <called(item)>." (with `added` after a new item's) and
 * `reload`s the list. `onReset()` and `fill(item)` set the page's own fields; `editing` is
 * the item being changed, or null.
 */
export function itemForm(form, { url, say, reload, called = (item) => item.name, added, removing, fill, onReset = () => {}, prepare, field }) {
  const title = form.querySelector("h2");
  const submit = form.querySelector("button[type=submit]");
  const cancel = form.querySelector(".actions button:last-child");
  const adding = { title: title.textContent, submit: submit.textContent };
  let opener = null; // the aria-label of the button that opened the edit, to go back to
  const state = {
    editing: null,
    reset() {
      state.editing = null;
      form.reset();
      clearErrors(form);
      title.textContent = adding.title;
      submit.textContent = adding.submit;
      cancel.hidden = true;
      onReset();
    },
    edit(item, from) {
      state.reset();
      state.editing = item;
      opener = from ? from.getAttribute("aria-label") : null;
      title.textContent = `Edit ${item.name}`;
      submit.textContent = "Save changes";
      cancel.hidden = false;
      fill(item);
      form.scrollIntoView({ block: "start", behavior: "smooth" });
      form.elements[0].focus();
    },
    remove(item, from) {
      return removeAfterAsking({
        ask: [`Remove ${called(item)}?`, removing, "Remove"],
        url: `${url}/${item.id}`,
        opener: from,
        say,
        done: `Removed ${called(item)}.`,
        failed: `Could not remove ${item.name}`,
        async after() {
          // An item being edited is gone: back to adding.
          if (state.editing && state.editing.id === item.id) state.reset();
          await reload();
        },
      });
    },
  };
  sendForm(form, {
    prepare,
    field,
    send: (body) =>
      state.editing
        ? api(`${url}/${state.editing.id}`, { method: "PUT", body })
        : api(url, { method: "POST", body }),
    async done(item) {
      const what = called(item);
      say(state.editing ? `Saved ${what}.` : added ? `Added ${what}. ${added}` : `Added ${what}.`);
      state.reset();
      await reload();
    },
  });
  cancel.addEventListener("click", () => {
    state.reset();
    // The list may have been redrawn meanwhile: find the button by its label.
    const back = opener && document.querySelector(`button[aria-label="${CSS.escape(opener)}"]`);
    if (back) back.focus();
  });
  return state;
}

// ---- lists --------------------------------------------------------------------------------

/**
 * The status line of a list (`<p class="list-message" role="status">`): the function it
 * returns says what was done, or with "bad" what failed.
 */
export function notice(slot) {
  return (text, kind = "ok") => {
    slot.textContent = text;
    slot.className = `list-message ${kind}`;
    slot.hidden = false;
  };
}

/** Keyboard focus survives a table refresh: the same button in the same row gets it back. */
export function keepFocus(tbody, rebuild) {
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

/**
 * Fills a table body with `row(item)` for each item of the list at `url`, keeping the keyboard
 * focus where it was, and shows `empty` when there is none; says "Could not load the <what>"
 * when it cannot. Resolves the list, or null.
 */
export async function loadRows(tbody, { url, row, say, what, empty }) {
  let list = null;
  await attempt(say, `Could not load the ${what}`, async () => {
    list = await api(url);
    keepFocus(tbody, () => tbody.replaceChildren(...list.map(row)));
    if (empty) empty.hidden = list.length > 0;
  });
  return list;
}

/** Runs `work`; when it throws, says "<failed>: <why>". Resolves true when it went through. */
export async function attempt(say, failed, work) {
  try {
    await work();
    return true;
  } catch (e) {
    say(`${failed}: ${e.message}`, "bad");
    return false;
  }
}

/**
 * Removes an item of a list once the user says yes: DELETE `url`, say `done`, then `after()`
 * (the reload). A no gives the focus back to `opener`.
 */
export async function removeAfterAsking({ ask, url, opener, say, done, failed, after }) {
  if (!(await confirmAction(...ask))) {
    opener.focus();
    return;
  }
  await attempt(say, failed, async () => {
    await api(url, { method: "DELETE" });
    say(done);
    await after();
  });
}
