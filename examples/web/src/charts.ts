/** Chart figures (the core's accessible SVG + a data table) and interactive heatmaps. */
import type { Heatmap } from "../wasm/dashboards/mastery_wasm.js";
import { esc } from "./util.js";

/** A figure: heading, the SVG, a caption and the same data as a table behind a disclosure. */
export function figure(id: string, title: string, svg: string, caption: string, table: string, extra = ""): string {
  return `<section class="card" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(title)}</h2>
  <figure><div class="chart" id="${id}">${svg}</div><figcaption>${caption}</figcaption></figure>${extra}
  <details><summary>Data table: ${esc(title)}</summary><div class="table-wrap">${table}</div></details></section>`;
}

export function table(caption: string, head: string[], rows: (string | number)[][]): string {
  return `<table><caption class="visually-hidden">${esc(caption)}</caption><thead><tr>${head
    .map((h) => `<th scope="col">${esc(h)}</th>`)
    .join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

export function heatmapTable(map: Heatmap, maxRows = 60): string {
  const rows = map.rows.slice(0, maxRows).map((r, i) => [r.label, ...map.cells[i].map((c) => c.text)]);
  return table(map.title, ["", ...map.columns.map((c) => c.label)], rows);
}

/**
 * Makes the heatmap SVG inside `host` interactive: hover or keyboard focus shows a cell's value
 * and the evidence behind it; arrow keys (and Home/End) move; Enter drills down. One focus stop
 * (the wrapper), a highlight rectangle that moves, and a polite live region: O(1) per key press
 * whatever the size of the map.
 */
export function interactiveHeatmap(host: HTMLElement, map: Heatmap, label: string, onDrill: (r: number, c: number) => void): void {
  const svg = host.querySelector("svg");
  if (!svg) return;
  const rows = map.rows.length, cols = map.columns.length;
  if (!rows || !cols) return;
  const info = document.createElement("p");
  info.className = "heat-info";
  info.setAttribute("aria-live", "polite");
  info.textContent = `Focus the chart and use the arrow keys to read each cell; Enter shows the details.`;
  host.classList.add("heatmap");
  host.tabIndex = 0;
  host.setAttribute("role", "group");
  host.setAttribute("aria-label", `${label}: ${rows} rows by ${cols} columns; arrow keys move, Enter shows details`);
  host.after(info);
  // Every cell once, by position; the highlight lives in its own SVG laid over the chart, so moving
  // it repaints a rectangle, not the whole chart.
  const cells: SVGRectElement[] = [];
  for (const rect of svg.querySelectorAll<SVGRectElement>("rect[data-r]")) cells[Number(rect.dataset.r) * cols + Number(rect.dataset.c)] = rect;
  const cellAt = (r: number, c: number) => cells[r * cols + c];
  const NS = "http://www.w3.org/2000/svg";
  const overlay = document.createElementNS(NS, "svg");
  overlay.setAttribute("viewBox", svg.getAttribute("viewBox") ?? "");
  overlay.setAttribute("aria-hidden", "true");
  overlay.setAttribute("style", "position:absolute;left:0;top:0;pointer-events:none;overflow:visible;will-change:transform");
  const mark = document.createElementNS(NS, "rect");
  mark.setAttribute("fill", "none");
  mark.setAttribute("stroke", "#000");
  mark.setAttribute("stroke-width", "2.5");
  mark.style.display = "none";
  overlay.appendChild(mark);
  host.style.position = "relative";
  host.appendChild(overlay);
  const fit = () => {
    overlay.style.width = `${svg.clientWidth}px`;
    overlay.style.height = `${svg.clientHeight}px`;
    const [a, b] = [svg.getBoundingClientRect(), host.getBoundingClientRect()];
    overlay.style.left = `${a.left - b.left + host.scrollLeft}px`;
    overlay.style.top = `${a.top - b.top + host.scrollTop}px`;
  };
  new ResizeObserver(fit).observe(svg);
  fit();
  let r = 0, c = 0;
  const describe = (rr: number, cc: number) => {
    const cell = map.cells[rr]?.[cc];
    if (!cell) return "";
    const full = (id: string, fallback: string) => map.full_labels?.[id] ?? fallback;
    const row = full(map.rows[rr].id, map.rows[rr].label), col = full(map.columns[cc].id, map.columns[cc].label);
    return `${row} — ${col}: ${cell.text}${cell.evidence ? ` (evidence: ${cell.evidence})` : ""}`;
  };
  const show = (rr: number, cc: number) => {
    const rect = cellAt(rr, cc);
    if (!rect) return;
    for (const a of ["x", "y", "width", "height"]) mark.setAttribute(a, rect.getAttribute(a) ?? "0");
    mark.style.display = "";
    info.textContent = describe(rr, cc);
  };
  host.addEventListener("focus", () => show(r, c));
  host.addEventListener("keydown", (e) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.key in moves) {
      const [dr, dc] = moves[e.key];
      r = Math.min(rows - 1, Math.max(0, r + dr));
      c = Math.min(cols - 1, Math.max(0, c + dc));
    } else if (e.key === "Home") c = 0;
    else if (e.key === "End") c = cols - 1;
    else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onDrill(r, c);
      return;
    } else return;
    e.preventDefault();
    show(r, c);
  });
  svg.addEventListener("mousemove", (e) => {
    const t = e.target as Element;
    if (t instanceof SVGRectElement && t.dataset.r !== undefined) {
      r = Number(t.dataset.r);
      c = Number(t.dataset.c);
      show(r, c);
    }
  });
  svg.addEventListener("click", (e) => {
    const t = e.target as Element;
    if (t instanceof SVGRectElement && t.dataset.r !== undefined) onDrill(Number(t.dataset.r), Number(t.dataset.c));
  });
}
