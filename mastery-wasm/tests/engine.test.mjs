// The Engine over the embedded store and over a store written in JS (js/map_store.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { MapStore } from "../js/map_store.mjs";

const m = createRequire(import.meta.url)("../pkg/node/mastery_wasm.js");

const SERVICE = { tenant: "t1", user: "importer", roles: [{ role: "service" }] };
const TEACHER = { tenant: "t1", user: "tia", roles: [{ role: "instructor", courses: ["c1"] }] };

function records(n, { learners = 20, competencies = 5 } = {}) {
  const start = Date.parse("2026-01-01T00:00:00Z");
  return Array.from({ length: n }, (_, i) => ({
    id: `e${i}`,
    learner: `l${i % learners}`,
    course: "c1",
    competencies: [`k${i % competencies}`, ...(i % 7 === 0 ? [`k${(i + 1) % competencies}`] : [])],
    kind: "response",
    score: { scaled: ((i * 37) % 101) / 100 },
    // Every tenth record arrives late (older than what is stored), so records get rebuilt.
    occurred_at: new Date(start + (i % 10 === 9 ? i - 500 : i) * 60_000).toISOString(),
    source: "host",
  }));
}

/** A MapStore whose methods throw while `failing` names them. */
class FlakyStore extends MapStore {
  constructor() {
    super();
    this.failing = new Set();
    for (const name of ["apply", "known_evidence", "get_state", "learner_states", "course_states", "learner_evidence"]) {
      const inner = this[name].bind(this);
      this[name] = (...args) => {
        if (this.failing.has(name)) throw new Error("database is down: SECRET-learner");
        return inner(...args);
      };
    }
  }
}

test("a store that throws is a store_error; the engine keeps working", () => {
  const store = new FlakyStore();
  const engine = new m.Engine(store);
  const batch = records(10);
  store.failing.add("apply");
  const outcome = engine.ingest(SERVICE, batch);
  assert.equal(outcome.new, 0);
  assert.equal(outcome.rejected.length, 10);
  assert.ok(outcome.rejected.every((r) => r.code === "store_error"));
  assert.ok(outcome.rejected.every((r) => !r.reason.includes("SECRET")), "the store's message stays out");
  store.failing.clear();
  assert.equal(engine.ingest(SERVICE, batch).new, 10);

  for (const [name, call] of [
    ["learner_states", () => engine.learnerStates(SERVICE, "l1", "c1")],
    ["course_states", () => engine.classStates(TEACHER, "c1")],
    ["get_state", () => engine.mastery(SERVICE, "l1", "k1", "c1")],
  ]) {
    store.failing.add(name);
    assert.throws(call, (e) => e instanceof Error && e.name === "MasteryError" && e.code === "store_error"
      && !e.message.includes("SECRET"), name);
    store.failing.clear();
    call(); // works again
  }
  assert.equal(engine.learnerStates(SERVICE, "l0", "c1").length, 2);
  engine.free();
});

test("a store returning the wrong shape is a store_error; a store missing a method is refused", () => {
  const store = new MapStore();
  store.get_state = () => ({ neither: 1 });
  const engine = new m.Engine(store);
  const outcome = engine.ingest(SERVICE, records(1));
  assert.equal(outcome.rejected[0].code, "store_error");
  delete store.get_state; // the class's own again
  store.apply = () => ["new", "new"]; // wrong count for one record
  assert.equal(engine.ingest(SERVICE, records(1)).rejected[0].code, "store_error");
  const partial = new MapStore();
  partial.course_states = undefined;
  assert.throws(() => new m.Engine(partial), (e) => e.code === "invalid_input" && e.field === "store");
  assert.throws(() => new m.Engine(42), (e) => e.code === "invalid_input" && e.field === "store");
});

test("a store that calls back into ingest gets a store_error, not an aborted instance", () => {
  const store = new MapStore();
  let engine;
  let inner;
  const apply = store.apply.bind(store);
  store.apply = (...args) => {
    try {
      engine.ingest(SERVICE, records(1));
    } catch (e) {
      inner = e;
    }
    return apply(...args);
  };
  engine = new m.Engine(store);
  assert.equal(engine.ingest(SERVICE, records(3)).new, 3);
  assert.equal(inner.code, "store_error");
  // Reads from inside a store call are fine (they take no lock).
  store.apply = apply;
  store.get_state = ((get) => (ctx, key) => (engine.learnerStates(SERVICE, "l0", "c1"), get(ctx, key)))(store.get_state.bind(store));
  assert.equal(engine.ingest(SERVICE, records(5)).new, 2);
});

