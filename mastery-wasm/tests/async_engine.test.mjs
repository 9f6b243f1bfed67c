// AsyncEngine over a store whose methods answer with promises (as one over IndexedDB does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { MapStore } from "../js/map_store.mjs";
import { caseName, cases } from "./fixture_runner.mjs";

const m = createRequire(import.meta.url)("../pkg/node/mastery_wasm.js");

const SERVICE = { tenant: "t1", user: "importer", roles: [{ role: "service" }] };
const TEACHER = { tenant: "t1", user: "tia", roles: [{ role: "instructor", courses: ["c1"] }] };
const AMY = { tenant: "t1", user: "l1", roles: [{ role: "learner" }] };

function records(n, { learners = 20, competencies = 5, from = 0 } = {}) {
  const start = Date.parse("2026-01-01T00:00:00Z");
  return Array.from({ length: n }, (_, j) => {
    const i = from + j;
    return {
      id: `e${i}`,
      learner: `l${i % learners}`,
      course: "c1",
      competencies: [`k${i % competencies}`, ...(i % 7 === 0 ? [`k${(i + 1) % competencies}`] : [])],
      kind: "response",
      score: { scaled: ((i * 37) % 101) / 100 },
      // Every tenth record arrives late (older than what is stored), so records get rebuilt.
      occurred_at: new Date(start + (i % 10 === 9 ? i - 500 : i) * 60_000).toISOString(),
      source: "host",
    };
  });
}

const achievements = [{
  id: "https://school.example/practice", name: "Practice", description: "Ten answers on k1",
  criteria: "Answer ten questions on k1", rule: { rule: "evidence_count", min: 10, competency: "k1" },
}];

/** The async store protocol over a MapStore: every answer comes on a later turn of the event
 * loop, so calls of concurrent ingests interleave; `failing` names methods that reject. */
class AsyncMapStore {
  constructor() {
    this.inner = new MapStore();
    this.failing = new Set();
    this.calls = 0;
    for (const name of ["get_states", "learner_evidence", "learner_states", "course_states", "apply", "put_state"]) {
      this[name] = (...args) => new Promise((resolve, reject) => {
        this.calls += 1;
        setImmediate(() => {
          if (this.failing.has(name)) return reject(new Error("database is down: SECRET-learner"));
          try {
            resolve(this.inner[name](...args));
          } catch (e) {
            reject(e);
          }
        });
      });
    }
  }
}

async function ingestAll(engine, batch, size) {
  const totals = { new: 0, duplicates: 0, rejected: [], changes: 0, awarded: 0 };
  for (let i = 0; i < batch.length; i += size) {
    const o = await engine.ingest(SERVICE, batch.slice(i, i + size));
    totals.new += o.new;
    totals.duplicates += o.duplicates;
    totals.rejected.push(...o.rejected);
    totals.changes += o.changes;
    totals.awarded += o.awarded ?? 0;
  }
  return totals;
}

