// lanstat dashboard: plain modules, DOM built with textContent only.
"use strict";

async function api(path, options) {
  const res = await fetch(path, Object.assign({ credentials: "same-origin", headers: { "Accept": "application/json" } }, options || {}));
  if (res.status === 401) { location.href = "/login"; throw new Error("login required"); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) { throw new Error(body.error || ("HTTP " + res.status)); }
  return body;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function dashboard() {
  const cards = document.getElementById("cards");
  const list = await api("/api/computers");
  cards.replaceChildren(...list.map((c) => {
    const card = el("article", null, "card");
    card.append(el("h2", c.name), el("p", c.status + (c.status_reason ? " (" + c.status_reason + ")" : "")));
    if (c.cpu_percent !== undefined) card.append(el("p", "CPU " + c.cpu_percent + " %"));
    return card;
  }));
  document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString();
}

const page = document.body.dataset.page;
if (page === "dashboard") { dashboard(); setInterval(dashboard, 10000); }