test("the policy runs before the store: a refused caller never reaches it", () => {
  const store = new FlakyStore();
  const engine = new m.Engine(store);
  const learner = { tenant: "t1", user: "amy", roles: [{ role: "learner" }] };
  store.failing = new Set(["learner_states", "course_states", "get_state"]);
  for (const call of [() => engine.learnerStates(learner, "bob", null), () => engine.classStates(learner, "c1"),
    () => engine.mastery(learner, "bob", "k1", null)]) {
    assert.throws(call, (e) => e.code === "access_denied");
  }
});

test("1,000 records through the JS store equal the embedded engine's states", () => {
  const batch = records(1000);
  const embedded = new m.Engine();
  const host = new m.Engine(new MapStore());
  const time = (engine) => {
    const started = performance.now();
    let outcome = { new: 0, duplicates: 0, rejected: [], changes: 0 };
    for (let i = 0; i < batch.length; i += 50) {
      const o = engine.ingest(SERVICE, batch.slice(i, i + 50));
      outcome = { new: outcome.new + o.new, duplicates: outcome.duplicates + o.duplicates,
        rejected: outcome.rejected.concat(o.rejected), changes: outcome.changes + o.changes };
    }
    return [outcome, performance.now() - started];
  };
  const [a, ta] = time(embedded);
  const [b, tb] = time(host);
  assert.deepEqual(b, a);
  assert.equal(a.new, 1000);
  assert.deepEqual(a.rejected, []);
  const rate = (ms) => Math.round(batch.length / (ms / 1000));
  console.log(`engine ingest, batches of 50: embedded ${rate(ta)} records/s, JS MapStore ${rate(tb)} records/s`);

  const class1 = embedded.classStates(TEACHER, "c1");
  assert.equal(Object.keys(class1).length, 20);
  assert.deepEqual(host.classStates(TEACHER, "c1"), class1);
  for (let l = 0; l < 20; l++) {
    assert.deepEqual(host.learnerStates(SERVICE, `l${l}`, "c1"), embedded.learnerStates(SERVICE, `l${l}`, "c1"));
  }
  assert.deepEqual(host.mastery(SERVICE, "l3", "k3", "c1"), embedded.mastery(SERVICE, "l3", "k3", "c1"));
  // Ingesting the same records again changes nothing, on either store.
  assert.equal(host.ingest(SERVICE, batch.slice(0, 100)).duplicates, 100);
  assert.deepEqual(host.classStates(TEACHER, "c1"), class1);
});

test("a malformed record is refused by its index; the rest of the batch is stored", () => {
  const engine = new m.Engine();
  const batch = records(5);
  batch.splice(2, 0, { id: "bad", course: "c1" }, { ...records(1)[0], id: "late", occurred_at: "next tuesday" });
  const outcome = engine.ingest(SERVICE, batch);
  assert.equal(outcome.new, 5);
  assert.deepEqual(outcome.rejected.map((r) => [r.index, r.code, r.field]), [[2, "invalid_input", "learner"], [3, "invalid_input", "evidence"]]);
  assert.ok(!JSON.stringify(outcome.rejected).includes("next tuesday"), "the rejected value is not quoted");
});

/** A MapStore where another engine writes the same learner between this engine's reads and its write, once. */
class Interleaved extends MapStore {
  constructor(versioned) {
    super();
    this.other = null;
    this.conflicts = 0;
    if (!versioned) this.read_version = this.apply_since = undefined; // last write wins
  }
  apply_since(ctx, since, evidence, states) {
    const other = this.other;
    this.other = null;
    if (other) other();
    try {
      return super.apply_since(ctx, since, evidence, states);
    } catch (e) {
      if (e.code === "store_conflict") this.conflicts += 1;
      throw e;
    }
  }
  apply(ctx, evidence, states) {
    const other = this.other;
    this.other = null;
    if (other) other();
    return super.apply(ctx, evidence, states);
  }
}

for (const versioned of [true, false]) {
  test(`an engine overtaken by another on one store ${versioned ? "retries and loses nothing" : "loses the update without versions (the control)"}`, () => {
    const store = new Interleaved(versioned);
    const [first, second] = [new m.Engine(store), new m.Engine(store)];
    const base = records(1)[0];
    first.ingest(SERVICE, [{ ...base, id: "a0", occurred_at: "2026-03-01T00:00:00Z" }]);
    store.other = () => second.ingest(SERVICE, [{ ...base, id: "b1", occurred_at: "2026-03-01T00:01:00Z" }]);
    first.ingest(SERVICE, [{ ...base, id: "a2", occurred_at: "2026-03-01T00:02:00Z" }]);
    const count = first.mastery(SERVICE, base.learner, base.competencies[0], "c1").evidence_count;
    if (versioned) {
      assert.equal(store.conflicts, 1);
      assert.equal(count, 3);
    } else {
      assert.equal(count, 2);
    }
    first.free();
    second.free();
  });
}
