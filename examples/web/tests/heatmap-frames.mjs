// Frames while a class heatmap is used: a keyboard walk (arrows, Home/End, Page Down), mouse
// moves across the cells and page scrolls, one input per animation frame; frame times from
// requestAnimationFrame timestamps and long tasks from a PerformanceObserver. Printed by the
// browser suite, never asserted.
// Usage: node tests/heatmap-frames.mjs [runs] [size]   (after node build.mjs; default 3 runs of 500x200)

/** Frame times (ms) and long tasks while `page` (a rendered /teach/class) is driven. */
export async function heatmapFrames(page) {
  await page.focus("#class-heat");
  return page.evaluate(async () => {
    const frames = [], longTasks = [];
    const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); });
    try { observer.observe({ type: "longtask", buffered: false }); } catch { /* not supported */ }
    let last = performance.now(), running = true;
    let phase = "keys"; const phases = [];
    const tick = (t) => { phases.push(phase); frames.push(t - last); last = t; if (running) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    const host = document.querySelector("#class-heat");
    const key = (k) => host.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
    // Keyboard: 160 presses, down the class with Page Down and across it with Home/End.
    const keys = ["ArrowRight", "ArrowDown", "ArrowRight", "ArrowDown", "End", "ArrowLeft", "Home", "PageDown"];
    for (let i = 0; i < 160; i++) { key(keys[i % keys.length]); await frame(); }
    phase = "hover";
    // Hover: 120 mouse moves along a diagonal of the chart's visible part.
    const target = host.querySelector("canvas, svg");
    for (let i = 0; i < 120; i++) {
      const box = target.getBoundingClientRect();
      const top = Math.max(box.top, 0), bottom = Math.min(box.bottom, innerHeight);
      const x = box.left + box.width * ((i * 37) % 100) / 100, y = top + (bottom - top) * ((i * 53) % 100) / 100;
      (document.elementFromPoint(x, y) ?? target).dispatchEvent(new MouseEvent("mousemove", { clientX: x, clientY: y, bubbles: true }));
      await frame();
    }
    phase = "scroll";
    // Scroll: 60 steps of 120 px down the page and back.
    for (let i = 0; i < 60; i++) { scrollBy(0, i < 30 ? 120 : -120); await frame(); }
    running = false;
    await frame();
    observer.disconnect();
    return { frames: frames.slice(2), phases: phases.slice(2), longTasks };
  });
}

export function summary({ frames: f, phases, longTasks }) {
  const sorted = [...f].sort((a, b) => a - b);
  const slow = f.map((x, i) => [x, i]).filter(([x]) => x > 50).map(([x, i]) => `${phases[i]} #${i} ${x.toFixed(0)} ms`);
  return `${f.length} frames, median ${sorted[f.length >> 1].toFixed(1)} ms, ${f.filter((x) => x > 50).length} over 50 ms, longest ${sorted.at(-1).toFixed(1)} ms; ${longTasks.length} long tasks${longTasks.length ? ` (longest ${Math.max(...longTasks).toFixed(0)} ms)` : ""}${slow.length ? ` [over 50 ms: ${slow.join(", ")}]` : ""}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { chromium } = await import("playwright-core");
  const { serve } = await import("../serve.mjs");
  const runs = Number(process.argv[2] ?? 3), size = process.argv[3] ?? "500x200";
  const server = await serve(0);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--font-render-hinting=none"] });
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/teach/class?size=${size}`);
    await page.waitForFunction(() => document.documentElement.dataset.rendered, null, { timeout: 30_000 });
    const ms = await page.evaluate(() => Object.values(window.__renders ?? {})[0]);
    const elements = await page.evaluate(() => document.getElementsByTagName("*").length);
    console.log(`run ${i + 1}: render /teach/class?size=${size}: ${ms.toFixed(1)} ms, ${elements} elements; ${summary(await heatmapFrames(page))}`);
    if (process.env.SHOT) await page.screenshot({ path: `${process.env.SHOT}-${i}.png` });
    await page.close();
  }
  await browser.close();
  server.close();
}
