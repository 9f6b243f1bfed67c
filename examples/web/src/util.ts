/** Small DOM helpers: escaping, element creation, timings. */

export function esc(text: unknown): string {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function pct(value: number | null | undefined): string {
  return value == null ? "no evidence" : `${Math.round(value * 100)}%`;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, html = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.innerHTML = html;
  return node;
}

/** Records how long a route took from navigation to its first complete render. */
export function recordRender(route: string, started: number): number {
  const ms = performance.now() - started;
  const w = window as unknown as { __renders?: Record<string, number> };
  (w.__renders ??= {})[route] = ms;
  document.documentElement.dataset.rendered = route;
  return ms;
}
