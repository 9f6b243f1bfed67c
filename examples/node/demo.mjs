// The engine from JavaScript (the WASM package under Node): 173,912 real OULAD assessment results
// into `Engine` with streaks and badge awards over the embedded store, read back under the access
// policy; then one course again over a store written in JS (`MapStore`, the reference a host
// copies for IndexedDB or its server's database), which must give the same states. Run: `node examples/node/demo.mjs` (after building mastery-wasm/pkg/node, see .ci/test-all).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { MapStore } from "../../mastery-wasm/js/map_store.mjs";

const m = createRequire(import.meta.url)("../../mastery-wasm/pkg/node/mastery_wasm.js");
const DATA = fileURLToPath(new URL("../../fixtures/data/oulad/", import.meta.url));

/** Rows of a quoted CSV table (OULAD's: no commas inside fields). */
function rows(text) {
  const [head, ...lines] = text.trim().split("\n");
  const names = head.split(",").map((h) => h.replaceAll('"', "").trim());
  return lines.map((line) => Object.fromEntries(line.split(",").map((v, i) => [names[i], v.replaceAll('"', "").trim()])));
}

const START = { B: 1, J: 9 }; // February or October (month index)
const assessments = new Map(rows(readFileSync(DATA + "assessments.csv", "utf8")).map((a) => [a.id_assessment, a]));
const evidence = [];
for (const row of rows(gunzipSync(readFileSync(DATA + "studentAssessment.csv.gz")).toString("utf8"))) {
  if (!row.score || !row.date_submitted || row.score === "?") continue;
  const a = assessments.get(row.id_assessment);
  const p = a.code_presentation;
  const at = new Date(Date.UTC(Number(p.slice(0, 4)), START[p[4]], 1, 9) + Number(row.date_submitted) * 86_400_000);
  evidence.push({
    id: `oulad:${row.id_assessment}:${row.id_student}`,
    learner: row.id_student,
    course: `${a.code_module}-${p}`,
    competencies: [`${a.code_module}-${a.assessment_type}`],
    kind: "assessment",
    score: { scaled: Math.min(Number(row.score), 100) / 100 },
    occurred_at: at.toISOString(),
    source: "host",
  });
}

const badge = (name, rule) => ({
  id: `https://school.example/badges/${name}`, name, description: name, criteria: name, rule,
});
const achievements = [
  badge("aaa-tutor-marked", { rule: "mastery", competency: "AAA-TMA" }),
  badge("five-assessments", { rule: "evidence_count", min: 5 }),
  badge("two-day-streak", { rule: "streak", periods: 2 }),
];
const engine = new m.Engine(null, { streaks: {}, achievements });
const service = { tenant: "ou", user: "importer", roles: [{ role: "service" }] };
const began = performance.now();
const totals = { new: 0, awarded: 0, rejected: 0 };
for (let i = 0; i < evidence.length; i += 1_000) {
  const outcome = engine.ingest(service, evidence.slice(i, i + 1_000));
  totals.new += outcome.new;
  totals.awarded += outcome.awarded;
  totals.rejected += outcome.rejected.length;
}
const seconds = (performance.now() - began) / 1000;
console.log(`ingested ${totals.new} OULAD results in ${seconds.toFixed(1)} s ` +
  `(${Math.round(totals.new / seconds)} records/s), ${totals.awarded} badges awarded, ${totals.rejected} refused`);
const again = engine.ingest(service, evidence.slice(0, 1_000));
console.log(`the first 1,000 again: ${again.duplicates} duplicates, ${again.awarded} awards`);

const course = "AAA-2013J";
const tutor = { tenant: "ou", user: "tutor", roles: [{ role: "instructor", courses: [course] }] };
const heatmap = engine.classHeatmap(tutor, course, [{ id: "AAA-TMA", label: "Tutor-marked" }, { id: "AAA-Exam", label: "Exam" }]);
console.log(`${course}: ${heatmap.rows.length} learners in the class heatmap`);
const outbox = engine.outbox(tutor, course);
console.log(`${course}: ${outbox.length} awards waiting in the outbox`);
const learner = outbox[0].learner;
const me = { tenant: "ou", user: learner, roles: [{ role: "learner" }] };
const now = "2014-01-15T12:00:00+00:00";
for (const view of engine.learnerStates(me, learner, course)) {
  console.log(`  learner ${learner}: ${view.competency} ${view.rating} (${view.score.toFixed(2)})`);
}
const streak = engine.streak(me, learner, now, course);
console.log(`  streak: current ${streak.current}, longest ${streak.longest}, last active ${streak.last_active}`);
for (const tile of engine.badgeGallery(me, learner, now, course)) {
  console.log(`  badge ${tile.name}: ${tile.status} (${Math.round(tile.progress * 100)}%)`);
}
try {
  engine.learnerStates(me, "someone-else", course);
} catch (e) {
  console.log(`  another learner's mastery: ${e.code}`);
}
const mine = engine.learnerDashboard(me, learner, now, course);
console.log(`  learner dashboard: ${mine.records.length} records, ${mine.gaps.length} gaps, streak ${mine.streak.current}, ` +
  `${mine.badges.filter((b) => b.status === "earned").length} badges earned, ${mine.progress.series.length} progress series`);
const board = engine.classDashboard(tutor, course, now);
console.log(`  class dashboard: ${board.learners} learners, least proficient ` +
  board.least_proficient.slice(0, 2).map((s) => `${s.competency} ${s.mean.toFixed(2)}`).join(", "));
const ids = outbox.filter((a) => a.learner === learner).map((a) => a.credential_id);
const taken = engine.acknowledgeAwards(tutor, learner, ids, course);
console.log(`  delivered and acknowledged ${taken} awards; outbox now ${engine.outbox(tutor, course).length}`);

// The same course over a store written in JS: the same mastery, streaks and awards.
const host = new m.Engine(new MapStore(), { streaks: {}, achievements });
const courseEvidence = evidence.filter((e) => e.course === course);
for (let i = 0; i < courseEvidence.length; i += 1_000) host.ingest(service, courseEvidence.slice(i, i + 1_000));
const same = JSON.stringify(host.learnerStates(me, learner, course)) === JSON.stringify(engine.learnerStates(me, learner, course))
  && JSON.stringify(host.streak(me, learner, now, course)) === JSON.stringify(engine.streak(me, learner, now, course))
  && host.awards(me, learner, course).length === engine.awards(me, learner, course).length;
console.log(`${course} over a JS store (${courseEvidence.length} records): ${same ? "the same" : "DIFFERENT"} states`);
if (!same) process.exitCode = 1;
host.free();
engine.free();
