/** /teach/class: class heatmap, distribution per competency, least proficient, at-risk learners. */
import type { Heatmap } from "../../wasm/dashboards/mastery_wasm.js";
import { CANVAS_CELLS, canvasHeatmap, figure, heatmapTable, interactiveHeatmap, pagedHeatmapTable, table } from "../charts.js";
import type { Snapshot } from "../data.js";
import { esc, pct } from "../util.js";
import { dashboards } from "../wasm.js";

/** Learners sorted by mean mastery (lowest first), the first `limit` of them. */
function lowestFirst(map: Heatmap, limit: number): Heatmap {
  const mean = (i: number) => map.cells[i].reduce((s, c) => s + (c.value ?? 0), 0) / Math.max(1, map.cells[i].length);
  const order = map.rows.map((_, i) => i).sort((a, b) => mean(a) - mean(b)).slice(0, limit);
  return { ...map, title: `${map.title} (${order.length} of ${map.rows.length} learners, lowest mean first)`, rows: order.map((i) => map.rows[i]), cells: order.map((i) => map.cells[i]) };
}

/** Stacked bars: learners per rating for each competency, with a key. */
function distribution(snap: Snapshot): string {
  const colors = new Map(snap.scale.ratings.map((r) => [r.description, r.color]));
  const code = (id: string) => (snap.labels[id] ?? id).replace("CCSS.Math.Content.", "");
  const rows = snap.class.summaries;
  const levels = snap.scale.ratings.map((r) => r.description);
  const width = 640, left = 90, barW = 500, rowH = 28;
  const height = 30 + rows.length * rowH + 40;
  let body = "";
  rows.forEach((s, i) => {
    const total = s.levels.reduce((a, l) => a + l.count, 0) || 1;
    let x = left;
    const y = 20 + i * rowH;
    body += `<text x="${left - 6}" y="${y + 15}" font-size="12" text-anchor="end">${esc(code(s.competency))}</text>`;
    for (const l of [...s.levels].reverse()) {
      const w = (l.count / total) * barW;
      if (w > 0) body += `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="20" fill="${esc(colors.get(l.description) ?? "#ccc")}"><title>${esc(code(s.competency))}: ${l.count} learners ${esc(l.description)}</title></rect>`;
      x += w;
    }
  });
  let lx = 10;
  const ly = 30 + rows.length * rowH;
  for (const d of [...levels].reverse()) {
    body += `<rect x="${lx}" y="${ly}" width="14" height="12" fill="${esc(colors.get(d) ?? "#ccc")}"/><text x="${lx + 18}" y="${ly + 10}" font-size="11">${esc(d)}</text>`;
    lx += 30 + d.length * 6.5;
  }
  const desc = rows.map((s) => `${code(s.competency)}: ${s.levels.map((l) => `${l.count} ${l.description}`).join(", ")}`).join("; ");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="dist-title dist-desc" font-family="sans-serif"><title id="dist-title">Learners per rating, by standard</title><desc id="dist-desc">${esc(desc)}</desc>${body}</svg>`;
}

export async function classPage(main: HTMLElement, snap: Snapshot): Promise<void> {
  const m = await dashboards();
  const params = new URLSearchParams(location.search);
  const size = params.get("size")?.match(/^(\d+)x(\d+)$/);
  let full = snap.class.heatmap;
  if (size) {
    // A synthetic class (deterministic values) to try the heatmap at scale: ?size=500x200.
    const [rows, cols] = [Number(size[1]), Number(size[2])];
    const columns = Array.from({ length: cols }, (_, c) => ({ id: `skill-${c}`, label: `S${c}` }));
    const values: Record<string, Record<string, number>> = {};
    for (let r = 0; r < rows; r++) {
      const row: Record<string, number> = {};
      for (let c = 0; c < cols; c++) row[columns[c].id] = ((r * 7919 + c * 104729) % 101) / 100;
      values[`Learner ${String(r).padStart(4, "0")}`] = row;
    }
    const t0 = performance.now();
    full = m.classHeatmap(values, columns, snap.scale) as Heatmap;
    console.info(`classHeatmap (the core's view model) of ${rows} x ${cols}: ${(performance.now() - t0).toFixed(1)} ms`);
  }
  const limit = size ? full.rows.length : params.get("all") ? full.rows.length : 40;
  const map = size ? full : lowestFirst(full, limit);
  const code = (id: string) => (snap.labels[id] ?? id).replace("CCSS.Math.Content.", "");
  const least = [...snap.class.summaries].sort((a, b) => a.mean - b.mean);
  const top = snap.scale.ratings[0]?.points ?? 4;
  // A large class (?size=500x200: 100,000 cells) is drawn on a canvas with a paged data table;
  // the SVG renderer's one element per cell would take seconds and stall frames.
  const large = map.rows.length * map.columns.length > CANVAS_CELLS;
  main.innerHTML = `<h1>Class view</h1><p class="lede">${esc(snap.course.title)} · ${snap.class.learners} learners</p>
  <div class="grid">
    ${figure("class-heat", "Class mastery", large ? "" : m.renderSvg("heatmap", map), `Each cell: a learner's mastery of a standard. ${size ? "" : `<a href="/teach/class?all=1">Show all ${full.rows.length} learners</a>.`}`, large ? "" : heatmapTable(map), `<div class="drill" id="class-drill" aria-live="polite"></div>`).replace('class="card"', 'class="card wide"')}
    ${figure("dist", "Distribution per standard", distribution(snap), "Learners at each rating of the course's proficiency scale.",
      table("Distribution per standard", ["Standard", ...snap.scale.ratings.map((r) => r.description)], snap.class.summaries.map((s) => [code(s.competency), ...s.levels.map((l) => l.count)])))}
    <section class="card" aria-labelledby="least-h"><h2 id="least-h">Least proficient standards</h2><ol class="list">${least.slice(0, 4)
      .map((s) => `<li><strong>${esc(code(s.competency))}</strong>: mean ${(s.mean / top * 100).toFixed(0)}%, ${Math.round(s.mastered_share * 100)}% of ${s.learners} learners mastered</li>`).join("")}</ol></section>
    <section class="card" aria-labelledby="risk-h"><h2 id="risk-h">At-risk alerts</h2><p class="small">Learners whose mastery data needs a look, lowest mean first.</p>
      <ul class="risk">${snap.class.at_risk.slice(0, 8).map((r) => `<li><strong>${esc(r.learner)}</strong> (mean ${pct(r.mean)}): ${esc(r.reasons.join("; "))}.</li>`).join("")}</ul></section>
  </div>`;
  const host = main.querySelector<HTMLElement>("#class-heat")!;
  const pager = large ? pagedHeatmapTable(host.closest("section")!.querySelector("details")!, map) : undefined;
  (large ? canvasHeatmap : interactiveHeatmap)(host, map, "Class mastery", (r) => {
    pager?.goto(r);
    const cells = map.cells[r].map((c, i) => `<li>${esc(map.columns[i].label.replace("CCSS.Math.Content.", ""))}: ${esc(c.text)}</li>`).join("");
    main.querySelector("#class-drill")!.innerHTML = `<h3>${esc(map.rows[r].label)}</h3><ul class="list">${cells}</ul>`;
  });
}
