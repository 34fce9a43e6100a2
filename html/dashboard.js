// The dashboard: a card per computer, refreshed at the server's poll interval, and a modal
// with one computer's history charts.
import { $, ago, api, bytes, clock, duration, el, frame, level, modal, percent, rate, shownStatus, statusBadge } from "./app.js";
import { charts } from "./charts.js";

const cardsBox = $("#cards");
const banner = $("#banner");
const updated = $("#updated");
const summary = $("#summary");
const cards = new Map(); // id -> { node, c }
let intervalSecs = 30;
let lastOk = null;
let role = null; // the user's, once known: the hint on adding a machine depends on it

// ---- cards --------------------------------------------------------------------------------

function osLine(c) {
  const parts = [];
  if (c.hostname) parts.push(c.hostname);
  const os = [c.system, c.os_version].filter(Boolean).join(" ");
  if (os) parts.push(os);
  if (c.arch) parts.push(c.arch);
  return parts.join(" · ");
}

/** A labelled bar: label, figure text, and a filled bar coloured by level. */
function meter(label, text, pct) {
  const row = el("div", `meter level-${level(pct)}`);
  const head = el("div", "meter-head");
  head.append(el("span", "meter-label", label), el("span", "meter-value", text));
  const bar = el("div", "bar");
  bar.setAttribute("aria-hidden", "true");
  const fill = el("div", "fill");
  fill.style.width = `${Math.max(0, Math.min(100, pct || 0))}%`;
  bar.append(fill);
  row.append(head, bar);
  return row;
}

/** A past moment as a person says it: the time today, else the day and time, with the year
 * when it was another year. */
function since(unixSecs) {
  const d = new Date(unixSecs * 1000);
  const now = new Date();
  const time = { hour: "2-digit", minute: "2-digit" };
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString([], time);
  const day = { day: "numeric", month: "short", ...time };
  if (d.getFullYear() !== now.getFullYear()) day.year = "numeric";
  return d.toLocaleString([], day);
}

function seenText(c) {
  // Down since its last answer: the day it went, which "Last seen 3 d ago" makes one work out.
  if (c.last_seen && c.status === "offline" && c.enabled !== false) return `Offline since ${since(c.last_seen)}`;
  if (c.last_seen) return `Last seen ${ago(c.last_seen)}`;
  if (c.enabled === false) return "Not polled while paused";
  return c.status_reason ? "Never answered yet" : "Waiting for the first poll";
}

/** The card's alert mark: a red bell and the firing rules' names, as text. */
function alertMark(firing) {
  const p = el("p", "card-alert");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ["M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9", "M13.73 21a2 2 0 0 1-3.46 0"]) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  const names = [...new Set(firing.map((a) => (a.target ? `${a.rule} (${a.target})` : a.rule)))];
  p.append(svg, el("span", null, `Alert: ${names.join(", ")}`));
  return p;
}

/** Removes the children of `parent` that come after `keep`. */
function dropAfter(parent, keep) {
  while (parent.lastChild && parent.lastChild !== keep) parent.lastChild.remove();
}

/**
 * Builds a card's frame once: its heading, whose name is the card's button. Keyboard users and
 * screen readers reach the charts through it, and the heading keeps its meaning; a click
 * anywhere on the card works too. The frame stays across refreshes, so the button keeps the
 * keyboard focus and the modal can hand it back when it closes.
 */
function cardFrame(node) {
  const head = el("div", "card-head");
  const titles = el("div", "card-titles");
  const h = el("h2", "card-name");
  const open = el("button", "card-open");
  open.type = "button";
  open.setAttribute("aria-haspopup", "dialog");
  h.append(open);
  titles.append(h);
  head.append(titles);
  node.append(head);
  return { head, titles, h, open };
}

/** Fills a card's frame with `c`; everything below the heading is built afresh. */
function fillCard(node, frame, c) {
  const { head, titles, h, open } = frame;
  if (open.textContent !== c.name) open.textContent = c.name;
  dropAfter(titles, h);
  const sub = osLine(c);
  if (sub) titles.append(el("p", "card-sub", sub));
  dropAfter(head, titles);
  head.append(statusBadge(c));

  const seen = el("p", "card-seen", seenText(c));
  seen.dataset.seen = c.last_seen || "";
  const parts = [seen];
  if (c.status !== "online" && c.status_reason) {
    parts.push(el("p", `card-reason reason-${c.status}`, c.status_reason));
  }
  const firing = c.alerts || [];
  if (firing.length) parts.push(alertMark(firing));
  if (c.sampled_at !== undefined) {
    const meters = el("div", "meters");
    const cpuText = c.cpu_count ? `${percent(c.cpu_percent)} of ${c.cpu_count} ${c.cpu_count === 1 ? "core" : "cores"}` : percent(c.cpu_percent);
    meters.append(meter("CPU", cpuText, c.cpu_percent));
    if (c.memory) {
      meters.append(meter("Memory", `${bytes(c.memory.used)} / ${bytes(c.memory.total)} · ${percent(c.memory.percent)}`, c.memory.percent));
    }
    if (c.disk) {
      meters.append(meter("Disk /", `${bytes(c.disk.used)} / ${bytes(c.disk.total)} · ${percent(c.disk.percent)}`, c.disk.percent));
    }
    parts.push(meters);

    const facts = el("dl", "card-facts");
    const fact = (label, value, cls) => {
      const d = el("div", cls ? `fact ${cls}` : "fact");
      d.append(el("dt", null, label), el("dd", null, value));
      facts.append(d);
    };
    const u = c.network_usage || {};
    fact("Upload", rate(u.bytes_sent_per_sec), "net-up");
    fact("Download", rate(u.bytes_recv_per_sec), "net-down");
    if (c.temperature !== null && c.temperature !== undefined) {
      const hot = c.temperature >= 80 ? "level-high" : c.temperature >= 70 ? "level-warn" : "";
      fact("Temperature", `${c.temperature.toFixed(1)} °C`, hot);
    }
    if (c.uptime_secs !== null && c.uptime_secs !== undefined) fact("Uptime", duration(c.uptime_secs));
    parts.push(facts);
  }
  dropAfter(node, head);
  node.append(...parts);
  node.className = `card computer status-${shownStatus(c)}${firing.length ? " has-alert" : ""}`;
}