test("1,000 records through an async store equal the synchronous engine's outcome, states and dashboards", async () => {
  const batch = records(1000);
  const sync = new m.Engine(null, { streaks: {}, achievements });
  const store = new AsyncMapStore();
  const engine = new m.AsyncEngine(store, { streaks: {}, achievements });
  const expected = { new: 0, duplicates: 0, rejected: [], changes: 0, awarded: 0 };
  for (let i = 0; i < batch.length; i += 50) {
    const o = sync.ingest(SERVICE, batch.slice(i, i + 50));
    expected.new += o.new;
    expected.duplicates += o.duplicates;
    expected.changes += o.changes;
    expected.awarded += o.awarded ?? 0;
  }
  const got = await ingestAll(engine, batch, 50);
  assert.deepEqual(got, expected);
  assert.equal(got.new, 1000);
  assert.ok(got.awarded > 0, "the practice badge was earned");
  assert.deepEqual(await engine.classStates(TEACHER, "c1"), sync.classStates(TEACHER, "c1"));
  assert.deepEqual(await engine.learnerStates(SERVICE, "l1", "c1"), sync.learnerStates(SERVICE, "l1", "c1"));
  assert.deepEqual(await engine.mastery(SERVICE, "l1", "k1", "c1"), sync.mastery(SERVICE, "l1", "k1", "c1"));
  const at = "2026-01-02T00:00:00Z";
  assert.deepEqual(await engine.learnerDashboard(SERVICE, "l1", at, "c1"), sync.learnerDashboard(SERVICE, "l1", at, "c1"));
  assert.deepEqual(await engine.classDashboard(TEACHER, "c1", at), sync.classDashboard(TEACHER, "c1", at));
  assert.deepEqual(await engine.streak(SERVICE, "l1", at, "c1"), sync.streak(SERVICE, "l1", at, "c1"));
  assert.deepEqual(await engine.badgeGallery(SERVICE, "l1", at, "c1"), sync.badgeGallery(SERVICE, "l1", at, "c1"));
  // Awards once, in the outbox until acknowledged (course staff), exactly as the synchronous engine.
  const awards = await engine.awards(SERVICE, "l1", "c1");
  assert.deepEqual(awards, sync.awards(SERVICE, "l1", "c1"));
  assert.equal(awards.length, 1);
  const outbox = await engine.outbox(TEACHER, "c1");
  assert.deepEqual(outbox, sync.outbox(TEACHER, "c1"));
  assert.equal(await engine.acknowledgeAwards(TEACHER, "l1", [awards[0].credential_id], "c1"), 1);
  assert.equal((await engine.outbox(TEACHER, "c1")).length, outbox.length - 1);
  assert.equal(await engine.revokeAward(TEACHER, "l1", achievements[0].id, "re-graded", "c1"), 1);
  assert.equal((await engine.awards(SERVICE, "l1", "c1"))[0].revoked, "re-graded");
  engine.free();
  sync.free();
});

test("concurrent ingests of the same learners lose nothing", async () => {
  const batch = records(600, { learners: 3, competencies: 2 });
  const store = new AsyncMapStore();
  const engine = new m.AsyncEngine(store);
  // Twelve batches at once, every other one re-sent, all for the same three learners.
  const batches = Array.from({ length: 12 }, (_, i) => batch.slice(i * 50, i * 50 + 50));
  const outcomes = await Promise.all([...batches, ...batches.filter((_, i) => i % 2 === 0)]
    .map((b) => engine.ingest(SERVICE, b)));
  assert.equal(outcomes.reduce((n, o) => n + o.new, 0), 600);
  assert.equal(outcomes.reduce((n, o) => n + o.duplicates, 0), 300);
  const replay = new m.Engine();
  replay.ingest(SERVICE, batch);
  assert.deepEqual(await engine.classStates(TEACHER, "c1"), replay.classStates(TEACHER, "c1"));
  assert.ok(store.calls > 0);
});

test("a store that rejects is a store_error; the rest of the batch is refused by index, the engine goes on", async () => {
  const store = new AsyncMapStore();
  const engine = new m.AsyncEngine(store);
  store.failing.add("apply");
  const outcome = await engine.ingest(SERVICE, records(10));
  assert.equal(outcome.new, 0);
  assert.equal(outcome.rejected.length, 10);
  assert.ok(outcome.rejected.every((r) => r.code === "store_error" && !r.reason.includes("SECRET")));
  store.failing.clear();
  assert.equal((await engine.ingest(SERVICE, records(10))).new, 10);
  store.failing.add("learner_states");
  await assert.rejects(engine.learnerStates(SERVICE, "l1", "c1"),
    (e) => e instanceof Error && e.name === "MasteryError" && e.code === "store_error" && !e.message.includes("SECRET"));
  store.failing.clear();
  // A store answering the wrong shape, or a method that throws synchronously, is a store_error too.
  store.get_states = async () => [{ neither: 1 }];
  assert.equal((await engine.ingest(SERVICE, records(1, { from: 50 }))).rejected[0].code, "store_error");
  store.get_states = () => { throw new Error("SECRET"); };
  assert.equal((await engine.ingest(SERVICE, records(1, { from: 51 }))).rejected[0].code, "store_error");
});

