/** /learn/progress: rings, streak, weeks heatmap, activity calendar, progress over time, gaps and next. */
import { figure, heatmapTable, interactiveHeatmap, table } from "../charts.js";
import type { Heatmap, ProgressView } from "../../wasm/dashboards/mastery_wasm.js";
import type { History, Snapshot } from "../data.js";
import { esc, pct } from "../util.js";
import { dashboards } from "../wasm.js";

const DAY = 86_400_000;

export async function progressPage(main: HTMLElement, snap: Snapshot): Promise<void> {
  const m = await dashboards();
  const { framework } = snap;
  const times = snap.progress.histories.flatMap((h) => h.history.map((o) => Date.parse(o.at ?? "")).filter((t) => !Number.isNaN(t)));
  const last = Math.max(...times);
  main.innerHTML = `<h1>My progress</h1>
  <p class="lede">${esc(snap.learner.name)} · ${esc(snap.course.title)}</p>
  <form class="filters" aria-label="Filters">
    <label>Subject area<select id="f-area"><option value="">All areas</option>${framework.areas
      .map((a) => `<option value="${esc(a.id)}">${esc(a.code ?? "")} ${esc(a.statement.slice(0, 48))}</option>`).join("")}</select></label>
    <label>Period<select id="f-period"><option value="">Whole course</option><option value="120">Last 120 days</option><option value="60">Last 60 days</option></select></label>
    <label>Course<select id="f-course"><option value="${esc(snap.course.id)}">${esc(snap.course.id)}</option></select></label>
  </form>
  <div class="grid" id="charts"></div>`;
  const charts = main.querySelector<HTMLElement>("#charts")!;
  const area = main.querySelector<HTMLSelectElement>("#f-area")!;
  const period = main.querySelector<HTMLSelectElement>("#f-period")!;

  const render = () => {
    const inArea = (id: string) => !area.value || framework.competencies.find((c) => c.id === id)?.area === area.value;
    const histories: History[] = snap.progress.histories.filter((h) => inArea(h.competency));
    const window = period.value ? { from: new Date(last - Number(period.value) * DAY).toISOString() } : null;
    const progress = m.progressOverTime(histories, snap.scale, snap.labels, window, null, false) as ProgressView;
    const weeks = m.progressOverTime(histories, snap.scale, snap.labels, window, null, true) as Heatmap;
    weeks.full_labels = Object.fromEntries(framework.competencies.map((c) => [c.id, `${c.code} ${c.statement}`]));
    const rings = { ...snap.rings, rings: snap.rings.rings.filter((r) => !area.value || r.competency === area.value) };
    const gaps = framework.competencies.filter((c) => inArea(c.id)).map((c) => {
      const series = progress.series.find((s) => s.competency === c.id);
      const latest = series?.points.at(-1)?.value ?? null;
      return { c, latest };
    }).filter((g) => g.latest == null || g.latest < 0.75);
    const next = snap.next.filter((n) => inArea(n.competency)).slice(0, 5);
    const t = snap.streak.tracker;
    charts.innerHTML = [
      figure("rings", "Competency areas", m.renderSvg("ring_chart", rings), "Each ring is an area of the framework: its mean mastery, and how many of its standards are mastered.",
        table("Competency areas", ["Area", "Mean mastery", "Mastered"], rings.rings.map((r) => [r.label, pct(r.value), `${r.mastered} of ${r.total}`]))),
      figure("streak", "Learning streak", m.renderSvg("streak_tracker", t), `Current streak ${snap.streak.current} days, longest ${snap.streak.longest}, ${t.freezes_left} freeze${t.freezes_left === 1 ? "" : "s"} left (OULAD clicks).`,
        table("Learning streak", ["Date", "State", "Activities"], t.weeks.flat().filter((d) => d.state).map((d) => [d.date, d.state ?? "", d.events]))),
      figure("progress", "Progress over time", m.renderSvg("progress", progress), "Each line holds a standard's mastery from one piece of evidence to the next; points name their evidence.",
        table("Progress over time", ["Standard", "Date", "Mastery", "Evidence"], progress.series.flatMap((s) => s.points.map((p) => [s.label, p.at.slice(0, 10), pct(p.value), p.evidence])))),
      figure("weeks", "Mastery by week", m.renderSvg("heatmap", weeks), "Each cell: a standard's mastery after the last evidence of that week.", heatmapTable(weeks), `<div class="drill" id="weeks-drill" aria-live="polite"></div>`),
      figure("calendar", "Activity calendar", m.renderSvg("heatmap", snap.streak.calendar), "Clicks per day in the course's online environment, week by week.", heatmapTable(snap.streak.calendar), `<div class="drill" id="calendar-drill" aria-live="polite"></div>`),
      `<section class="card" aria-labelledby="gaps-h"><h2 id="gaps-h">Gaps and next steps</h2>
        <h3>Below mastery</h3>${gaps.length ? `<ul class="list">${gaps.map((g) => `<li><strong>${esc(g.c.code.replace("CCSS.Math.Content.", ""))}</strong> ${esc(pct(g.latest))}: ${esc(g.c.statement)}</li>`).join("")}</ul>` : "<p>None in this selection.</p>"}
        <h3>Next competencies</h3>${next.length ? `<ol class="list">${next.map((n) => `<li><strong>${esc((n.human_coding_scheme ?? n.competency).replace("CCSS.Math.Content.", ""))}</strong>: ${esc(n.reason)}; now ${esc(pct(n.current_value))}</li>`).join("")}</ol>` : "<p>Every assessable competency here is mastered.</p>"}
      </section>`,
    ].join("");
    const weeksHost = charts.querySelector<HTMLElement>("#weeks")!;
    interactiveHeatmap(weeksHost, weeks, "Mastery by week", (r, c) => {
      const h = histories.find((x) => x.competency === weeks.rows[r].id);
      const items = (h?.history ?? []).map((o) => `<li>${esc((o.at ?? "").slice(0, 10))}: ${esc(o.evidence)}, score ${pct(o.score)}</li>`).join("");
      charts.querySelector("#weeks-drill")!.innerHTML = `<h3>${esc(weeks.rows[r].label)} (${esc(weeks.columns[c].label)})</h3><ul class="list">${items || "<li>No evidence.</li>"}</ul>`;
    });
    interactiveHeatmap(charts.querySelector<HTMLElement>("#calendar")!, snap.streak.calendar, "Activity calendar", (r, c) => {
      charts.querySelector("#calendar-drill")!.textContent = snap.streak.calendar.cells[r][c].text;
    });
  };
  area.addEventListener("change", render);
  period.addEventListener("change", render);
  render();
}
