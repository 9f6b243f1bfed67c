/** Chart figures (the core's accessible SVG + a data table) and interactive heatmaps. */
import type { Heatmap, HeatmapCell } from "../wasm/dashboards/mastery_wasm.js";
import { esc } from "./util.js";

/** A figure: heading, the SVG, a caption and the same data as a table behind a disclosure. */
export function figure(id: string, title: string, svg: string, caption: string, table: string, extra = ""): string {
  return `<section class="card" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(title)}</h2>
  <figure><div class="chart" id="${id}">${svg}</div><figcaption>${caption}</figcaption></figure>${extra}
  <details><summary>Data table: ${esc(title)}</summary><div class="table-wrap" tabindex="0" role="region" aria-label="Data table: ${esc(title)}">${table}</div></details></section>`;
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

/** Above this many cells a heatmap is drawn on a canvas instead of as SVG (one element, not one per cell). */
export const CANVAS_CELLS = 10_000;

/**
 * A large heatmap drawn on one `<canvas>` (the SVG renderer's geometry: 8-unit cells, labels
 * every tenth row and column, the colour key below) inside `host`, with the same interaction as
 * {@link interactiveHeatmap}: one tab stop, arrows/Home/End/PageUp/PageDown/Ctrl+Home/Ctrl+End
 * move, Enter drills down, hover follows the mouse; a focus ring and a tooltip (two absolutely
 * positioned elements) mark the active cell and a polite live region reads it. The canvas keeps
 * `role="img"` with the chart's title and description. Moving costs O(1) whatever the size.
 */
export function canvasHeatmap(host: HTMLElement, map: Heatmap, label: string, onDrill: (r: number, c: number) => void): void {
  const rows = map.rows.length, cols = map.columns.length;
  // Equal cells share one object: the view model's 100,000 cells (and 200,000 strings) become a
  // few hundred, so the page keeps less live heap for every later garbage collection to mark.
  const shared = new Map<string, HeatmapCell>();
  for (const line of map.cells) {
    for (let c = 0; c < line.length; c++) {
      const v = line[c], key = `${v.value}|${v.color}|${v.text}|${v.evidence ?? ""}`;
      const kept = shared.get(key);
      if (kept) line[c] = kept;
      else shared.set(key, v);
    }
  }
  shared.clear();
  const cell = 8;
  const rowText = (r: number) => map.rows[r].label.slice(0, 24);
  const longest = map.rows.reduce((m, _, r) => (r % 10 === 0 ? Math.max(m, rowText(r).length) : m), 0);
  const left = 12 + longest * 6.2, top = 24;
  const gridW = cols * cell, gridH = rows * cell;
  const legend = map.legend ?? [];
  const width = Math.max(320, left + gridW + 20);
  const entryW = (e: { label: string }) => 24 + e.label.length * 6.5 + 12;
  const places: [number, number][] = [];
  let lx = 10, ly = top + gridH + 16;
  for (const e of legend) {
    if (lx > 10 && lx + entryW(e) > width) [lx, ly] = [10, ly + 20];
    places.push([lx, ly]);
    lx += entryW(e);
  }
  const height = ly + (legend.length ? 24 : 4);
  const id = host.id || "heat";
  const desc = `${rows} rows by ${cols} columns; focus the chart to read each cell with the arrow keys; a data table follows the chart.`;
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-labelledby", `${id}-t`);
  canvas.setAttribute("aria-describedby", `${id}-d`);
  canvas.textContent = `${map.title}. ${desc}`;
  const ctx = canvas.getContext("2d", { alpha: false })!;
  const rgba = new Map<string, number>();
  const toPixel = (color: string): number => {
    let v = rgba.get(color);
    if (v === undefined) {
      ctx.fillStyle = "#000000";
      ctx.fillStyle = color;
      const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(ctx.fillStyle));
      const [red, green, blue] = m ? [1, 2, 3].map((i) => parseInt(m[i], 16)) : [204, 204, 204];
      v = ((255 << 24) | (blue << 16) | (green << 8) | red) >>> 0; // little-endian RGBA
      rgba.set(color, v);
    }
    return v;
  };
  // Chart units to CSS pixels: the chart fits the card's width (at most 1.3 times its natural size).
  let scale = 1;
  /**
   * Draws at the size the canvas is shown (device pixels, capped at 16 million), so the
   * compositor copies it rather than resampling a larger bitmap on every scroll.
   */
  const draw = () => {
    const cssW = Math.max(160, Math.min(host.clientWidth || width, width * 1.3));
    scale = cssW / width;
    const k = Math.min(scale * (window.devicePixelRatio || 1), Math.sqrt(16e6 / (width * height)));
    canvas.width = Math.round(width * k);
    canvas.height = Math.round(height * k);
    canvas.style.width = `${cssW}px`;
    canvas.style.height = `${height * scale}px`;
    ctx.setTransform(k, 0, 0, k, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    // The cells straight into the pixels (no path or anti-aliasing work), a band of 32 rows at a
    // time through one reused ImageData (not one the size of the canvas): a scanline per row of
    // cells, copied down the cell's height; one pixel of white left of and above each cell as the
    // SVG's stroke
    const W = canvas.width;
    const at = (u: number) => Math.round(u * k);
    // (No gap when a cell is under 3 device pixels: the white would drown the colours.)
    const gap = cell * k >= 3 ? 1 : 0;
    const span = (from: number, to: number): [number, number] => [at(from) + gap, Math.max(at(from) + gap + 1, at(to))];
    const xs = Array.from({ length: cols }, (_, c) => span(left + c * cell, left + (c + 1) * cell));
    const BAND = 32;
    const image = ctx.createImageData(W, at(top + BAND * cell) - at(top) + 2);
    const px = new Uint32Array(image.data.buffer);
    for (let r0 = 0; r0 < rows; r0 += BAND) {
      const r1 = Math.min(rows, r0 + BAND), y00 = at(top + r0 * cell), bandH = at(top + r1 * cell) - y00 + 1;
      px.fill(0xffffffff);
      for (let r = r0; r < r1; r++) {
        const [y0, y1] = span(top + r * cell, top + (r + 1) * cell);
        const line = map.cells[r], base = (y0 - y00) * W;
        for (let c = 0; c < cols && c < line.length; c++) px.fill(toPixel(line[c].color), base + xs[c][0], base + xs[c][1]);
        const [a, b] = [base + xs[0][0], base + xs[cols - 1][1]];
        for (let y = y0 + 1; y < y1; y++) px.copyWithin((y - y00) * W + xs[0][0], a, b);
      }
      ctx.putImageData(image, 0, y00, 0, 0, W, bandH);
    }
    ctx.fillStyle = "#1a1a1a";
    ctx.font = "10px sans-serif";
    ctx.textAlign = "end";
    for (let r = 0; r < rows; r += 10) ctx.fillText(rowText(r), left - 4, top + r * cell + cell / 2 + 3.5);
    ctx.textAlign = "start";
    for (let c = 0; c < cols; c += 10) ctx.fillText(map.columns[c].label.slice(0, 8), left + c * cell, top - 6);
    ctx.font = "11px sans-serif";
    legend.forEach((e, i) => {
      const [x, y] = places[i];
      ctx.fillStyle = e.color;
      ctx.fillRect(x, y, 16, 12);
      ctx.strokeStyle = "#999999";
      ctx.lineWidth = 0.5;
      ctx.strokeRect(x, y, 16, 12);
      ctx.fillStyle = "#1a1a1a";
      ctx.fillText(e.label, x + 20, y + 10);
    });
  };

  const names = document.createElement("div");
  names.hidden = true;
  names.innerHTML = `<span id="${id}-t">${esc(map.title)}</span><span id="${id}-d">${esc(desc)}</span>`;
  const ring = document.createElement("div");
  ring.className = "heat-ring";
  ring.setAttribute("aria-hidden", "true");
  ring.hidden = true;
  const tip = document.createElement("div");
  tip.className = "heat-tip";
  tip.setAttribute("aria-hidden", "true");
  tip.hidden = true;
  const info = document.createElement("p");
  info.className = "heat-info";
  info.setAttribute("aria-live", "polite");
  info.textContent = `Focus the chart and use the arrow keys to read each cell; Enter shows the details.`;
  host.classList.add("heatmap", "canvas-heatmap");
  host.tabIndex = 0;
  host.setAttribute("role", "group");
  host.setAttribute("aria-label", `${label}: ${rows} rows by ${cols} columns; arrow keys, Page Up/Down, Home/End move, Enter shows details`);
  host.replaceChildren(canvas, ring, tip, names);
  host.after(info);

  draw();
  // Where the canvas sits in the host, measured once per size (not on every move).
  const at = { x: 0, y: 0, w: 0 };
  const measure = () => Object.assign(at, { x: canvas.offsetLeft, y: canvas.offsetTop, w: host.clientWidth });
  measure();
  // Redrawn when the card's width changes (a window resize), once per frame at most.
  let drawnFor = host.clientWidth, pending = 0;
  new ResizeObserver(() => {
    if (host.clientWidth === drawnFor || pending) return;
    pending = requestAnimationFrame(() => {
      pending = 0;
      drawnFor = host.clientWidth;
      draw();
      measure();
      ring.hidden = tip.hidden = true;
    });
  }).observe(host);
  const full = (l: { id: string; label: string }) => map.full_labels?.[l.id] ?? l.label;
  const describe = (rr: number, cc: number) => {
    const v = map.cells[rr]?.[cc];
    if (!v) return "";
    return `${full(map.rows[rr])} — ${full(map.columns[cc])}: ${v.text}${v.evidence ? ` (evidence: ${v.evidence})` : ""}`;
  };
  let r = 0, c = 0, shown = -1;
  const show = (rr: number, cc: number, scroll: boolean) => {
    if (rr * cols + cc === shown && !ring.hidden) return;
    shown = rr * cols + cc;
    // Reads before writes (no layout forced in the middle of a frame): where the canvas is, then
    // transforms for the ring and the tooltip, text for the tooltip and the live region.
    const box = scroll ? canvas.getBoundingClientRect() : null;
    const x = (left + cc * cell) * scale + at.x, y = (top + rr * cell) * scale + at.y, s = cell * scale;
    ring.style.width = ring.style.height = `${s + 4}px`;
    ring.style.transform = `translate(${x - 2}px, ${y - 2}px)`;
    ring.hidden = false;
    const text = describe(rr, cc);
    tip.textContent = text;
    tip.hidden = false;
    const flip = x > at.w / 2;
    tip.style.transform = `translate(${flip ? `calc(${x - 6}px - 100%)` : `${x + s + 6}px`}, ${y - 4}px)`;
    info.textContent = text;
    if (box) {
      // Keep the active cell on screen (the page scrolls; the canvas is as tall as the class).
      const cy = box.top + y - at.y;
      if (cy < 40) window.scrollBy(0, cy - 80);
      else if (cy + s > window.innerHeight - 40) window.scrollBy(0, cy + s - window.innerHeight + 80);
    }
  };
  host.addEventListener("focus", () => show(r, c, false));
  host.addEventListener("blur", () => { tip.hidden = true; });
  host.addEventListener("keydown", (e) => {
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], PageUp: [-10, 0], PageDown: [10, 0] };
    if (e.key in moves) {
      const [dr, dc] = moves[e.key];
      r = Math.min(rows - 1, Math.max(0, r + dr));
      c = Math.min(cols - 1, Math.max(0, c + dc));
    } else if (e.key === "Home") [r, c] = [e.ctrlKey ? 0 : r, 0];
    else if (e.key === "End") [r, c] = [e.ctrlKey ? rows - 1 : r, cols - 1];
    else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onDrill(r, c);
      return;
    } else if (e.key === "Escape") {
      tip.hidden = true;
      return;
    } else return;
    e.preventDefault();
    show(r, c, true);
  });
  const hit = (e: MouseEvent): [number, number] | null => {
    const box = canvas.getBoundingClientRect();
    const x = (e.clientX - box.left) / scale - left, y = (e.clientY - box.top) / scale - top;
    const cc = Math.floor(x / cell), rr = Math.floor(y / cell);
    return cc >= 0 && cc < cols && rr >= 0 && rr < rows ? [rr, cc] : null;
  };
  canvas.addEventListener("mousemove", (e) => {
    const at = hit(e);
    if (!at) return;
    [r, c] = at;
    show(r, c, false);
  });
  canvas.addEventListener("mouseleave", () => { if (document.activeElement !== host) tip.hidden = true; });
  canvas.addEventListener("click", (e) => {
    const at = hit(e);
    if (at) onDrill(...at);
  });
}

