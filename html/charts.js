// Charts for one computer's history, drawn with the vendored uPlot (a global from
// /static/uPlot.iife.min.js). Null values are outages and stay gaps; a drag across any chart
// asks the page for that window; hovering shows a tooltip on every chart at the same time.
import { el, rate, percent } from "./app.js";

const SPECS = [
  {
    key: "net",
    title: "Network",
    unit: "rate",
    series: [
      ["network_sent_per_sec", "Upload", "--c-up"],
      ["network_recv_per_sec", "Download", "--c-down"],
    ],
  },
  { key: "cpu", title: "CPU", unit: "pct", series: [["cpu_percent", "CPU", "--c-cpu"]] },
  { key: "mem", title: "Memory", unit: "pct", series: [["memory_percent", "Memory", "--c-mem"]] },
  { key: "disk", title: "Disk (root)", unit: "pct", series: [["disk_percent", "Disk", "--c-disk"]] },
  {
    key: "temp",
    title: "Temperature",
    unit: "celsius",
    series: [["temperature", "Temperature", "--c-temp"]],
    empty: "This computer reports no temperature sensor.",
  },
];

const FORMAT = {
  rate: (v) => rate(v),
  pct: (v) => percent(v),
  celsius: (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} °C`),
};

/** Tick steps for byte rates in powers of two (256 KB, 512 KB, 1 MB), as rates are shown. */
const BYTE_STEPS = Array.from({ length: 50 }, (_, i) => 2 ** i);

const AXIS_FORMAT = {
  rate: (v) => rate(v).replace(/(\.\d*[1-9])0+ /, "$1 ").replace(/\.0+ /, " "),
  pct: (v) => `${v} %`,
  celsius: (v) => `${v} °C`,
};

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A tooltip that follows the cursor and lists the hovered point's values. */
function tooltipPlugin(spec) {
  let tip;
  return {
    hooks: {
      init(u) {
        tip = el("div", "chart-tip");
        tip.hidden = true;
        u.over.append(tip);
        u.over.addEventListener("mouseleave", () => {
          tip.hidden = true;
        });
      },
      setCursor(u) {
        const i = u.cursor.idx;
        if (i === null || i === undefined || u.cursor.left < 0) {
          tip.hidden = true;
          return;
        }
        const t = u.data[0][i];
        const rows = [el("div", "tip-time", new Date(t * 1000).toLocaleString())];
        let any = false;
        spec.series.forEach(([, label], k) => {
          const v = u.data[k + 1][i];
          if (v !== null && v !== undefined) any = true;
          const row = el("div", "tip-row");
          const sw = el("span", "swatch");
          sw.style.background = u.series[k + 1].stroke();
          row.append(sw, el("span", null, `${label}: `), el("strong", null, v === null ? "no data" : FORMAT[spec.unit](v)));
          rows.push(row);
        });
        if (!any) rows.splice(1, rows.length, el("div", "tip-row", "offline: no data"));
        tip.replaceChildren(...rows);
        tip.hidden = false;
        const w = u.over.clientWidth;
        const left = u.cursor.left;
        tip.style.left = `${left > w / 2 ? left - tip.offsetWidth - 12 : left + 12}px`;
        tip.style.top = `${Math.max(0, u.cursor.top - tip.offsetHeight - 8)}px`;
      },
    },
  };
}

function options(spec, width, xRange, onZoom) {
  const axis = cssVar("--chart-axis");
  const grid = cssVar("--chart-grid");
  const font = `12px ${cssVar("--font")}`;
  const yRange =
    spec.unit === "pct"
      ? () => [0, 100]
      : (u, min, max) => {
          const lo = spec.unit === "rate" ? 0 : Math.min(0, min ?? 0);
          const hi = max === null || max <= lo ? lo + 1 : max * 1.15;
          return [lo, hi];
        };
  return {
    width,
    height: 170,
    padding: [10, 12, 0, 4],
    legend: { show: false },
    cursor: {
      sync: { key: "lanstat" },
      y: false,
      drag: { x: true, y: false, setScale: false },
      points: { size: 7 },
    },
    scales: { x: { time: true, range: () => xRange() }, y: { range: yRange } },
    axes: [
      { stroke: axis, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
      {
        stroke: axis,
        font,
        size: spec.unit === "rate" ? 72 : 52,
        incrs: spec.unit === "rate" ? BYTE_STEPS : undefined,
        grid: { stroke: grid, width: 1 },
        ticks: { show: false },
        values: (u, splits) => splits.map(AXIS_FORMAT[spec.unit]),
      },
    ],
    series: [
      {},
      ...spec.series.map(([, label, color]) => {
        const c = cssVar(color);
        return {
          label,
          stroke: c,
          width: 2,
          fill: spec.series.length === 1 ? `${c}26` : undefined,
          spanGaps: false,
          points: { show: (u, si, i0, i1) => i1 - i0 < 60, size: 4 },
        };
      }),
    ],
    plugins: [tooltipPlugin(spec)],
    hooks: {
      setSelect: [
        (u) => {
          const { left, width } = u.select;
          if (width > 4) {
            const from = Math.floor(u.posToVal(left, "x"));
            const to = Math.ceil(u.posToVal(left + width, "x"));
            if (to - from >= 2) onZoom(from, to);
          }
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        },
      ],
    },
  };
}

/**
 * Builds the charts inside `root` (emptied first). `onZoom(from, to)` is called with unix
 * seconds after a drag.
 */
export function charts(root, onZoom) {
  let last = null;
  const figures = SPECS.map((spec) => {
    const fig = el("figure", "chart");
    fig.dataset.chart = spec.key;
    const cap = el("figcaption");
    const legend = el("span", "chart-legend");
    for (const [, label, color] of spec.series) {
      const item = el("span", "legend-item");
      const sw = el("span", "swatch");
      sw.dataset.color = color;
      item.append(sw, el("span", null, label));
      legend.append(item);
    }
    cap.append(el("span", "chart-title", spec.title), legend);
    const plot = el("div", "plot");
    const empty = el("p", "chart-empty muted");
    empty.hidden = true;
    fig.append(cap, plot, empty);
    return { spec, fig, plot, empty, u: null };
  });
  root.replaceChildren(...figures.map((f) => f.fig));

  // Each figure's columns for the current data, and how many real (non-null) values it has.
  function columns() {
    const { points } = last;
    const xs = points.map((p) => p.timestamp);
    return figures.map((f) => {
      const cols = f.spec.series.map(([key]) => points.map((p) => (p[key] === undefined ? null : p[key])));
      const values = cols.reduce((n, col) => n + col.filter((v) => v !== null).length, 0);
      f.fig.dataset.points = String(xs.length);
      f.fig.dataset.values = String(values);
      return { f, data: [xs, ...cols], values };
    });
  }

  function draw() {
    for (const f of figures) {
      if (f.u) f.u.destroy();
      f.u = null;
    }
    if (!last) return;
    for (const { f, data, values } of columns()) {
      for (const sw of f.fig.querySelectorAll(".swatch")) sw.style.background = cssVar(sw.dataset.color);
      f.plot.hidden = values === 0;
      f.empty.hidden = values !== 0;
      if (values === 0) {
        f.empty.textContent = f.spec.empty || "No figures in this time window.";
        continue;
      }
      const width = Math.max(240, f.plot.clientWidth || root.clientWidth);
      f.u = new window.uPlot(options(f.spec, width, () => last.range, onZoom), data, f.plot);
    }
  }

  /** New data on the same charts where the same charts are drawn, so a hover survives it. */
  function update() {
    const fresh = columns();
    if (fresh.some(({ f, values }) => (values > 0) !== Boolean(f.u))) return draw();
    for (const { f, data } of fresh) if (f.u) f.u.setData(data);
  }

  const resize = new ResizeObserver(() => {
    for (const { u, plot } of figures) {
      const w = plot.clientWidth;
      if (u && w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height: u.height });
    }
  });
  resize.observe(root);
  const scheme = window.matchMedia("(prefers-color-scheme: dark)");
  scheme.addEventListener("change", draw);

  return {
    /** Draws a /api/history answer over the x window `range` ([from, to], unix seconds). */
    set(history, range) {
      last = { points: history.points || [], range };
      draw();
    },
    /** The same, keeping the charts (for a periodic refresh). */
    refresh(history, range) {
      last = { points: history.points || [], range };
      update();
    },
    destroy() {
      resize.disconnect();
      scheme.removeEventListener("change", draw);
      for (const f of figures) if (f.u) f.u.destroy();
      root.replaceChildren();
    },
  };
}