function cardFor(c) {
  let entry = cards.get(c.id);
  if (!entry) {
    const node = el("article");
    node.dataset.id = String(c.id);
    node.addEventListener("click", () => openDetail(c.id));
    entry = { node, frame: cardFrame(node), c };
    cards.set(c.id, entry);
  }
  entry.c = c;
  fillCard(entry.node, entry.frame, c);
  return entry.node;
}

function render(list) {
  const seen = new Set(list.map((c) => c.id));
  for (const id of [...cards.keys()]) if (!seen.has(id)) cards.delete(id);
  const focusedId = document.activeElement?.closest?.(".computer")?.dataset.id;
  const nodes = list.map(cardFor);
  // Keep nodes in place when the order is unchanged, so hover survives a refresh.
  const same = nodes.length === cardsBox.children.length && nodes.every((n, i) => cardsBox.children[i] === n);
  if (!same) {
    cardsBox.replaceChildren(...nodes);
    // Moving the cards took the keyboard focus from the one that had it: give it back.
    if (focusedId && !dialog.open) cards.get(Number(focusedId))?.frame.open.focus();
  }
  $("#empty").hidden = list.length > 0;
  // One card (the server's own): say how the next machine is added.
  $("#next").hidden = list.length !== 1 || role === null;
  const online = list.filter((c) => c.status === "online").length;
  const problems = list.filter((c) => ["offline", "error"].includes(shownStatus(c))).length;
  summary.replaceChildren();
  summary.append(el("span", "count", `${list.length} ${list.length === 1 ? "computer" : "computers"}`));
  summary.append(el("span", "count count-online", `${online} online`));
  if (problems) summary.append(el("span", "count count-problem", `${problems} ${problems === 1 ? "needs" : "need"} attention`));
}

// ---- refresh loop -------------------------------------------------------------------------

/** The server's own troubles (history not recorded, a damaged database), one line each. */
const troubleBanner = el("div", "banner trouble");
troubleBanner.id = "trouble";
troubleBanner.setAttribute("role", "status");
troubleBanner.hidden = true;
banner.after(troubleBanner);

function showTroubles(troubles = []) {
  troubleBanner.replaceChildren(...troubles.map((t) => el("p", null, `${t.charAt(0).toUpperCase()}${t.slice(1)}.`)));
  troubleBanner.hidden = troubles.length === 0;
}

function showBanner() {
  banner.replaceChildren(
    el("strong", null, "The lanstat server is not answering."),
    el("span", null, ` Figures below are from ${lastOk ? clock(lastOk) : "before"}; retrying every ${intervalSecs} s.`),
  );
  banner.hidden = false;
}

async function refresh() {
  try {
    // Long enough for a slow Pi, short enough that a dead server is noticed soon.
    const list = await api("/api/computers", { timeoutMs: Math.min(10000, Math.max(4000, intervalSecs * 2000)) });
    render(list);
    api("/api/me").then((me) => showTroubles(me.troubles), () => {});
    lastOk = new Date();
    banner.hidden = true;
    cardsBox.classList.remove("stale");
    updated.textContent = `Updated ${clock(lastOk)}`;
    updated.dateTime = lastOk.toISOString();
    if (detail.id !== null) updateDetailHead();
  } catch (e) {
    if (e.status === 0 || e.status >= 500) {
      showBanner();
      cardsBox.classList.add("stale");
    } else {
      banner.replaceChildren(el("strong", null, "Could not load the computers: "), el("span", null, e.message));
      banner.hidden = false;
    }
  } finally {
    setTimeout(refresh, intervalSecs * 1000);
  }
}

/** Relative times move every second, between refreshes too. */
function tick() {
  for (const { node, c } of cards.values()) {
    const s = node.querySelector(".card-seen");
    if (s) s.textContent = seenText(c);
  }
  if (detail.id !== null) {
    const s = $("#detail-seen");
    const c = cards.get(detail.id)?.c;
    if (s && c) s.textContent = seenText(c);
  }
}

