// The browser suite of the web example: Debian's chromium, headless, driven by playwright-core.
// Every route loads without a console error; keyboard-only walks through a heatmap and the
// gallery; axe-core finds no WCAG 2.1 AA violation; screenshots at 360, 768 and 1280 px match the
// baselines in tests/screenshots (UPDATE_SCREENSHOTS=1 rewrites them); the certificate prints on
// one page and the downloaded PDF names the learner and achievement; a tampered credential fails
// with the failing check named. Timings are printed, never asserted.
// Usage: node tests/browser.mjs   (after node build.mjs)
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import pixelmatch from "pixelmatch";
import { PNG } from "pngjs";
import { serve } from "../serve.mjs";
import { heatmapFrames, summary } from "./heatmap-frames.mjs";

const require = createRequire(import.meta.url);
const here = fileURLToPath(new URL(".", import.meta.url));
const shots = `${here}screenshots/`;
const out = `${here}../test-output/`;
mkdirSync(shots, { recursive: true });
mkdirSync(out, { recursive: true });
const update = process.env.UPDATE_SCREENSHOTS === "1";
const ROUTES = ["/learn/progress", "/learn/achievements", "/teach/class"];
const WIDTHS = [360, 768, 1280];
// Anti-aliasing differs a little between runs: a pixel counts when its colour moves by more than
// pixelmatch's 0.1 threshold, and up to 0.5 % of the pixels may.
const TOLERANCE = 0.005;

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

const server = await serve(0);
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--font-render-hinting=none"],
});

