// Login and password change: the forms post without JavaScript too; here they post JSON and
// show what went wrong beside the field concerned, without a page reload.
import { $, api, busy, clearErrors, formData, showError } from "./app.js";

/**
 * Keeps a form's error lines current when the browser's own checks (required, minlength)
 * stop a submit before our handler runs: a field's error goes as it is edited, and every
 * error goes when the browser refuses a field, whose own message is then the one to read.
 */
function dropStaleErrors(form) {
  form.addEventListener("input", (e) => {
    const name = e.target.name;
    const own = name ? form.querySelector(`.field-error[data-for="${CSS.escape(name)}"]`) : null;
    for (const p of [own, form.querySelector(".form-error")]) {
      if (p) p.hidden = true;
    }
    e.target.removeAttribute("aria-invalid");
  });
  // "invalid" does not bubble: listen as it goes down.
  form.addEventListener("invalid", () => clearErrors(form), true);
}

const login = $("#login");
if (login) {
  dropStaleErrors(login);
  login.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(login);
    const button = login.querySelector("button[type=submit]");
    await busy(button, "Logging in…", async () => {
      try {
        const r = await api("/login", { method: "POST", body: formData(login) });
        location.assign(r.redirect || "/");
      } catch (err) {
        // One message above the form: saying which of the two was wrong would help a guesser.
        showError(login, err.status === 0 ? "the server is not answering; try again" : err.message, null);
        $("#password").select();
      }
    });
  });
}

const change = $("#change-password");
if (change) {
  dropStaleErrors(change);
  change.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(change);
    const body = formData(change);
    if (body.new_password !== body.confirm_password) {
      showError(change, "the two new passwords differ", "confirm_password");
      return;
    }
    const button = change.querySelector("button[type=submit]");
    await busy(button, "Saving…", async () => {
      try {
        await api("/change_password", { method: "POST", body });
        location.assign("/");
      } catch (err) {
        showError(change, err.status === 0 ? "the server is not answering; try again" : err.message, err.field);
      }
    });
  });
}