test("bad arguments reject with invalid_input; a malformed record is refused by its index", async () => {
  const engine = new m.AsyncEngine(new AsyncMapStore());
  const call = engine.ingest({ tenant: 1 }, records(1));
  assert.ok(call instanceof Promise, "bad input is a rejected promise, never a synchronous throw");
  await assert.rejects(call, (e) => e.name === "MasteryError" && e.code === "invalid_input");
  await assert.rejects(engine.classDashboard(TEACHER, "c1", "yesterday"), (e) => e.code === "invalid_input");
  const batch = records(3);
  batch[1] = { id: "x", learner: 7 };
  const outcome = await engine.ingest(SERVICE, batch);
  assert.equal(outcome.new, 2);
  assert.deepEqual(outcome.rejected.map((r) => [r.index, r.code]), [[1, "invalid_input"]]);
  // The policy runs before the store: a learner reading another learner never reaches it.
  await assert.rejects(engine.learnerStates(AMY, "l2", "c1"), (e) => e.code === "access_denied");
  const partial = new AsyncMapStore();
  delete partial.put_state;
  assert.throws(() => new m.AsyncEngine(partial), (e) => e.code === "invalid_input" && e.field === "store");
});

// Every scenario fixture, step by step, through AsyncEngine over the async store: each answer
// (or error) equals the synchronous engine's over the embedded store.
const STEPS = {
  ingest: (e, s) => e.ingest(s.as, s.evidence),
  learner_states: (e, s) => e.learnerStates(s.as, s.learner, s.course ?? null),
  class_states: (e, s) => e.classStates(s.as, s.course),
  class_heatmap: (e, s) => e.classHeatmap(s.as, s.course, s.competencies),
  mastery: (e, s) => e.mastery(s.as, s.learner, s.competency, s.course ?? null),
  streak: (e, s) => e.streak(s.as, s.learner, s.now, s.course ?? null),
  class_streaks: (e, s) => e.classStreaks(s.as, s.course, s.now),
  streak_report: (e, s) => e.streakReport(s.as, s.learner, s.now, s.course ?? null),
  awards: (e, s) => e.awards(s.as, s.learner, s.course ?? null),
  outbox: (e, s) => e.outbox(s.as, s.course),
  acknowledge_awards: (e, s) => e.acknowledgeAwards(s.as, s.learner, s.credential_ids, s.course ?? null),
  revoke_award: (e, s) => e.revokeAward(s.as, s.learner, s.achievement, s.reason, s.course ?? null),
  badge_gallery: (e, s) => e.badgeGallery(s.as, s.learner, s.now, s.course ?? null),
  learner_dashboard: (e, s) => e.learnerDashboard(s.as, s.learner, s.at, s.course ?? null),
  class_dashboard: (e, s) => e.classDashboard(s.as, s.course, s.at, s.options ?? null),
  at_risk: (e, s) => e.atRisk(s.as, s.course, s.at, s.top ?? 3),
  record_risk: (e, s) => e.recordRisk(s.as, s.course, s.at, s.top ?? 3),
  risk_features: (e, s) => e.riskFeatures(s.as, s.course, s.at),
};

const outcome = async (call) => {
  try {
    return { ok: await call() };
  } catch (e) {
    if (!(e instanceof Error) || typeof e.code !== "string") throw e;
    return { error: { code: e.code, field: e.field ?? null } };
  }
};

const scenarios = cases().filter((path) => JSON.parse(readFileSync(path, "utf8")).op === "scenario");
test("there are scenario fixtures", () => assert.ok(scenarios.length >= 5));
for (const path of scenarios) {
  test(`async ${caseName(path)}`, async () => {
    const { input } = JSON.parse(readFileSync(path, "utf8"));
    const engine = input.engine ?? {};
    const options = { ...engine, riskModel: engine.risk_model ? JSON.stringify(engine.risk_model) : null };
    delete options.risk_model;
    const sync = new m.Engine(null, options);
    const asynchronous = new m.AsyncEngine(new AsyncMapStore(), options);
    for (const [i, step] of input.steps.entries()) {
      const call = STEPS[step.do];
      assert.ok(call, `unknown scenario step ${step.do}`);
      const expected = await outcome(() => call(sync, step));
      assert.deepEqual(await outcome(() => call(asynchronous, step)), expected, `step ${i} (${step.do})`);
    }
    sync.free();
    asynchronous.free();
  });
}
