// JS-specific behaviour: real Error objects with .code, optional mappings, no BigInt anywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const m = createRequire(import.meta.url)("../pkg/node/mastery_wasm.js");

test("errors are Error instances with a stable code and field", () => {
  try {
    m.Framework.fromCaseJson("{}");
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof Error);
    assert.equal(e.code, "invalid_input");
    assert.equal(e.field, "CFDocument");
    assert.equal(e.name, "MasteryError");
  }
});

test("a mapping of the wrong shape is a MasteryError naming the argument, not a crash", () => {
  assert.throws(() => m.ingestXapi("[]", { competencies: 3 }), (e) => e.code === "invalid_input" && e.field === "mapping");
  // The instance is still usable afterwards.
  assert.deepEqual(m.ingestXapi("[]").accepted, []);
});

test("numbers are plain numbers and instants are strings", () => {
  const report = m.ingestPybktCsv("user_id,skill_name,correct,order_id\nu,s,1,9007199254740\n");
  assert.equal(typeof report.accepted[0].sequence, "number");
  const x = m.ingestXapi(JSON.stringify({ actor: { mbox: "mailto:a@b.c" }, verb: { id: "http://x/v" },
    object: { id: "http://x/o" }, timestamp: "2026-03-08T01:00:00-05:00" }));
  assert.equal(x.accepted[0].occurred_at, "2026-03-08T01:00:00-05:00");
});

test("cross-validation runs in the core: every fold of every skill is evaluated", () => {
  const rows = [];
  for (let l = 0; l < 60; l++) for (let t = 0; t < 8; t++) rows.push({ learner: `l${l}`, skill: "s", correct: t > l % 5, order: t });
  const folds = m.BktModel.crossvalidate(rows, { num_fits: 1 }, 3);
  assert.equal(folds.s.length, 3);
  assert.equal(folds.s.reduce((n, e) => n + e.rows, 0), rows.length);
});
