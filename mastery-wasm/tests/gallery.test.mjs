// The badge gallery and chart ids in JS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const m = createRequire(import.meta.url)("../pkg/node/mastery_wasm.js");

const achievements = [["a", 730], ["b", 30], ["c", null], ["d", null]].map(([k, days]) => ({
  id: `https://example.org/a/${k}`, name: k, description: k, criteria: k, valid_days: days ?? undefined,
  rule: { rule: "mastery", competency: k },
}));
const award = (k, revoked = null) => ({
  learner: "l1", achievement: `https://example.org/a/${k}`, version: 1, credential_id: `urn:uuid:${k}`,
  awarded_at: "2024-01-01T00:00:00Z", revoked,
});

test("badgeGallery: earned, expired, in progress and revoked, in the achievements' order", () => {
  const items = m.badgeGallery([award("a"), award("b"), award("d", "re-graded")], achievements, null, "2024-03-01T00:00:00Z");
  assert.deepEqual(items.map((i) => i.status), ["earned", "expired", "in_progress", "revoked"]);
  assert.equal(items[3].revocation_reason, "re-graded");
  assert.equal(items[2].progress, 0);
});

test("two charts on one page get distinct title ids", () => {
  const map = { title: "t", rows: [{ id: "r", label: "r" }], columns: [{ id: "c", label: "c" }], cells: [[{ value: 0.5, color: "#888888", text: "50%" }]] };
  const ids = [m.renderSvg("heatmap", map), m.renderSvg("heatmap", { ...map, title: "u" })].map((s) => s.match(/<title id="([^"]+)"/)[1]);
  assert.notEqual(ids[0], ids[1]);
  assert.throws(() => m.renderSvg("pie", map), (e) => e.code === "invalid_input");
});
