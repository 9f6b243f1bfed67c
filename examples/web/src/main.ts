/** The app: three routes on the WASM package, rendered on the client. */
import { load, source } from "./data.js";
import { recordRender } from "./util.js";

type Page = (main: HTMLElement, snap: Awaited<ReturnType<typeof load>>) => Promise<void>;
const routes: Record<string, { title: string; page: () => Promise<Page> }> = {
  "/learn/progress": { title: "My progress", page: async () => (await import("./pages/progress.js")).progressPage },
  "/learn/achievements": { title: "My achievements", page: async () => (await import("./pages/achievements.js")).achievementsPage },
  "/teach/class": { title: "Class view", page: async () => (await import("./pages/klass.js")).classPage },
};

async function route(focus: boolean): Promise<void> {
  const started = performance.now();
  const path = routes[location.pathname] ? location.pathname : "/learn/progress";
  if (path !== location.pathname) history.replaceState(null, "", path + location.search);
  const main = document.getElementById("main")!;
  const { title, page } = routes[path];
  document.title = `${title} · Mastery`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>("a[data-link]")) {
    if (a.pathname === path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const [render, snap] = await Promise.all([page(), load()]);
  await render(main, snap);
  // Charts grow to at most 1.3 times their natural size (a 6-column heatmap stays small).
  for (const svg of main.querySelectorAll<SVGSVGElement>(".chart > svg")) {
    const w = svg.viewBox.baseVal?.width;
    if (w) svg.style.maxWidth = `${Math.round(w * 1.3)}px`;
  }
  document.getElementById("source")!.textContent = `Data: ${source}.`;
  const ms = recordRender(path, started);
  console.info(`render ${path}: ${ms.toFixed(1)} ms`);
  if (focus) main.focus();
}

document.addEventListener("click", (e) => {
  const a = (e.target as Element).closest?.("a[data-link]") as HTMLAnchorElement | null;
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  history.pushState(null, "", a.pathname);
  void route(true);
});
window.addEventListener("popstate", () => void route(true));
void route(false);