// ---- detail modal -------------------------------------------------------------------------

const dialog = $("#detail");
const detail = { id: null, range: "24h", zoom: null, charts: null, seq: 0, timer: null };
const detailModal = modal(dialog, {
  onClose() {
    clearInterval(detail.timer);
    if (detail.charts) detail.charts.destroy();
    detail.charts = null;
    detail.id = null;
  },
});

function updateDetailHead() {
  const c = cards.get(detail.id)?.c;
  if (!c) return;
  $("#detail-title").textContent = c.name;
  $("#detail-status").replaceChildren(statusBadge(c));
  $("#detail-sub").textContent = osLine(c) || (c.url ? c.url : "");
  $("#detail-seen").textContent = seenText(c);
  const facts = $("#detail-facts");
  const rows = [];
  const add = (k, v) => {
    if (v === null || v === undefined || v === "") return;
    const d = el("div", "fact");
    d.append(el("dt", null, k), el("dd", null, v));
    rows.push(d);
  };
  if (c.status !== "online" && c.status_reason) add("Problem", c.status_reason);
  add("Kernel", c.kernel_version);
  add("CPU cores", c.cpu_count);
  if (c.load_average) add("Load", [c.load_average.one, c.load_average.five, c.load_average.fifteen].filter((v) => v !== undefined).map((v) => v.toFixed(2)).join(" · "));
  if (c.swap && c.swap.total) add("Swap", `${bytes(c.swap.used)} / ${bytes(c.swap.total)}`);
  if (c.uptime_secs !== undefined && c.uptime_secs !== null) add("Uptime", duration(c.uptime_secs));
  add("Agent", c.kind === "local" ? "this server" : c.agent_version ? `lanstat-agent ${c.agent_version}` : c.url);
  facts.replaceChildren(...rows);
}

function fmtWhen(t, span) {
  const d = new Date(t * 1000);
  return span > 86400 ? d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : clock(d);
}

async function loadHistory({ quiet = false } = {}) {
  const id = detail.id;
  const seq = ++detail.seq;
  const q = detail.zoom ? `from=${detail.zoom.from}&to=${detail.zoom.to}` : `range=${detail.range}`;
  const status = $("#chart-status");
  if (!quiet) status.textContent = "Loading…";
  dialog.setAttribute("aria-busy", "true");
  try {
    const h = await api(`/api/history/${id}?${q}`);
    if (seq !== detail.seq || id !== detail.id) return;
    const first = h.points.find((p) => p.samples > 0);
    let from = h.from;
    // With less history than the range, the axis starts where the history does.
    if (!detail.zoom && first && first.timestamp > from) from = Math.min(first.timestamp, h.to - 4 * h.step);
    const range = [from, h.to];
    if (quiet) detail.charts.refresh(h, range);
    else detail.charts.set(h, range);
    const span = h.to - h.from;
    const step = h.step > 1 ? ` · one point per ${duration(h.step)}` : "";
    status.textContent = `${fmtWhen(from, span)} – ${fmtWhen(h.to, span)}${step}`;
    $("#detail-charts").dataset.loaded = `${detail.zoom ? "zoom" : detail.range}:${seq}`;
  } catch (e) {
    if (seq === detail.seq) status.textContent = `Could not load the history: ${e.message}`;
  } finally {
    if (seq === detail.seq) dialog.removeAttribute("aria-busy");
  }
}

function setRange(range) {
  detail.range = range;
  detail.zoom = null;
  for (const b of document.querySelectorAll("#ranges button")) b.setAttribute("aria-pressed", String(b.value === range));
  $("#reset-zoom").hidden = true;
  loadHistory();
}

function zoomTo(from, to) {
  detail.zoom = { from, to };
  $("#reset-zoom").hidden = false;
  loadHistory();
}

function openDetail(id) {
  detail.id = id;
  detail.zoom = null;
  updateDetailHead();
  detailModal.open(() => cards.get(id)?.frame.open);
  detail.charts = charts($("#detail-charts"), zoomTo);
  setRange(detail.range);
  $("#detail-close").focus();
  clearInterval(detail.timer);
  detail.timer = setInterval(() => {
    if (!detail.zoom && !dialog.hasAttribute("aria-busy")) loadHistory({ quiet: true });
  }, Math.max(15, intervalSecs) * 1000);
}

for (const b of document.querySelectorAll("#ranges button")) b.addEventListener("click", () => setRange(b.value));
$("#reset-zoom").addEventListener("click", () => setRange(detail.range));

// ---- start --------------------------------------------------------------------------------

async function start() {
  try {
    const me = await frame();
    intervalSecs = Math.max(1, me.poll_interval_secs || 30);
    showTroubles(me.troubles);
    $("#empty-admin").hidden = me.role !== "admin";
    role = me.role;
    $("#next-admin").hidden = role !== "admin";
    $("#next-viewer").hidden = role === "admin";
  } catch (e) {
    if (e.status === 0) showBanner();
  }
  refresh();
  setInterval(tick, 1000);
}

start();