/** A page at `width` px that records console errors, page errors and failed requests. */
async function open(path, width = 1280) {
  const page = await browser.newPage({ viewport: { width, height: 900 }, deviceScaleFactor: 1, acceptDownloads: true });
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("requestfailed", (r) => errors.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.url()}: HTTP ${r.status()}`); });
  await page.goto(base + path);
  await page.waitForFunction(() => document.documentElement.dataset.rendered, null, { timeout: 30_000 });
  const ms = await page.evaluate(() => Object.values(window.__renders ?? {})[0]);
  return { page, errors, ms };
}

// ---------------------------------------------------------------- load, console, axe, render time
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
for (const route of ROUTES) {
  const { page, errors, ms } = await open(route);
  console.log(`render ${route}: ${ms.toFixed(1)} ms (navigation to first complete render, in the browser)`);
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  for (const v of result.violations) console.log(`  axe ${v.id}: ${v.help} (${v.nodes.length}) ${v.nodes[0]?.target}`);
  check(result.violations.length === 0, `${route}: axe-core WCAG 2.1 AA, ${result.violations.length} violations`);
  check(errors.length === 0, `${route}: no console errors${errors.length ? `: ${errors.join(" | ")}` : ""}`);
  await page.close();
}

// ---------------------------------------------------------------- screenshots at three widths
for (const route of ROUTES) {
  for (const width of WIDTHS) {
    const { page } = await open(route, width);
    await page.evaluate(() => document.fonts.ready);
    const png = await page.screenshot({ fullPage: true, animations: "disabled" });
    await page.close();
    const name = `${route.slice(1).replaceAll("/", "-")}-${width}.png`;
    if (update || !existsSync(shots + name)) {
      writeFileSync(shots + name, png);
      console.log(`wrote baseline ${name}`);
      continue;
    }
    const [a, b] = [PNG.sync.read(readFileSync(shots + name)), PNG.sync.read(png)];
    if (a.width !== b.width || a.height !== b.height) {
      writeFileSync(out + name, png);
      check(false, `${name}: ${b.width}x${b.height}, baseline ${a.width}x${a.height} (actual in test-output/)`);
      continue;
    }
    const diff = new PNG({ width: a.width, height: a.height });
    const n = pixelmatch(a.data, b.data, diff.data, a.width, a.height, { threshold: 0.1 });
    if (n > TOLERANCE * a.width * a.height) {
      writeFileSync(out + name, png);
      writeFileSync(out + name.replace(".png", "-diff.png"), PNG.sync.write(diff));
    }
    check(n <= TOLERANCE * a.width * a.height, `${name}: ${n} pixels differ from the baseline`);
  }
}

// ---------------------------------------------------------------- keyboard: heatmap
{
  const { page } = await open("/learn/progress");
  let found = false;
  for (let i = 0; i < 60 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement?.id === "weeks");
  }
  check(found, "keyboard: Tab reaches the weeks heatmap");
  const info = () => page.evaluate(() => document.querySelector("#weeks + .heat-info")?.textContent ?? "");
  const first = await info();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowDown");
  const moved = await info();
  check(first !== moved && /—.*:/.test(moved), `keyboard: arrows move through cells ("${moved}")`);
  await page.keyboard.press("Enter");
  const drill = await page.evaluate(() => document.querySelector("#weeks-drill")?.textContent ?? "");
  check(drill.length > 0, `keyboard: Enter drills down ("${drill.slice(0, 60)}…")`);
  await page.close();
}

// ---------------------------------------------------------------- keyboard: gallery, certificate
{
  const { page } = await open("/learn/achievements");
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement?.hasAttribute("data-view") ?? false);
  }
  check(found, "keyboard: Tab reaches a badge's 'View certificate'");
  await page.keyboard.press("Enter");
  const focus = await page.evaluate(() => document.activeElement?.id);
  check(focus === "print", `keyboard: Enter opens the certificate and focuses Print (${focus})`);
  // Verify, by keyboard: Tab to the Verify button and press Enter.
  for (let i = 0; i < 5; i++) {
    if (await page.evaluate(() => document.activeElement?.id === "verify")) break;
    await page.keyboard.press("Tab");
  }
  await page.keyboard.press("Enter");
  const verdict = await page.textContent("#verdict");
  check(/Valid/.test(verdict ?? ""), `verify: the issued credential checks out ("${verdict}")`);

  // Print to PDF: one page.
  await page.emulateMedia({ media: "print" });
  const printed = await page.pdf({ format: "A4", landscape: true, printBackground: true, preferCSSPageSize: true });
  const pages = (printed.toString("latin1").match(/\/Type\s*\/Page[^s]/g) ?? []).length;
  check(pages === 1, `print: the certificate prints on ${pages} page(s)`);
  await page.emulateMedia({ media: "screen" });

  // Download the PDF and read its text.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#pdf")]);
  const pdf = readFileSync(await download.path()).toString("latin1");
  const text = [...pdf.matchAll(/\(((?:\\.|[^\\)])*)\)\s*Tj/g)].map((m) => m[1]).join(" ");
  const achievement = await page.evaluate(() => document.querySelector("#certificate")?.dataset.achievement);
  check(pdf.startsWith("%PDF") && text.includes("Ada Learner") && text.includes(achievement ?? "?"),
    `download: the PDF names the learner and "${achievement}"`);

  // A tampered credential: the payload says another achievement, the signature stays.
  const jwt = await page.inputValue("#jwt");
  const [h, p, s] = jwt.split(".");
  const payload = JSON.parse(Buffer.from(p, "base64url").toString());
  const subject = payload.vc?.credentialSubject ?? payload.credentialSubject;
  subject.achievement.name = "Everything mastered";
  await page.fill("#jwt", [h, Buffer.from(JSON.stringify(payload)).toString("base64url"), s].join("."));
  await page.click("#verify-text");
  const failed = await page.evaluate(() =>
    [...document.querySelectorAll("#checks li[data-passed=false]")].map((li) => li.dataset.check));
  const tamperedVerdict = await page.textContent("#verdict");
  check(failed.includes("signature") && /Not valid: .*signature/.test(tamperedVerdict ?? ""),
    `tampered: "${tamperedVerdict}"`);
  await page.close();
}

// ---------------------------------------------------------------- 500 x 200 class heatmap
// Drawn on one canvas: the page keeps a few hundred elements, one tab stop, a focus ring and a
// tooltip over the active cell, a live region, a paged data table. Frames while walking by
// keyboard, hovering and scrolling (tests/heatmap-frames.mjs) are printed, not asserted.
{
  const { page } = await open("/teach/class");
  console.log(`40x6 class heatmap, frames while moving by keyboard, mouse and scroll: ${summary(await heatmapFrames(page))}`);
  await page.close();
}
{
  const { page, errors, ms } = await open("/teach/class?size=500x200");
  const elements = await page.evaluate(() => document.getElementsByTagName("*").length);
  console.log(`render /teach/class?size=500x200: ${ms.toFixed(1)} ms, ${elements} elements in the page`);
  const canvas = await page.evaluate(() => {
    const c = document.querySelector("#class-heat > canvas");
    return c && { role: c.getAttribute("role"), title: document.getElementById(c.getAttribute("aria-labelledby"))?.textContent,
      desc: document.getElementById(c.getAttribute("aria-describedby"))?.textContent };
  });
  check(canvas?.role === "img" && /Class|mastery/i.test(canvas.title ?? "") && /500 rows by 200 columns/.test(canvas.desc ?? ""),
    `500x200: one canvas with role img, title and description (${elements} elements)`);
  const frames = await heatmapFrames(page);
  console.log(`500x200 class heatmap, frames while moving by keyboard, mouse and scroll: ${summary(frames)}`);
  // Keyboard: the live region and the tooltip name the learner, the standard and the value.
  await page.focus("#class-heat");
  for (const k of ["Control+Home", "ArrowRight", "ArrowRight", "ArrowDown", "PageDown"]) await page.keyboard.press(k);
  const text = await page.evaluate(() => document.querySelector("#class-heat + .heat-info")?.textContent ?? "");
  const tip = await page.evaluate(() => { const t = document.querySelector("#class-heat .heat-tip"); return t && !t.hidden ? t.textContent : ""; });
  check(/^Learner 0011 — S2: \d+%/.test(text) && tip === text, `500x200: arrows and Page Down move through the cells ("${text}")`);
  await page.keyboard.press("Enter");
  const drill = await page.evaluate(() => document.querySelector("#class-drill h3")?.textContent);
  check(drill === "Learner 0011", `500x200: Enter drills down to the learner (${drill})`);
  // Mouse: hovering a cell shows it.
  const box = await page.evaluate(() => { const b = document.querySelector("#class-heat > canvas").getBoundingClientRect(); return { x: b.x, y: b.y, w: b.width }; });
  await page.mouse.move(box.x + box.w / 2, Math.max(box.y, 0) + 200);
  const hovered = await page.evaluate(() => document.querySelector("#class-heat .heat-tip")?.textContent ?? "");
  check(/^Learner \d+ — S\d+: \d+%/.test(hovered), `500x200: hover shows the cell ("${hovered}")`);
  // The data table, a page at a time.
  await page.evaluate(() => { document.querySelector("#class-heat").closest("section").querySelector("details").open = true; });
  await page.click(".pager button[data-step='1']");
  const rows = await page.evaluate(() => [document.querySelectorAll("#class-heat ~ * tbody tr, section:has(#class-heat) tbody tr").length, document.querySelector(".pager-status")?.textContent]);
  check(rows[0] === 25 && rows[1] === "Rows 26–50 of 500", `500x200: the data table pages (${rows[0]} rows, "${rows[1]}")`);
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  for (const v of result.violations) console.log(`  axe ${v.id}: ${v.help} (${v.nodes.length}) ${v.nodes[0]?.target}`);
  check(result.violations.length === 0, `500x200 (table open): axe-core WCAG 2.1 AA, ${result.violations.length} violations`);
  check(errors.length === 0, `500x200: no console errors${errors.length ? `: ${errors.join(" | ")}` : ""}`);
  await page.close();
}

// ---------------------------------------------------------------- the npm package as web developers use it
// mastery-wasm/pkg/web (built by the wasm-js suite, or mastery-wasm/scripts/package.sh) loaded by
// a plain <script type="module"> and by an esbuild bundle of `import ... from "@mastery/wasm"`.
{
  const { cpSync, rmSync, symlinkSync } = await import("node:fs");
  const esbuild = await import("esbuild");
  const pkg = fileURLToPath(new URL("../../../mastery-wasm/", import.meta.url));
  if (!existsSync(`${pkg}pkg/web/mastery_wasm_bg.wasm`)) {
    check(false, "npm package: mastery-wasm/pkg/web is missing (run mastery-wasm/scripts/package.sh)");
  } else {
    const root = `${out}package-site/`;
    rmSync(root, { recursive: true, force: true });
    mkdirSync(`${root}esbuild`, { recursive: true });
    cpSync(`${pkg}pkg/web`, `${root}pkg`, { recursive: true });
    // As if installed: node_modules/@mastery/wasm is the package directory.
    mkdirSync(`${root}node_modules/@mastery`, { recursive: true });
    symlinkSync(pkg, `${root}node_modules/@mastery/wasm`);
    const script = `import init, { renderSvg } from "./pkg/mastery_wasm.js";
      await init();
      const map = { title: "t", rows: [{ id: "r", label: "r" }], columns: [{ id: "c", label: "c" }], cells: [[{ value: 0.5, color: "#888888", text: "50%" }]] };
      document.body.innerHTML = renderSvg("heatmap", map) + renderSvg("heatmap", { ...map, title: "u" });
      document.body.dataset.ok = "1";`;
    writeFileSync(`${root}index.html`, `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>plain</title><script type="module">${script}</script></html>`);
    // esbuild resolves "@mastery/wasm" through the package's exports (browser: pkg/web); the wasm
    // is copied beside the bundle and its URL passed to init.
    await esbuild.build({
      stdin: { contents: script.replace("./pkg/mastery_wasm.js", "@mastery/wasm").replace("await init();", "await init({ module_or_path: \"./mastery_wasm_bg.wasm\" });"), resolveDir: root },
      bundle: true, format: "esm", platform: "browser", outfile: `${root}esbuild/app.js`, logLevel: "error",
    });
    cpSync(`${pkg}pkg/web/mastery_wasm_bg.wasm`, `${root}esbuild/mastery_wasm_bg.wasm`);
    writeFileSync(`${root}esbuild/index.html`, `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>esbuild</title><script type="module" src="app.js"></script></html>`);
    // Types: both entry points' .d.ts pass `tsc --strict` with the default lib; chart kinds are a union.
    writeFileSync(`${root}types.ts`, `import * as node from "${pkg}pkg/node/mastery_wasm.js";
import init, * as web from "${pkg}pkg/web/mastery_wasm.js";
const kind: web.ChartKind = "heatmap";
// @ts-expect-error: not a chart kind
const wrong: web.ChartKind = "pie";
export const used = [node.renderSvg, web.renderSvg, init, kind, wrong];
`);
    const { execFileSync } = await import("node:child_process");
    let tsc = "";
    try {
      writeFileSync(`${root}tsconfig.json`, JSON.stringify({ files: ["types.ts"], compilerOptions: {
        strict: true, noEmit: true, target: "es2020", module: "es2020", moduleResolution: "bundler", types: [] } }));
      execFileSync(`${here}../node_modules/.bin/tsc`, ["-p", root], { encoding: "utf8" });
    } catch (e) {
      tsc = `${e.stdout}`;
    }
    check(tsc === "", `npm package: .d.ts pass tsc --strict with the default lib${tsc ? `: ${tsc}` : ""}`);
    // Vite: `await init()` with no argument; Vite copies the wasm that `new URL(..., import.meta.url)` names.
    mkdirSync(`${root}vite-src`, { recursive: true });
    writeFileSync(`${root}vite-src/main.js`, script.replace("./pkg/mastery_wasm.js", "@mastery/wasm"));
    writeFileSync(`${root}vite-src/index.html`, `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>vite</title><script type="module" src="./main.js"></script></html>`);
    const vite = await import("vite");
    await vite.build({ root: `${root}vite-src`, base: "/vite/", logLevel: "error", configFile: false,
      resolve: { preserveSymlinks: false }, build: { outDir: `${root}vite`, emptyOutDir: true, target: "es2022" } });
    const site = await serve(0, root);
    for (const [name, path] of [["plain <script type=module>", "/index.html"], ["esbuild bundle", "/esbuild/index.html"], ["Vite build", "/vite/index.html"]]) {
      const page = await browser.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await page.goto(`http://127.0.0.1:${site.address().port}${path}`);
      const ok = await page.waitForFunction(() => document.body?.dataset.ok, null, { timeout: 15_000 }).then(() => true, () => false);
      const ids = await page.evaluate(() => [...document.querySelectorAll("svg > title")].map((t) => t.id));
      check(ok && errors.length === 0 && new Set(ids).size === ids.length && ids.length === 2,
        `npm package, ${name}: loads, renders two charts with distinct ids ${JSON.stringify(ids)}${errors.length ? `; errors: ${errors.join(" | ")}` : ""}`);
      await page.close();
    }
    // AsyncEngine over IndexedDB (js/idb_store.mjs): a thousand records give the synchronous
    // engine's states and dashboard, and a fresh engine on the reopened database reads them back.
    cpSync(`${pkg}js/idb_store.mjs`, `${root}idb_store.js`);
    writeFileSync(`${root}idb.html`, `<!doctype html><html lang="en"><link rel="icon" href="data:,"><title>idb</title><script type="module">
      import init, { AsyncEngine, Engine } from "./pkg/mastery_wasm.js";
      import { IdbStore } from "./idb_store.js";
      await init();
      const service = { tenant: "t1", user: "importer", roles: [{ role: "service" }] };
      const tutor = { tenant: "t1", user: "tia", roles: [{ role: "instructor", courses: ["c1"] }] };
      const start = Date.parse("2026-01-01T00:00:00Z");
      const records = Array.from({ length: 1000 }, (_, i) => ({ id: "e" + i, learner: "l" + (i % 20), course: "c1",
        competencies: ["k" + (i % 5)], kind: "response", score: { scaled: ((i * 37) % 101) / 100 },
        occurred_at: new Date(start + (i % 10 === 9 ? i - 500 : i) * 60000).toISOString(), source: "host" }));
      const sync = new Engine(null, { streaks: {} });
      const engine = new AsyncEngine(await IdbStore.open("mastery-test"), { streaks: {} });
      const started = performance.now();
      let stored = 0;
      for (let i = 0; i < records.length; i += 50) {
        sync.ingest(service, records.slice(i, i + 50));
        stored += (await engine.ingest(service, records.slice(i, i + 50))).new;
      }
      const ms = performance.now() - started;
      const at = "2026-01-02T00:00:00Z";
      const same = async (e) => JSON.stringify([await e.classStates(tutor, "c1"), await e.learnerDashboard(service, "l1", at, "c1")])
        === JSON.stringify([sync.classStates(tutor, "c1"), sync.learnerDashboard(service, "l1", at, "c1")]);
      const first = await same(engine);
      const again = await same(new AsyncEngine(await IdbStore.open("mastery-test"), { streaks: {} }));
      const resent = await engine.ingest(service, records.slice(0, 50));
      document.body.dataset.result = JSON.stringify({ stored, first, again, duplicates: resent.duplicates, ms: Math.round(ms) });
    </script></html>`);
    {
      const page = await browser.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      await page.goto(`http://127.0.0.1:${site.address().port}/idb.html`);
      const result = await page.waitForFunction(() => document.body?.dataset.result, null, { timeout: 60_000 })
        .then(async () => JSON.parse(await page.evaluate(() => document.body.dataset.result)), () => null);
      check(result?.stored === 1000 && result.first && result.again && result.duplicates === 50 && errors.length === 0,
        `AsyncEngine over IndexedDB: 1,000 records stored once, states and dashboard equal the synchronous engine's, read back after reopening ${JSON.stringify(result)}${errors.length ? `; errors: ${errors.join(" | ")}` : ""}`);
      if (result) console.log(`AsyncEngine over IndexedDB: 1,000 records in batches of 50 in ${result.ms} ms`);
      await page.close();
    }
    site.close();
  }
}

await browser.close();
server.close();
console.log(failures ? `web-browser: ${failures} check(s) failed` : "web-browser: every check passed");
process.exit(failures ? 1 : 0);