/**
 * The data table of a large heatmap, a page of rows at a time (a 100,000-cell table is itself too
 * heavy): built when its disclosure opens, with Previous/Next buttons and a status.
 */
export function pagedHeatmapTable(details: HTMLDetailsElement, map: Heatmap, pageSize = 25): { goto: (row: number) => void } {
  const wrap = details.querySelector<HTMLElement>(".table-wrap")!;
  const pages = Math.ceil(map.rows.length / pageSize);
  let page = 0;
  wrap.insertAdjacentHTML("beforebegin", `<div class="pager"><button type="button" class="secondary" data-step="-1">Previous ${pageSize}</button>
    <span class="pager-status" aria-live="polite"></span><button type="button" class="secondary" data-step="1">Next ${pageSize}</button></div>`);
  const status = details.querySelector<HTMLElement>(".pager-status")!;
  const draw = () => {
    const from = page * pageSize, to = Math.min(map.rows.length, from + pageSize);
    const rows = map.rows.slice(from, to).map((r, i) => [r.label, ...map.cells[from + i].map((c) => c.text)]);
    wrap.innerHTML = table(`${map.title}, rows ${from + 1} to ${to} of ${map.rows.length}`, ["", ...map.columns.map((c) => c.label)], rows);
    status.textContent = `Rows ${from + 1}–${to} of ${map.rows.length}`;
    for (const b of details.querySelectorAll<HTMLButtonElement>(".pager button")) b.disabled = page + Number(b.dataset.step) < 0 || page + Number(b.dataset.step) >= pages;
  };
  details.querySelector(".pager")!.addEventListener("click", (e) => {
    const b = (e.target as Element).closest<HTMLButtonElement>("button[data-step]");
    if (!b) return;
    page = Math.min(pages - 1, Math.max(0, page + Number(b.dataset.step)));
    draw();
  });
  let drawn = false;
  details.addEventListener("toggle", () => { if (details.open && !drawn) { drawn = true; draw(); } });
  return { goto: (row: number) => { page = Math.floor(row / pageSize); if (drawn || details.open) draw(); } };
}
